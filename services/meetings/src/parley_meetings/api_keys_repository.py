"""meetings' projection of auth's API keys: collection ``api_keys``.

``{_id: key id, secret_hash (unique), owner_id, owner_name, scopes, revoked, last_used_at,
outbox}``, built from ``api_key.created`` / ``api_key.revoked`` (:mod:`parley_meetings.messaging`);
meetings never asks auth about a key. Applying an event twice changes nothing (the created
one only inserts, the revoked one only sets ``revoked``), so the consumer needs no inbox.
``last_used_at`` is meetings' own: :meth:`ApiKeyProjection.mark_used` sets it at most once
per interval with a compare-and-set that stages ``api_key.used`` in the same write.
"""

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from parley_events import OUTBOX_FIELD, ApiKeyCreated, ApiKeyRevoked, retry_write_conflicts, stage
from parley_meetings.domain.api_keys import KeyGrant

API_KEYS = "api_keys"


class ApiKeyProjection:
    """The keys meetings accepts, by the SHA-256 of their secret."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.collection: AsyncCollection = database[API_KEYS]

    @retry_write_conflicts
    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("secret_hash", ASCENDING)], unique=True, name="secret_hash_unique")

    @retry_write_conflicts
    async def apply_created(self, event: ApiKeyCreated) -> None:
        await self.collection.update_one(
            {"_id": event.key_id},
            {
                "$setOnInsert": {
                    "secret_hash": event.secret_hash,
                    "owner_id": event.owner_id,
                    "owner_name": event.owner_name,
                    "scopes": list(event.scopes),
                    "revoked": False,
                    "last_used_at": None,
                    OUTBOX_FIELD: [],
                }
            },
            upsert=True,
        )

    @retry_write_conflicts
    async def apply_revoked(self, event: ApiKeyRevoked) -> None:
        await self.collection.update_one({"_id": event.key_id, "revoked": False}, {"$set": {"revoked": True}})

    async def by_hash(self, secret_hash: str) -> KeyGrant | None:
        doc = await self.collection.find_one({"secret_hash": secret_hash}, {OUTBOX_FIELD: 0})
        if doc is None:
            return None
        return KeyGrant(
            key_id=doc["_id"],
            owner_id=doc["owner_id"],
            owner_name=doc["owner_name"],
            scopes=frozenset(doc["scopes"]),
            revoked=doc["revoked"],
            last_used_at=doc.get("last_used_at"),
        )

    @retry_write_conflicts
    async def mark_used(self, key_id: str, now: datetime, interval: timedelta, outbox: dict[str, Any]) -> bool:
        """Set ``last_used_at`` to ``now`` and stage ``outbox`` unless it was set less than
        ``interval`` ago (compare-and-set: one of concurrent requests, on any replica, wins)."""
        result = await self.collection.update_one(
            {"_id": key_id, "$or": [{"last_used_at": None}, {"last_used_at": {"$lte": now - interval}}]},
            stage({"$set": {"last_used_at": now}}, outbox),
        )
        return result.modified_count == 1
