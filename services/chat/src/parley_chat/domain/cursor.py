"""History cursors: the position of the last message of a page.

A cursor is ``{posted_at in epoch milliseconds}.{message document id}`` (the document id is
``{meeting_id}:{message_id}``); the next page holds the messages strictly older in the order
(posted_at desc, id desc). Clients treat it as opaque, but its form is public
(:data:`CURSOR_PATTERN`, stated in the OpenAPI document): every string of that form is a
position, so the API refuses only what does not match the pattern (422), never a well-formed
cursor for what it means.
"""

import re
from datetime import UTC, datetime, timedelta

from parley_chat.domain.errors import InvalidCursor

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Up to 14 digits of milliseconds (year 5138 at most: no overflow), a dot, a document id.
CURSOR_PATTERN = r"^[0-9]{1,14}\.[A-Za-z0-9_:-]{1,200}$"
CURSOR_MAX_LENGTH = 215
_CURSOR = re.compile(r"([0-9]{1,14})\.([A-Za-z0-9_:-]{1,200})")


def encode_cursor(posted_at: datetime, doc_id: str) -> str:
    millis = (posted_at - _EPOCH) // timedelta(milliseconds=1)
    return f"{millis}.{doc_id}"


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """``(posted_at, doc_id)``; raises :class:`InvalidCursor` for anything else."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise InvalidCursor("not a cursor from this API")
    return _EPOCH + timedelta(milliseconds=int(match.group(1))), match.group(2)
