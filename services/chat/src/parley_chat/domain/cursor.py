"""Opaque history cursors: the position of the last message of a page.

A cursor is base64url (RFC 4648 §5, unpadded) of the JSON ``[posted_at in epoch
milliseconds, message document id]``; the next page holds the messages strictly older in
the order (posted_at desc, id desc).
"""

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta

from parley_chat.domain.errors import InvalidCursor

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(posted_at: datetime, doc_id: str) -> str:
    millis = (posted_at - _EPOCH) // timedelta(milliseconds=1)
    raw = json.dumps([millis, doc_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """``(posted_at, doc_id)``; raises :class:`InvalidCursor` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        millis, doc_id = json.loads(raw)
        if not isinstance(millis, int) or not isinstance(doc_id, str):
            raise ValueError("bad cursor fields")
        return _EPOCH + timedelta(milliseconds=millis), doc_id
    except (binascii.Error, ValueError, TypeError, OverflowError, OSError) as exc:
        raise InvalidCursor("not a cursor from this API") from exc
