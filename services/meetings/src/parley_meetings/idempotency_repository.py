"""MongoDB storage of idempotency keys: collection ``idempotency_keys``.

``{_id: SHA-256 of (caller id, key), request_hash, started_at, expires_at, response (null
while pending)}``. A TTL index on ``expires_at`` purges old keys where the server has TTL
indexes (MongoDB; FerretDB 1.x lacks them, and :class:`parley_meetings.domain.idempotency.Idempotency`
treats an expired record as absent regardless). Claims are single-document compare-and-sets.
"""

import logging
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from parley_events import retry_write_conflicts
from parley_meetings.domain.idempotency import Claim

log = logging.getLogger(__name__)

IDEMPOTENCY_KEYS = "idempotency_keys"


class MongoIdempotencyStore:
    """:class:`parley_meetings.domain.idempotency.IdempotencyStore` on ``idempotency_keys``."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.collection = database[IDEMPOTENCY_KEYS]

    @retry_write_conflicts
    async def ensure_indexes(self) -> None:
        try:
            await self.collection.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl")
        except OperationFailure as exc:
            log.info("no TTL index on %s (server says: %s)", IDEMPOTENCY_KEYS, exc.details or exc)

    @retry_write_conflicts
    async def claim(self, record_id: str, request_hash: str, now: datetime, expires_at: datetime) -> Claim | None:
        try:
            await self.collection.insert_one(
                {"_id": record_id, "request_hash": request_hash, "started_at": now, "expires_at": expires_at, "response": None}
            )
            return None
        except DuplicateKeyError:
            doc = await self.collection.find_one({"_id": record_id})
            if doc is None:  # purged in between: claim again
                return await self.claim(record_id, request_hash, now, expires_at)
            return Claim(doc["request_hash"], doc["started_at"], doc["expires_at"], doc.get("response"))

    @retry_write_conflicts
    async def take_over(self, record_id: str, seen: Claim, request_hash: str, now: datetime, expires_at: datetime) -> bool:
        result = await self.collection.replace_one(
            {"_id": record_id, "started_at": seen.started_at},
            {"request_hash": request_hash, "started_at": now, "expires_at": expires_at, "response": None},
        )
        return result.modified_count == 1

    @retry_write_conflicts
    async def complete(self, record_id: str, started_at: datetime, response: dict[str, Any]) -> None:
        await self.collection.update_one({"_id": record_id, "started_at": started_at}, {"$set": {"response": response}})

    @retry_write_conflicts
    async def release(self, record_id: str, started_at: datetime) -> None:
        await self.collection.delete_one({"_id": record_id, "started_at": started_at, "response": None})
