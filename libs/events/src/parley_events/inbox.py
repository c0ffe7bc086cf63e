"""Idempotent consumers: remember which event ids a consumer group has processed.

Usage in a handler: skip when :meth:`ProcessedEvents.seen`; otherwise process, then
:meth:`ProcessedEvents.record`, then let the message be acknowledged.
"""

from datetime import UTC, datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from parley_events.write_conflicts import retry_write_conflicts


class ProcessedEvents:
    """Event ids already processed, one document per id (``_id`` = CloudEvents ``id``)."""

    def __init__(self, collection: AsyncCollection) -> None:
        self._collection = collection

    async def seen(self, event_id: str) -> bool:
        """True when ``event_id`` was recorded before."""
        return await self._collection.find_one({"_id": event_id}, {"_id": 1}) is not None

    @retry_write_conflicts
    async def record(self, event_id: str) -> None:
        """Record ``event_id`` as processed; recording it twice is harmless."""
        try:
            await self._collection.insert_one({"_id": event_id, "processed_at": datetime.now(UTC)})
        except DuplicateKeyError:
            pass
