"""Managing webhook endpoints and reading their delivery log (docs/webhooks.md).

An endpoint belongs to the user who registered it (with their access token, or with an API
key of theirs that has the scope ``webhooks:manage``); only that user sees it, its secret
(once, at registration and at rotation) and its deliveries. Another user's endpoint is
"not found", never "forbidden".
"""

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime

from parley_meetings.domain.errors import DeliveryInProgress, DeliveryNotFound, WebhookNotFound
from parley_meetings.domain.webhook_models import EventType, WebhookDelivery, WebhookEndpoint
from parley_meetings.domain.webhook_signing import new_secret
from parley_meetings.domain.webhook_urls import Resolver, check_destination, resolve
from parley_meetings.webhooks_repository import WebhookRepository


class Webhooks:
    """Register, list, read, rotate and delete endpoints; page and replay their deliveries.

    ``environment`` is the service's (``local`` allows http to loopback, ``production``
    resolves hosts and refuses private addresses); ``wake`` tells this replica's delivery
    worker that a delivery is due now (a replay)."""

    def __init__(
        self,
        repository: WebhookRepository,
        *,
        environment: str,
        clock: Callable[[], datetime],
        wake: Callable[[], None],
        resolver: Resolver = resolve,
    ) -> None:
        self._repository = repository
        self._environment = environment
        self._clock = clock
        self._wake = wake
        self._resolver = resolver

    async def register(
        self, owner_id: str, *, url: str, event_types: Sequence[EventType], description: str = ""
    ) -> WebhookEndpoint:
        """A new endpoint of ``owner_id`` (its secret generated here); the URL is checked
        (:mod:`parley_meetings.domain.webhook_urls`)."""
        await check_destination(url, self._environment, self._resolver)
        endpoint = WebhookEndpoint(
            endpoint_id=f"we_{secrets.token_hex(12)}",
            owner_id=owner_id,
            url=url,
            event_types=tuple(dict.fromkeys(event_types)),
            description=description,
            secret=new_secret(),
            created_at=self._clock(),
        )
        await self._repository.insert_endpoint(endpoint)
        return endpoint

    async def of_owner(self, owner_id: str) -> list[WebhookEndpoint]:
        return await self._repository.endpoints_of(owner_id)

    async def get(self, owner_id: str, endpoint_id: str) -> WebhookEndpoint:
        endpoint = await self._repository.endpoint(endpoint_id)
        if endpoint is None or endpoint.owner_id != owner_id:
            raise WebhookNotFound("no webhook endpoint of yours has this id")
        return endpoint

    async def rotate_secret(self, owner_id: str, endpoint_id: str) -> WebhookEndpoint:
        """A new secret for the endpoint; deliveries from now on are signed with it."""
        endpoint = await self._repository.set_secret(endpoint_id, owner_id, new_secret())
        if endpoint is None:
            raise WebhookNotFound("no webhook endpoint of yours has this id")
        return endpoint

    async def delete(self, owner_id: str, endpoint_id: str) -> None:
        """Delete the endpoint and its delivery log (a delivery being sent is not retried)."""
        if not await self._repository.delete_endpoint(endpoint_id, owner_id):
            raise WebhookNotFound("no webhook endpoint of yours has this id")

    async def deliveries(
        self, owner_id: str, endpoint_id: str, limit: int, after: tuple[datetime, str] | None
    ) -> list[WebhookDelivery]:
        """A page of the endpoint's delivery log, newest first."""
        await self.get(owner_id, endpoint_id)
        return await self._repository.page(endpoint_id, limit, after)

    async def delivery(self, owner_id: str, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        await self.get(owner_id, endpoint_id)
        delivery = await self._repository.delivery(endpoint_id, delivery_id)
        if delivery is None:
            raise DeliveryNotFound("this endpoint has no delivery with this id")
        return delivery

    async def replay(self, owner_id: str, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """Send a delivery again now (same ``webhook-id`` and body, a fresh retry schedule)."""
        await self.delivery(owner_id, endpoint_id, delivery_id)
        replayed = await self._repository.replay(endpoint_id, delivery_id, self._clock())
        if replayed is None:
            raise DeliveryInProgress("this delivery is being sent right now; look again in a moment")
        self._wake()
        return replayed
