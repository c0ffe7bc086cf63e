"""The delivery worker: sends due deliveries of the log, signed, and reschedules failures
(docs/webhooks.md "Delivery and retries").

Every meetings replica runs one (started in ``create_app``'s lifespan) with a few lanes; each
lane claims one due delivery at a time with a conditional write
(:meth:`parley_meetings.webhooks_repository.WebhookRepository.claim`: two replicas never send
the same attempt), checks the endpoint's destination again
(:func:`parley_meetings.domain.webhook_urls.check_destination`: DNS rebinding), POSTs the
signed body with httpx (no redirects followed, no proxy from the environment) and writes the
outcome: a 2xx answer succeeds; anything else (another status, a timeout, a refused
destination) is retried on the schedule of :mod:`parley_meetings.domain.webhook_retries`, and
fails once it is exhausted. A lane with nothing due waits for ``wake()`` (a delivery enqueued
or replayed in this replica). One idle lane at a time also looks every poll interval (one
enqueued by another replica, a retry coming due), so an idle replica asks the store once per
interval, not once per lane; a lane that claims a delivery wakes the idle ones, which look for
more, and one of them polls while it sends.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from parley_meetings.domain.errors import InvalidWebhookUrl
from parley_meetings.domain.webhook_models import WebhookDelivery
from parley_meetings.domain.webhook_retries import retry_delay
from parley_meetings.domain.webhook_signing import signed_headers
from parley_meetings.domain.webhook_urls import Resolver, check_destination, resolve
from parley_meetings.metrics import WebhookMetrics
from parley_meetings.webhooks_repository import WebhookRepository
from parley_observability import RepeatedFailure

log = logging.getLogger(__name__)

#: Characters of an error kept in the log.
MAX_ERROR = 300


@dataclass(frozen=True)
class DeliveryConfig:
    """The worker's slice of the settings: the environment (URL rules), the retry schedule's
    base interval, the poll interval, the request timeout and the number of lanes."""

    environment: str
    retry_base_s: float
    poll_interval_s: float
    timeout_s: float
    lanes: int

    @property
    def lease(self) -> timedelta:
        """How long a claim holds a delivery: longer than any attempt can take."""
        return timedelta(seconds=self.timeout_s + 30)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    kind: str  # succeeded, rejected (a non-2xx answer), unreachable, refused (the destination)


class DeliveryWorker:
    """Claims, sends and records deliveries (see the module)."""

    def __init__(
        self,
        repository: WebhookRepository,
        http: httpx.AsyncClient,
        config: DeliveryConfig,
        metrics: WebhookMetrics,
        *,
        clock: Callable[[], datetime],
        resolver: Resolver = resolve,
    ) -> None:
        self._repository = repository
        self._http = http
        self._config = config
        self._metrics = metrics
        self._clock = clock
        self._resolver = resolver
        self._wake = asyncio.Event()
        self._polling = False  # an idle lane waits with the poll interval
        self._failure = RepeatedFailure(log, "the webhook delivery worker")  # of all lanes

    def wake(self) -> None:
        """Something is due now: idle lanes look at once."""
        self._wake.set()

    async def run(self) -> None:
        """Run the lanes until cancelled."""
        async with asyncio.TaskGroup() as lanes:
            for n in range(self._config.lanes):
                lanes.create_task(self._lane(), name=f"webhook-lane-{n}")

    async def _lane(self) -> None:
        while True:
            failed = False
            try:
                worked = await self.run_once()
            except Exception:  # noqa: BLE001 - the store may be down for a while: try again later
                failed = True
                self._failure.failed(self._config.poll_interval_s)
            else:
                self._failure.succeeded()
                if worked:
                    continue
            polls, self._polling = not self._polling, True
            try:
                await asyncio.wait_for(self._wake.wait(), self._config.poll_interval_s if polls or failed else None)
            except TimeoutError:
                pass
            finally:
                if polls:
                    self._polling = False
            self._wake.clear()

    async def run_once(self) -> bool:
        """Claim and send one due delivery; False when nothing was due."""
        now = self._clock()
        claimed = await self._repository.claim(now, now + self._config.lease)
        if claimed is None:
            return False
        self._wake.set()  # this lane is busy now: the idle ones look for more, one of them polls
        delivery, token = claimed
        await self._repository.finish(delivery.delivery_id, token, await self._attempt(delivery))
        return True

    async def _attempt(self, delivery: WebhookDelivery) -> dict[str, Any]:
        """Send one attempt; the changes to write to the delivery."""
        endpoint = await self._repository.endpoint(delivery.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            self._metrics.deliveries.labels("failed").inc()
            return {"state": "failed", "last_error": "the endpoint was deleted or disabled", "last_status_code": None}
        outcome = await self._send(endpoint.url, endpoint.secret, delivery)
        self._metrics.attempts.labels(outcome.kind).inc()
        now = self._clock()
        changes: dict[str, Any] = {"last_status_code": outcome.status_code, "last_error": outcome.error}
        if outcome.kind == "succeeded":
            self._metrics.deliveries.labels("succeeded").inc()
            return {**changes, "state": "succeeded", "succeeded_at": now}
        delay = retry_delay(delivery.round_attempts, self._config.retry_base_s)
        if delay is None:
            self._metrics.deliveries.labels("failed").inc()
            return {**changes, "state": "failed"}
        return {**changes, "state": "pending", "next_attempt_at": now + delay}

    async def _send(self, url: str, secret: str, delivery: WebhookDelivery) -> Outcome:
        try:
            await check_destination(url, self._config.environment, self._resolver)
        except InvalidWebhookUrl as exc:
            return Outcome(None, exc.message[:MAX_ERROR], "refused")
        headers = {
            "content-type": "application/json",
            **signed_headers(secret, delivery.delivery_id, self._clock(), delivery.payload),
        }
        started = time.perf_counter()
        try:
            # the answer's body is never read: a status is all a delivery needs
            async with self._http.stream("POST", url, content=delivery.payload.encode(), headers=headers) as response:
                status = response.status_code
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR], "unreachable")
        finally:
            self._metrics.duration.observe(time.perf_counter() - started)
        if 200 <= status < 300:
            return Outcome(status, None, "succeeded")
        return Outcome(status, f"the endpoint answered {status}", "rejected")
