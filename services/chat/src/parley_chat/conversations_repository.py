"""MongoDB storage of direct messages: the messages (collections ``dm_messages`` and
``dm_heads``), each user's side of a conversation (``dm_inbox``), and chat's projection of
auth's contacts (``contact_pairs``, :class:`parley_events.contact_pairs.ContactPairs`).

A conversation is the pair of users' contact id (the two user ids, sorted, joined by ``:``).
Its messages are stored exactly as a meeting's (:class:`parley_chat.repository.MessageRepository`
in its own collections, the conversation id in the ``meeting_id`` field): numbered ``seq`` 1,
2, 3, … without gaps, idempotent by client ``message_id``, paged by blocks, and published
from the store by a :class:`parley_chat.relay.MessageRelay` as ``dm.message.posted``
(:func:`dm_event_of`).

``dm_inbox`` holds one document per user and conversation::

    {_id: "{conversation_id}:{user_id}", conversation_id, user_id, peer_id, read,
     outbox: [...], outbox_pending}

created for both users before the conversation's first message is stored (so every stored
message is in both users' lists); ``read`` is the highest ``seq`` the user has read. Raising
it stages ``dm.conversation.read`` in the same write (:mod:`parley_events.outbox`, published
by an :class:`parley_events.OutboxRelay`).
"""

import uuid
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from parley_chat.domain.models import Message
from parley_chat.repository import MessageRepository
from parley_events import (
    DmConversationRead,
    DmMessagePosted,
    OutgoingEvent,
    ProcessedEvents,
    encode,
    outbox_entry,
    retry_write_conflicts,
    stage,
)
from parley_events.contact_pairs import ContactPairs

DM_MESSAGES = "dm_messages"
DM_HEADS = "dm_heads"
DM_INBOX = "dm_inbox"
CONTACT_PAIRS = "contact_pairs"
PROCESSED_CONTACT_EVENTS = "processed_contact_events"
#: CloudEvents ``source`` of chat's direct-message events.
EVENT_SOURCE = "/parley/chat"
_EVENT_IDS = uuid.UUID("0b6c3f0e-2f4e-4a8e-8f0c-5d7a1e9b4c21")


def peer_of(conversation_id: str, user_id: str) -> str:
    """The other user of the conversation."""
    a, _, b = conversation_id.partition(":")
    return b if user_id == a else a


def dm_event_of(message: Message) -> OutgoingEvent:
    """The ``dm.message.posted`` of a stored direct message; the same record every time (its
    CloudEvents id is a UUIDv5 of the conversation id and ``message_id``)."""
    conversation_id = message.meeting_id
    event_id = uuid.uuid5(_EVENT_IDS, f"{conversation_id}:{message.message_id}")
    data = DmMessagePosted(
        conversation_id=conversation_id,
        recipient_id=peer_of(conversation_id, message.sender_id),
        **message.model_dump(exclude={"meeting_id"}),
    )
    return encode(data, source=EVENT_SOURCE, event_id=str(event_id))


def inbox_id(conversation_id: str, user_id: str) -> str:
    return f"{conversation_id}:{user_id}"


class ConversationRepository:
    """Direct messages, inboxes and the contact projection in ``database``."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.messages = MessageRepository(database, messages=DM_MESSAGES, heads=DM_HEADS)
        self.inbox: AsyncCollection = database[DM_INBOX]
        self.pairs = ContactPairs(database[CONTACT_PAIRS], ProcessedEvents(database[PROCESSED_CONTACT_EVENTS]))

    async def ensure_indexes(self) -> None:
        await self.messages.ensure_indexes()
        await self._index_inbox()

    @retry_write_conflicts
    async def _index_inbox(self) -> None:
        await self.inbox.create_index([("user_id", ASCENDING)])

    @retry_write_conflicts
    async def open(self, conversation_id: str, user_id: str) -> None:
        """Create the user's side of the conversation (``read`` 0) unless it exists."""
        key = inbox_id(conversation_id, user_id)
        fields = {"conversation_id": conversation_id, "user_id": user_id,
                  "peer_id": peer_of(conversation_id, user_id), "read": 0}
        try:
            await self.inbox.update_one({"_id": key}, {"$setOnInsert": fields}, upsert=True)
        except DuplicateKeyError:  # created meanwhile by a concurrent post
            pass

    async def sides(self, user_id: str) -> list[dict[str, Any]]:
        """The user's side of each of their conversations: ``{conversation_id, peer_id, read}``."""
        return await self.inbox.find({"user_id": user_id}, {"conversation_id": 1, "peer_id": 1, "read": 1}).to_list()

    async def read_of(self, conversation_id: str, user_id: str) -> int:
        doc = await self.inbox.find_one({"_id": inbox_id(conversation_id, user_id)}, {"read": 1})
        return int(doc["read"]) if doc else 0

    @retry_write_conflicts
    async def mark_read(self, conversation_id: str, user_id: str, seq: int, at: datetime, *, announce: bool = True) -> bool:
        """Raise the user's ``read`` to ``seq`` (never lower it) and, when ``announce``, stage
        its ``dm.conversation.read`` in the same write; False when it was there already
        (nothing written) or the user has no side in the conversation yet. A sender's own post
        is not announced: their sockets get the message itself."""
        event = DmConversationRead(
            conversation_id=conversation_id, user_id=user_id, peer_id=peer_of(conversation_id, user_id),
            read_seq=seq, at=at,
        )
        update = {"$set": {"read": seq}}
        result = await self.inbox.update_one(
            {"_id": inbox_id(conversation_id, user_id), "read": {"$lt": seq}},
            stage(update, outbox_entry(event, source=EVENT_SOURCE)) if announce else update,
        )
        return result.modified_count == 1
