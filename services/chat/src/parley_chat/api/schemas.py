"""Request and response bodies of the chat API (docs/http-api.md)."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from parley_security import NO_NUL_PATTERN, NOT_BLANK_PATTERN, DisplayName, no_nul, not_blank

from parley_chat.domain.models import MAX_NOTES_CHARS, Message, Notes

MessageId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
MessageText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4000,
        description="1–4000 characters, not only white space",
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
    ),
    AfterValidator(not_blank),
]


class PostMessageRequest(BaseModel):
    """``{message_id (client-chosen, 8–64 of [A-Za-z0-9_-]), text (1–4000 characters, not only
    white space), sender_name (optional)}``."""

    model_config = ConfigDict(extra="forbid")

    message_id: MessageId
    text: MessageText
    sender_name: DisplayName | None = Field(
        default=None,
        description="the name the sender uses in this meeting (the one chosen before joining; "
        "1–80 characters, stored trimmed); absent or null: the account's display name",
    )


class MessageOut(BaseModel):
    """``{message_id, meeting_id, sender_id, sender_name, text, posted_at, seq}``."""

    message_id: str
    meeting_id: str
    sender_id: str
    sender_name: str
    text: str
    posted_at: datetime
    seq: int = Field(
        description="the message's position in its meeting (1, 2, 3, … without gaps): history is "
        "ordered by it, and live `chat-message` events of a meeting arrive in its order"
    )

    @classmethod
    def of(cls, message: Message) -> "MessageOut":
        return cls(**message.model_dump())


class HistoryOut(BaseModel):
    """``{messages: [message] newest first, next_cursor (string or null)}``."""

    messages: list[MessageOut]
    next_cursor: str | None


class PutNotesRequest(BaseModel):
    """``{text (0–20000 characters, no U+0000; "" clears the notes)}``."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str,
        Field(max_length=MAX_NOTES_CHARS, json_schema_extra={"pattern": NO_NUL_PATTERN}),
        AfterValidator(no_nul),
    ]


class NotesOut(BaseModel):
    """``{meeting_id, text, updated_at (ISO 8601, or null before the first save)}``: the caller's own notes."""

    meeting_id: str
    text: str
    updated_at: datetime | None

    @classmethod
    def of(cls, notes: Notes) -> "NotesOut":
        return cls(meeting_id=notes.meeting_id, text=notes.text, updated_at=notes.updated_at)
