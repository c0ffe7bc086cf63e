"""MongoDB storage of chat messages (collection ``messages``) and notes (collection ``notes``).

One document per message, ``_id`` = ``"{meeting_id}:{message_id}"``, so a client-chosen
``message_id`` is unique per meeting through the primary key alone (no compound unique index
needed; FerretDB 1.x and MongoDB both enforce ``_id``)::

    {_id, meeting_id, message_id, sender_id, sender_name, text, posted_at, outbox: [...]}

A new message and its ``chat.message.posted`` event are stored in one ``insert_one``
(:mod:`parley_events.outbox`). Messages are never updated except by the relay's removal of
published outbox entries.

Notes: one document per (meeting, owner), ``_id`` = ``"{meeting_id}:{owner_id}"`` (user ids
are auth's hex UUIDs, without ``:``, so the id is unambiguous)::

    {_id, meeting_id, owner_id, text, updated_at}

Saved by an upsert that replaces ``text`` and ``updated_at``; no outbox (notes publish no
event).

Every write is one atomic MongoDB operation, retried when the store refuses it for colliding
with a concurrent write (:func:`parley_events.retry_write_conflicts`). Two replicas taking the
same post (same ``message_id``) both try the same ``_id``: the store keeps exactly one, and
the other insert gets a duplicate-key error.
"""

from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from parley_chat.domain.models import Message, Notes
from parley_events import OUTBOX_FIELD, PENDING_FIELD, retry_write_conflicts, staged

MESSAGES = "messages"
NOTES = "notes"
_ORDER = [("posted_at", DESCENDING), ("_id", DESCENDING)]


def doc_id(meeting_id: str, message_id: str) -> str:
    """The document id of a message."""
    return f"{meeting_id}:{message_id}"


def _from_doc(doc: dict[str, Any]) -> Message:
    return Message(**{k: v for k, v in doc.items() if k not in ("_id", OUTBOX_FIELD, PENDING_FIELD)})


class MessageRepository:
    """Messages of every meeting in ``database``."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.messages: AsyncCollection = database[MESSAGES]

    @retry_write_conflicts  # idempotent; collides with another replica (or relay) creating indexes
    async def ensure_indexes(self) -> None:
        """Index the history query: one meeting, newest first."""
        await self.messages.create_index([("meeting_id", 1), *_ORDER])

    @retry_write_conflicts
    async def insert(self, message: Message, outbox: list[dict[str, Any]]) -> Message | None:
        """Store ``message`` with its pending events; returns ``None`` and stores nothing when
        its ``message_id`` is already used in the meeting."""
        doc = {"_id": doc_id(message.meeting_id, message.message_id), **message.model_dump()}
        try:
            await self.messages.insert_one({**doc, **staged(outbox)})
        except DuplicateKeyError:
            return None
        return message

    async def get(self, meeting_id: str, message_id: str) -> Message | None:
        doc = await self.messages.find_one({"_id": doc_id(meeting_id, message_id)}, {OUTBOX_FIELD: 0})
        return _from_doc(doc) if doc else None

    async def page(
        self, meeting_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[tuple[str, Message]]:
        """Up to ``limit`` messages of the meeting, newest first, strictly after ``before``
        (a ``(posted_at, _id)`` position) in that order; each with its document id."""
        query: dict[str, Any] = {"meeting_id": meeting_id}
        if before is not None:
            posted_at, last_id = before
            query["$or"] = [
                {"posted_at": {"$lt": posted_at}},
                {"posted_at": posted_at, "_id": {"$lt": last_id}},
            ]
        cursor = self.messages.find(query, {OUTBOX_FIELD: 0}).sort(_ORDER).limit(limit)
        return [(doc["_id"], _from_doc(doc)) async for doc in cursor]


def notes_id(meeting_id: str, owner_id: str) -> str:
    """The document id of one user's notes of one meeting."""
    return f"{meeting_id}:{owner_id}"


class NotesRepository:
    """Every user's notes of every meeting in ``database``."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.notes: AsyncCollection = database[NOTES]

    async def get(self, meeting_id: str, owner_id: str) -> Notes | None:
        doc = await self.notes.find_one({"_id": notes_id(meeting_id, owner_id)})
        if doc is None:
            return None
        return Notes(meeting_id=doc["meeting_id"], owner_id=doc["owner_id"], text=doc["text"], updated_at=doc["updated_at"])

    @retry_write_conflicts
    async def put(self, notes: Notes) -> None:
        """Create or replace the notes of ``(notes.meeting_id, notes.owner_id)``.

        Two first saves at once both try to insert; the loser gets a duplicate-key error (as
        MongoDB may answer too) and then updates the document the winner created."""
        key = notes_id(notes.meeting_id, notes.owner_id)
        try:
            await self.notes.update_one({"_id": key}, {"$set": notes.model_dump()}, upsert=True)
        except DuplicateKeyError:
            await self.notes.update_one({"_id": key}, {"$set": notes.model_dump()})
