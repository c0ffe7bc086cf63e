"""MongoDB storage of chat messages (collection ``messages``).

One document per message, ``_id`` = ``"{meeting_id}:{message_id}"``, so a client-chosen
``message_id`` is unique per meeting through the primary key alone (no compound unique index
needed; FerretDB 1.x and MongoDB both enforce ``_id``)::

    {_id, meeting_id, message_id, sender_id, sender_name, text, posted_at, outbox: [...]}

A new message and its ``chat.message.posted`` event are stored in one ``insert_one``
(:mod:`parley_events.outbox`). Messages are never updated except by the relay's removal of
published outbox entries.
"""

from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from parley_chat.domain.models import Message
from parley_events import OUTBOX_FIELD

MESSAGES = "messages"
_ORDER = [("posted_at", DESCENDING), ("_id", DESCENDING)]


def doc_id(meeting_id: str, message_id: str) -> str:
    """The document id of a message."""
    return f"{meeting_id}:{message_id}"


def _from_doc(doc: dict[str, Any]) -> Message:
    return Message(**{k: v for k, v in doc.items() if k not in ("_id", OUTBOX_FIELD)})


class MessageRepository:
    """Messages of every meeting in ``database``."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.messages: AsyncCollection = database[MESSAGES]

    async def ensure_indexes(self) -> None:
        """Index the history query: one meeting, newest first."""
        await self.messages.create_index([("meeting_id", 1), *_ORDER])

    async def insert(self, message: Message, outbox: list[dict[str, Any]]) -> Message | None:
        """Store ``message`` with its pending events; returns ``None`` and stores nothing when
        its ``message_id`` is already used in the meeting."""
        doc = {"_id": doc_id(message.meeting_id, message.message_id), **message.model_dump()}
        try:
            await self.messages.insert_one({**doc, OUTBOX_FIELD: outbox})
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
