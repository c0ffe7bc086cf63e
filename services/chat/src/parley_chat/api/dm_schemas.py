"""Request and response bodies of the direct-message API (docs/http-api.md, "Direct messages")."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from parley_chat.api.schemas import MessageId, MessageText
from parley_chat.domain.conversations import Conversation
from parley_chat.domain.models import Message
from parley_chat.conversations_repository import peer_of

#: A user id as auth issues it (a path segment: 1–100 of ``[A-Za-z0-9_-]``).
UserId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


class PostDirectMessageRequest(BaseModel):
    """``{message_id (client-chosen, 8–64 of [A-Za-z0-9_-]), text (1–4000 characters, not only white space)}``."""

    model_config = ConfigDict(extra="forbid")

    message_id: MessageId
    text: MessageText


class MarkReadRequest(BaseModel):
    """``{seq (optional, an integer)}``: read up to this message (default: the newest)."""

    model_config = ConfigDict(extra="forbid")

    seq: int | None = Field(default=None, strict=True, ge=1, description="a JSON integer, 1 or more")


class DirectMessageOut(BaseModel):
    """``{conversation_id, message_id, sender_id, sender_name, recipient_id, text, posted_at, seq}``."""

    conversation_id: str
    message_id: str
    sender_id: str
    sender_name: str
    recipient_id: str
    text: str
    posted_at: datetime
    seq: int = Field(
        description="the message's position in its conversation (1, 2, 3, … without gaps): history is "
        "ordered by it, and live `direct-message` events of a conversation arrive in its order"
    )

    @classmethod
    def of(cls, message: Message) -> "DirectMessageOut":
        return cls(
            conversation_id=message.meeting_id,
            recipient_id=peer_of(message.meeting_id, message.sender_id),
            **message.model_dump(exclude={"meeting_id"}),
        )


class DirectHistoryOut(BaseModel):
    """``{messages: [direct message] newest first, next_cursor (string or null)}``."""

    messages: list[DirectMessageOut]
    next_cursor: str | None


class ConversationOut(BaseModel):
    """``{conversation_id, peer_id, last_message (or null), read_seq, unread}``."""

    conversation_id: str
    peer_id: str
    last_message: DirectMessageOut | None
    read_seq: int = Field(description="the highest `seq` the caller has read")
    unread: int = Field(description="the peer's messages after `read_seq` (counted up to 100)")

    @classmethod
    def of(cls, conversation: Conversation) -> "ConversationOut":
        last = conversation.last_message
        return cls(
            conversation_id=conversation.conversation_id,
            peer_id=conversation.peer_id,
            last_message=DirectMessageOut.of(last) if last else None,
            read_seq=conversation.read_seq,
            unread=conversation.unread,
        )


class ConversationsOut(BaseModel):
    """``{conversations: [conversation], the most recently active first}``."""

    conversations: list[ConversationOut]
