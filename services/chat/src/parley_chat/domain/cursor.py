"""History cursors: the position of the last message of a page.

A cursor is ``{seq}.{message document id}`` (the message's sequence number in its meeting, then
``{meeting_id}:{message_id}``); the next page holds the messages before it in the meeting's
order (``seq`` descending). Clients treat it as opaque, but its form is public
(:data:`CURSOR_PATTERN`, stated in the OpenAPI document): every string of that form is a
position, so the API refuses only what does not match the pattern (422), never a well-formed
cursor for what it means.

Cursors issued before messages had a ``seq`` were ``{posted_at in epoch milliseconds}.{document
id}``; a number of 13 digits or more (:data:`LEGACY_MIN`, epoch milliseconds since 2001) is read
as such a cursor, and its position is the ``seq`` of the message it names.
"""

import re

from parley_chat.domain.errors import InvalidCursor

#: Up to 14 digits, a dot, a document id (the pattern cursors always had).
CURSOR_PATTERN = r"^[0-9]{1,14}\.[A-Za-z0-9_:-]{1,200}$"
CURSOR_MAX_LENGTH = 215
_CURSOR = re.compile(r"([0-9]{1,14})\.([A-Za-z0-9_:-]{1,200})")
#: The smallest number read as a legacy ``posted_at`` cursor (2001-09-09 in epoch milliseconds).
LEGACY_MIN = 10**12


def encode_cursor(seq: int, doc_id: str) -> str:
    return f"{seq}.{doc_id}"


def decode_cursor(cursor: str) -> tuple[int, str]:
    """``(number, doc_id)``: the number is a ``seq`` below :data:`LEGACY_MIN`, a legacy
    ``posted_at`` from it on. Raises :class:`InvalidCursor` for anything else."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise InvalidCursor("not a cursor from this API")
    return int(match.group(1)), match.group(2)
