"""Page cursors of ``GET /api/meetings`` and of a webhook's delivery log: opaque to clients, a
position in the newest-first order.

A cursor is the base64url (no padding) of ``<created_at RFC 3339>|<id>`` of the last entry of
a page (a meeting, a delivery); the next page starts after it (keyset pagination: stable while
entries are added, no skipped or repeated entries).
"""

import base64
import binascii
from datetime import datetime

from fastapi.exceptions import RequestValidationError

from parley_meetings.domain.models import Meeting


def cursor_of(created_at: datetime, entry_id: str) -> str:
    """The cursor of the page that follows the entry created at ``created_at`` with ``entry_id``."""
    raw = f"{created_at.isoformat()}|{entry_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_after(meeting: Meeting) -> str:
    """The cursor of the page that follows ``meeting``."""
    return cursor_of(meeting.created_at, meeting.meeting_id)


def position(cursor: str) -> tuple[datetime, str]:
    """``(created_at, id)`` of a cursor; a 422 (``type`` ``invalid_cursor``, ``loc``
    ``["query", "cursor"]``) for anything :func:`cursor_after` did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, entry_id = raw.split("|", 1)
        when = datetime.fromisoformat(created_at)
        if when.tzinfo is None or not entry_id:
            raise ValueError("incomplete")
        return when, entry_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        error = {"type": "invalid_cursor", "loc": ("query", "cursor"), "msg": "not a cursor of this list", "input": cursor}
        raise RequestValidationError([error]) from exc
