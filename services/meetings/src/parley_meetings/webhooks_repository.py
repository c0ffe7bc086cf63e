"""MongoDB storage of webhooks (docs/webhooks.md): endpoints, the delivery log, and which
meetings have started.

``webhook_endpoints``, ``_id`` = endpoint id::

    {_id, owner_id, url, event_types: [..], description, secret, enabled, created_at}

``webhook_deliveries``, ``_id`` = delivery id (the ``webhook-id``; derived from the endpoint,
the Kafka event and the webhook type, so a redelivered Kafka record enqueues nothing twice)::

    {_id, endpoint_id, owner_id, event_type, event_id, meeting_id, payload, state, attempts,
     round_attempts, next_attempt_at, created_at, last_attempt_at, last_status_code,
     last_error, succeeded_at, claim}

A worker claims a due delivery with one conditional write (``findAndModify`` on ``state`` and
``next_attempt_at``) that sets ``state: delivering``, a fresh ``claim`` token and the lease's
end as ``next_attempt_at``: of two replicas, one wins; a replica that died while sending
leaves a lease that runs out, and the delivery is claimed again. The result is written only
under the same ``claim`` token.

``webhook_meeting_starts``, ``_id`` = meeting id: ``{event_id}`` of the first
``participant.joined`` seen for the meeting (the ``meeting.started`` webhook).

``webhook_meta``, ``_id`` ``endpoints``: ``{rev}``, raised after every endpoint created or
deleted, so the dispatcher can keep the owners with an endpoint and their endpoints, and ask
the store once per batch whether any changed (:meth:`WebhookRepository.endpoints_rev`).
"""

import secrets
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from parley_events import retry_write_conflicts
from parley_meetings.domain.webhook_models import WebhookDelivery, WebhookEndpoint

ENDPOINTS = "webhook_endpoints"
DELIVERIES = "webhook_deliveries"
STARTS = "webhook_meeting_starts"
META = "webhook_meta"
_ENDPOINTS_REV = {"_id": "endpoints"}


def _endpoint(doc: dict[str, Any]) -> WebhookEndpoint:
    return WebhookEndpoint(endpoint_id=doc.pop("_id"), **doc)


def _delivery(doc: dict[str, Any]) -> WebhookDelivery:
    doc.pop("claim", None)
    return WebhookDelivery(delivery_id=doc.pop("_id"), **doc)


class WebhookRepository:
    """Endpoints, deliveries and meeting starts in ``database``."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.endpoints: AsyncCollection = database[ENDPOINTS]
        self.deliveries: AsyncCollection = database[DELIVERIES]
        self.starts: AsyncCollection = database[STARTS]
        self.meta: AsyncCollection = database[META]

    @retry_write_conflicts
    async def ensure_indexes(self) -> None:
        """The owner's endpoints, the workers' due query, an endpoint's log newest first."""
        await self.endpoints.create_index([("owner_id", ASCENDING)])
        await self.deliveries.create_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)])
        await self.deliveries.create_index([("endpoint_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)])

    # endpoints

    async def insert_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """Store a new endpoint, then raise :meth:`endpoints_rev`."""
        doc = endpoint.model_dump(mode="python")
        doc["_id"] = doc.pop("endpoint_id")
        doc["event_types"] = list(doc["event_types"])
        await self._insert_endpoint(doc)
        await self._raise_endpoints_rev()

    @retry_write_conflicts
    async def _insert_endpoint(self, doc: dict[str, Any]) -> None:
        await self.endpoints.insert_one(doc)

    async def endpoints_rev(self) -> int:
        """A number raised after every endpoint created or deleted (0 before the first): the
        endpoints read after it was read include every change it counts."""
        doc = await self.meta.find_one(_ENDPOINTS_REV)
        return int(doc["rev"]) if doc else 0

    @retry_write_conflicts
    async def _raise_endpoints_rev(self) -> None:
        try:
            await self.meta.update_one(_ENDPOINTS_REV, {"$inc": {"rev": 1}}, upsert=True)
        except DuplicateKeyError:  # another replica created it at the same moment
            await self.meta.update_one(_ENDPOINTS_REV, {"$inc": {"rev": 1}})

    async def endpoint_owners(self) -> set[str]:
        """Every owner with at least one endpoint (enabled or not): one read of the collection."""
        return set(await self.endpoints.distinct("owner_id"))

    async def endpoints_of(self, owner_id: str) -> list[WebhookEndpoint]:
        """The owner's endpoints, oldest first."""
        cursor = self.endpoints.find({"owner_id": owner_id}).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        return [_endpoint(doc) async for doc in cursor]

    async def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        doc = await self.endpoints.find_one({"_id": endpoint_id})
        return _endpoint(doc) if doc else None

    @retry_write_conflicts
    async def set_secret(self, endpoint_id: str, owner_id: str, secret: str) -> WebhookEndpoint | None:
        doc = await self.endpoints.find_one_and_update(
            {"_id": endpoint_id, "owner_id": owner_id}, {"$set": {"secret": secret}}, return_document=ReturnDocument.AFTER
        )
        return _endpoint(doc) if doc else None

    async def delete_endpoint(self, endpoint_id: str, owner_id: str) -> bool:
        """Delete the endpoint and its delivery log, then raise :meth:`endpoints_rev`; False
        when the owner has no such endpoint."""
        deleted = await self._delete_endpoint(endpoint_id, owner_id)
        if deleted:
            await self._raise_endpoints_rev()
        return deleted

    @retry_write_conflicts
    async def _delete_endpoint(self, endpoint_id: str, owner_id: str) -> bool:
        deleted = await self.endpoints.delete_one({"_id": endpoint_id, "owner_id": owner_id})
        if deleted.deleted_count:
            await self.deliveries.delete_many({"endpoint_id": endpoint_id})
        return bool(deleted.deleted_count)

    # deliveries

    @retry_write_conflicts
    async def enqueue(self, delivery: WebhookDelivery) -> bool:
        """Store ``delivery`` unless a delivery with its id exists; True when stored."""
        doc = delivery.model_dump(mode="python")
        doc["_id"] = doc.pop("delivery_id")
        result = await self.deliveries.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)
        return result.upserted_id is not None

    @retry_write_conflicts
    async def claim(self, now: datetime, lease_until: datetime) -> tuple[WebhookDelivery, str] | None:
        """Claim the most overdue delivery (pending and due, or delivering with its lease run
        out): the delivery as claimed (its attempts counted) and the claim token; None when
        nothing is due."""
        token = secrets.token_hex(8)
        doc = await self.deliveries.find_one_and_update(
            {"state": {"$in": ["pending", "delivering"]}, "next_attempt_at": {"$lte": now}},
            {
                "$set": {"state": "delivering", "next_attempt_at": lease_until, "claim": token, "last_attempt_at": now},
                "$inc": {"attempts": 1, "round_attempts": 1},
            },
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        return (_delivery(doc), token) if doc else None

    @retry_write_conflicts
    async def finish(self, delivery_id: str, token: str, changes: dict[str, Any]) -> bool:
        """Write an attempt's outcome, if the claim ``token`` still holds the delivery."""
        result = await self.deliveries.update_one(
            {"_id": delivery_id, "claim": token, "state": "delivering"}, {"$set": {**changes, "claim": None}}
        )
        return bool(result.modified_count)

    async def delivery(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery | None:
        doc = await self.deliveries.find_one({"_id": delivery_id, "endpoint_id": endpoint_id})
        return _delivery(doc) if doc else None

    async def page(self, endpoint_id: str, limit: int, after: tuple[datetime, str] | None) -> list[WebhookDelivery]:
        """Up to ``limit`` deliveries of the endpoint, newest first (``created_at``, then id),
        after the one ``after`` names."""
        query: dict[str, Any] = {"endpoint_id": endpoint_id}
        if after is not None:
            created_at, delivery_id = after
            query["$or"] = [
                {"created_at": {"$lt": created_at}},
                {"created_at": created_at, "_id": {"$lt": delivery_id}},
            ]
        cursor = self.deliveries.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
        return [_delivery(doc) async for doc in cursor.limit(limit)]

    @retry_write_conflicts
    async def replay(self, endpoint_id: str, delivery_id: str, now: datetime) -> WebhookDelivery | None:
        """Make a delivery that is not being sent due now, with a fresh retry schedule; None
        when it is being sent (or does not exist)."""
        doc = await self.deliveries.find_one_and_update(
            {"_id": delivery_id, "endpoint_id": endpoint_id, "state": {"$in": ["pending", "succeeded", "failed"]}},
            {"$set": {"state": "pending", "next_attempt_at": now, "round_attempts": 0}},
            return_document=ReturnDocument.AFTER,
        )
        return _delivery(doc) if doc else None

    # meeting starts

    @retry_write_conflicts
    async def mark_started(self, meeting_id: str, event_id: str) -> bool:
        """True when the ``participant.joined`` ``event_id`` is the meeting's first (also when
        that same event is applied again)."""
        try:
            await self.starts.insert_one({"_id": meeting_id, "event_id": event_id})
            return True
        except DuplicateKeyError:
            doc = await self.starts.find_one({"_id": meeting_id})
            return bool(doc) and doc["event_id"] == event_id
