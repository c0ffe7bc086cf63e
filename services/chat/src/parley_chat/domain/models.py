"""A chat message as the domain sees it."""

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict


def utc_now() -> datetime:
    """Now in UTC, truncated to milliseconds (the precision BSON stores)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Message(BaseModel):
    """A posted message. ``message_id`` is chosen by the client and unique in its meeting."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    meeting_id: str
    sender_id: str
    sender_name: str
    text: str
    posted_at: datetime
    #: Position in the meeting: 1, 2, 3, … in the order the store accepted the posts; history
    #: and the chat topic both follow it. ``0`` until the repository assigned it.
    seq: int = 0


class Page(BaseModel):
    """Messages newest first, and the cursor of the next (older) page or ``None``."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[Message, ...]
    next_cursor: str | None


#: The longest notes text, in characters (docs/http-api.md).
MAX_NOTES_CHARS = 20000


class Notes(BaseModel):
    """One user's private notes of one meeting; ``updated_at`` is None before the first save."""

    model_config = ConfigDict(frozen=True)

    meeting_id: str
    owner_id: str
    text: str
    updated_at: datetime | None
