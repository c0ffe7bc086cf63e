"""MongoDB storage of API keys: collection ``api_keys``.

``{_id: key id, owner_id, name, scopes, shown, secret_hash (unique), created_at,
last_used_at, revoked_at, outbox: [pending events]}``. The secret is never stored.
Revocation is a compare-and-set on ``revoked_at: null`` that stages its event in the same
write, so one of concurrent revocations wins and one event is published.
"""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from parley_auth.domain.api_keys import ApiKey
from parley_events import OUTBOX_FIELD, retry_write_conflicts, stage, staged

API_KEYS = "api_keys"


def _key(doc: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=doc["_id"],
        owner_id=doc["owner_id"],
        name=doc["name"],
        scopes=tuple(doc["scopes"]),
        shown=doc["shown"],
        secret_hash=doc["secret_hash"],
        created_at=doc["created_at"],
        last_used_at=doc.get("last_used_at"),
        revoked_at=doc.get("revoked_at"),
    )


class MongoApiKeyStore:
    """:class:`parley_auth.domain.api_keys.ApiKeyStore` on ``api_keys``."""

    def __init__(self, collection: AsyncCollection) -> None:
        self.collection = collection

    @retry_write_conflicts
    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("owner_id", ASCENDING), ("created_at", DESCENDING)], name="owner")
        await self.collection.create_index([("secret_hash", ASCENDING)], unique=True, name="secret_hash_unique")

    @retry_write_conflicts
    async def insert(self, key: ApiKey, outbox: list[dict[str, Any]]) -> None:
        await self.collection.insert_one(
            {
                "_id": key.key_id,
                "owner_id": key.owner_id,
                "name": key.name,
                "scopes": list(key.scopes),
                "shown": key.shown,
                "secret_hash": key.secret_hash,
                "created_at": key.created_at,
                "last_used_at": None,
                "revoked_at": None,
                **staged(outbox),
            }
        )

    async def for_owner(self, owner_id: str) -> list[ApiKey]:
        cursor = self.collection.find({"owner_id": owner_id}, {OUTBOX_FIELD: 0}).sort("created_at", DESCENDING)
        return [_key(doc) async for doc in cursor]

    async def count_active(self, owner_id: str) -> int:
        return await self.collection.count_documents({"owner_id": owner_id, "revoked_at": None})

    async def get(self, key_id: str, owner_id: str) -> ApiKey | None:
        doc = await self.collection.find_one({"_id": key_id, "owner_id": owner_id}, {OUTBOX_FIELD: 0})
        return _key(doc) if doc else None

    @retry_write_conflicts
    async def revoke(self, key_id: str, owner_id: str, now: datetime, outbox: dict[str, Any]) -> ApiKey | None:
        doc = await self.collection.find_one_and_update(
            {"_id": key_id, "owner_id": owner_id, "revoked_at": None},
            stage({"$set": {"revoked_at": now}}, outbox),
            return_document=ReturnDocument.AFTER,
        )
        return _key(doc) if doc else None

    @retry_write_conflicts
    async def mark_used(self, key_id: str, used_at: datetime) -> None:
        await self.collection.update_one(
            {"_id": key_id, "$or": [{"last_used_at": None}, {"last_used_at": {"$lt": used_at}}]},
            {"$set": {"last_used_at": used_at}},
        )
