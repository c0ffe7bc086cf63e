"""MongoDB storage of contacts and presence: collections ``contacts``, ``presence`` and
``presence_replicas``.

``contacts``: one document per pair of users, whatever its state:
``{_id: contact id ("<lower user id>:<higher user id>"), a, b (the two ids, sorted),
status: "pending" | "accepted" | "none", inviter (user id, while pending), since (when the
status was set), blocks: [user ids of a and b who block the other], version, outbox}``.
``presence``: one document per user signaling reported:
``{_id: user id, sockets: [{sid, replica_id, state, meeting_id, at}], state, last_seen,
version, outbox}``. ``presence_replicas``: ``{_id: replica id, lost_at}``.

Every change is a compare-and-set on ``version`` (one winner among concurrent writers, on any
replica) that stages its events in the same write (:mod:`parley_events.outbox`);
:class:`VersionConflict` tells the caller to read again and retry.
"""

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from parley_events import OUTBOX_FIELD, retry_write_conflicts, stage, staged

CONTACTS = "contacts"
PRESENCE = "presence"
PRESENCE_REPLICAS = "presence_replicas"


class VersionConflict(Exception):
    """Another writer changed the document since it was read: read again and retry."""


@retry_write_conflicts
async def ensure_contact_indexes(db: AsyncDatabase) -> None:
    """Indexes of a user's pairs (``a``, ``b``) and of the users with live sockets (``state``)."""
    await db[CONTACTS].create_index([("a", ASCENDING)], name="a")
    await db[CONTACTS].create_index([("b", ASCENDING)], name="b")
    await db[PRESENCE].create_index([("state", ASCENDING)], name="state")


class VersionedStore:
    """Documents written by compare-and-set on their ``version`` field, with outbox entries."""

    def __init__(self, collection: AsyncCollection) -> None:
        self.collection = collection

    async def get(self, doc_id: str) -> dict[str, Any] | None:
        """The document without its outbox, or None."""
        return await self.collection.find_one({"_id": doc_id}, {OUTBOX_FIELD: 0})

    @retry_write_conflicts
    async def write(self, doc_id: str, version: int | None, fields: dict[str, Any], entries: list[dict[str, Any]]) -> None:
        """Set ``fields`` on the document read at ``version`` (None: it did not exist) and
        stage ``entries``; raises :class:`VersionConflict` when it changed meanwhile."""
        if version is None:
            try:
                await self.collection.insert_one({"_id": doc_id, **fields, "version": 1, **staged(entries)})
            except DuplicateKeyError as exc:
                raise VersionConflict(doc_id) from exc
            return
        update: dict[str, Any] = {"$set": {**fields, "version": version + 1}}
        for entry in entries:
            update = stage(update, entry) if "$push" not in update else _push_more(update, entry)
        result = await self.collection.update_one({"_id": doc_id, "version": version}, update)
        if result.matched_count != 1:
            raise VersionConflict(doc_id)


def _push_more(update: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """``update`` pushing one more outbox entry (``$each``, in order)."""
    pushed = update["$push"][OUTBOX_FIELD]
    entries = pushed["$each"] if isinstance(pushed, dict) and "$each" in pushed else [pushed]
    return {**update, "$push": {**update["$push"], OUTBOX_FIELD: {"$each": [*entries, entry]}}}


class MongoContactStore(VersionedStore):
    """Pairs of users on ``contacts``."""

    async def of_user(self, user_id: str) -> list[dict[str, Any]]:
        """Every pair document ``user_id`` is part of (two indexed queries, not an ``$or``)."""
        docs: list[dict[str, Any]] = []
        for field in ("a", "b"):
            docs.extend([doc async for doc in self.collection.find({field: user_id}, {OUTBOX_FIELD: 0})])
        return docs


class MongoPresenceStore(VersionedStore):
    """Users' sockets and aggregate presence on ``presence``; lost replicas on ``presence_replicas``."""

    def __init__(self, collection: AsyncCollection, replicas: AsyncCollection) -> None:
        super().__init__(collection)
        self.replicas = replicas

    async def not_offline(self) -> list[dict[str, Any]]:
        """The documents of users with at least one live socket."""
        return [doc async for doc in self.collection.find({"state": {"$in": ["online", "in_call"]}}, {OUTBOX_FIELD: 0})]

    async def replica_lost_at(self, replica_id: str) -> Any:
        """When ``replica_id`` was last reported lost (a datetime), or None."""
        doc = await self.replicas.find_one({"_id": replica_id})
        return doc["lost_at"] if doc else None

    @retry_write_conflicts
    async def mark_replica_lost(self, replica_id: str, lost_at: Any) -> None:
        """Remember that ``replica_id``'s records from before ``lost_at`` are stale (keeps the later time)."""
        await self.replicas.update_one({"_id": replica_id}, {"$max": {"lost_at": lost_at}}, upsert=True)
