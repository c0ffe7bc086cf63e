"""The meetings ASGI app: ``uvicorn --factory parley_meetings.main:create_app``.

Tests may set ``app.state.verifier`` (a :class:`parley_security.JwksVerifier`) before the
lifespan starts; otherwise one is built from the settings.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from parley_events import (
    ConsumerLag,
    KafkaLogGate,
    OutboxMetrics,
    ReceivedEvent,
    asyncapi_router,
    kafka_log_records_held,
    relay_while_broker_runs,
)
from parley_meetings.api.call_routes import router as call_router
from parley_meetings.api.callers import document_api_key_header
from parley_meetings.api.webhook_messages import document_webhooks
from parley_meetings.api.feed_routes import router as feed_router
from parley_meetings.call_repository import CallRepository
from parley_meetings.domain.calls import Calls
from parley_meetings.api.routes import public_router
from parley_meetings.api.routes import router as api_router
from parley_meetings.api.moderation_routes import router as moderation_router
from parley_meetings.api.webhook_routes import router as webhook_router
from parley_meetings.api_keys_repository import ApiKeyProjection
from parley_meetings.config import Settings
from parley_meetings.domain.api_keys import ApiKeyAuthenticator
from parley_meetings.domain.feeds import CalendarFeeds
from parley_meetings.domain.idempotency import Idempotency
from parley_meetings.idempotency_repository import MongoIdempotencyStore
from parley_meetings.domain.models import utc_now
from parley_meetings.domain.service import Meetings
from parley_meetings.domain.summaries import SummaryCache
from parley_meetings.domain.webhook_delivery import DeliveryConfig, DeliveryWorker
from parley_meetings.domain.webhook_dispatch import WebhookDispatcher
from parley_meetings.domain.webhooks import Webhooks
from parley_meetings.messaging import (
    CONSUMES,
    add_contact_consumer,
    add_api_key_consumer,
    add_meeting_event_consumer,
    add_participant_consumer,
    add_webhook_consumer,
    build_router,
    kafka_ready,
    outbox_relay,
)
from parley_meetings.metrics import MeetingsMetrics, WebhookMetrics
from parley_meetings.repository import CalendarFeedRepository, MeetingRepository
from parley_meetings.sweeper import Sweeper
from parley_meetings.webhooks_repository import WebhookRepository
from parley_observability import (
    HttpMetrics,
    HttpMetricsMiddleware,
    SurvivorFreezer,
    api_description,
    configure_logging,
    health_router,
    install_api_error_handler,
    metrics_router,
    stop_task,
    summarize_operations,
    write_directly,
)
from parley_observability.store import StoreAvailability, install_store_error_handler
from parley_security import JwksVerifier, RevocationFeed, RevokedSessions, declare_guest_refusals
from parley_security.revocations import REVOCATION_CHANNEL, REVOCATION_EVENTS

#: The OpenAPI document's description: what a reader needs before the operations.
DESCRIPTION = api_description(
    "Meetings: create, list, get, join, end, schedule, reschedule, cancel; the caller's membership and the live roster. "
    "Direct calls: place, accept, decline, cancel, end, list. "
    "Webhooks: register endpoints for the events of the meetings one hosts, read and replay their delivery log "
    "(signed as Standard Webhooks says; docs/webhooks.md). "
    "Applications call it with an API key (`X-API-Key: parley_sk_…`, created at `POST /api/auth/keys`) that acts for its "
    "owner within its scopes: `meetings:read` for the reads, `meetings:write` for the changes (403 `insufficient_scope` otherwise)."
)

SERVICE = "meetings"

log = logging.getLogger(__name__)


def webhook_http_client(settings: Settings) -> httpx.AsyncClient:
    """The client webhooks are sent with: the settings' timeout, no redirects followed (a
    redirect could lead past the destination checks), no proxy from the environment."""
    return httpx.AsyncClient(
        timeout=settings.webhook_timeout_s,
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": "Parley-Webhooks/1"},
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: API, health, metrics, Kafka consumers, outbox relay, the expiry
    sweeper of empty meetings (:mod:`parley_meetings.domain.expiry`) and the webhook
    delivery worker (:mod:`parley_meetings.domain.webhook_delivery`).

    ``/readyz`` checks MongoDB (``ping``) and Kafka (cluster metadata). It does not check
    the JWKS of auth: tokens verify with cached keys while auth restarts, and a meetings
    replica that cannot verify a token answers 401 for that request only.
    """
    settings = settings or Settings()
    configure_logging(SERVICE, settings.log_level)
    registry = CollectorRegistry()
    # aiokafka logs each retry while Kafka is away: once per kind here (parley_events.kafka_logs)
    kafka_logs = KafkaLogGate(kafka_log_records_held(registry))
    metrics = MeetingsMetrics(registry)
    webhook_metrics = WebhookMetrics(registry)
    kafka = build_router(settings)
    kafka.broker.add_middleware(ConsumerLag(registry).middleware())
    outbox_metrics = OutboxMetrics(registry)
    # tokens of a revoked session (auth's session.revoked) are refused: parley_security.revocations
    revocations = RevocationFeed(kafka, RevokedSessions())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo: AsyncMongoClient = AsyncMongoClient(
            settings.mongo_uri, tz_aware=True, **settings.mongo_client_options()
        )
        app.state.mongo = mongo
        if getattr(app.state, "verifier", None) is None:
            app.state.verifier = JwksVerifier.from_settings(settings)
        app.state.verifier.instrument(registry)
        repository = MeetingRepository(mongo[settings.mongo_database])
        await repository.ensure_indexes()
        calls_repository = CallRepository(mongo[settings.mongo_database])
        await calls_repository.ensure_indexes()
        api_keys = ApiKeyProjection(mongo[settings.mongo_database])
        await api_keys.ensure_indexes()
        app.state.api_keys = api_keys
        app.state.relay = outbox_relay(
            kafka,
            [repository.meetings, calls_repository.calls, api_keys.collection],
            settings.outbox_poll_interval_s,
            outbox_metrics.of("events"),
        )
        app.state.api_key_authenticator = ApiKeyAuthenticator(
            api_keys, clock=utc_now, on_event_staged=app.state.relay.notify
        )
        summaries = SummaryCache(
            repository.summary,
            size=settings.summary_cache_size,
            ttl_s=settings.summary_cache_ttl_s,
            on_read=lambda result: metrics.summary_reads.labels(result).inc(),
        )
        app.state.meetings = Meetings(
            repository,
            metrics,
            notify=app.state.relay.notify,
            summaries=summaries,
            join_lead=timedelta(minutes=settings.join_lead_minutes),
            empty_timeout=timedelta(seconds=settings.meeting_empty_timeout_s),
        )
        app.state.calls = Calls(
            calls_repository,
            repository,
            repository.processed,
            notify=app.state.relay.notify,
            forget_summary=summaries.forget,
            ring_timeout=timedelta(seconds=settings.call_ring_timeout_s),
            arrival_timeout=timedelta(seconds=settings.call_arrival_timeout_s),
        )
        app.state.meetings.on_room_emptied = app.state.calls.room_emptied
        ring_sweeper = Sweeper("ring", app.state.calls.expire_due, settings.call_sweep_interval_s)
        ringing = asyncio.create_task(ring_sweeper.run(), name="ring-sweeper")
        idempotency_store = MongoIdempotencyStore(mongo[settings.mongo_database])
        await idempotency_store.ensure_indexes()
        app.state.idempotency = Idempotency(
            idempotency_store, ttl=timedelta(hours=settings.idempotency_ttl_hours), clock=utc_now
        )
        feeds = CalendarFeedRepository(mongo[settings.mongo_database])
        await feeds.ensure_indexes()
        app.state.calendar_feeds = CalendarFeeds(feeds, utc_now)
        expiry_sweeper = Sweeper("expiry", app.state.meetings.expire_due, settings.expiry_sweep_interval_s)
        sweeping = asyncio.create_task(expiry_sweeper.run(), name="expiry-sweeper")
        webhook_repository = WebhookRepository(mongo[settings.mongo_database])
        await webhook_repository.ensure_indexes()
        webhook_http = webhook_http_client(settings)
        worker = DeliveryWorker(
            webhook_repository,
            webhook_http,
            DeliveryConfig(
                environment=settings.environment,
                retry_base_s=settings.webhook_retry_base_s,
                poll_interval_s=settings.webhook_poll_interval_s,
                timeout_s=settings.webhook_timeout_s,
                lanes=settings.webhook_lanes,
            ),
            webhook_metrics,
            clock=utc_now,
        )
        app.state.webhooks = Webhooks(webhook_repository, environment=settings.environment, clock=utc_now, wake=worker.wake)

        async def host_of(meeting_id: str) -> str | None:
            summary = await repository.summary(meeting_id)
            return summary.host_id if summary else None

        app.state.webhook_dispatcher = WebhookDispatcher(webhook_repository, host_of, clock=utc_now, wake=worker.wake)
        delivering = asyncio.create_task(worker.run(), name="webhook-delivery")
        try:
            async with SurvivorFreezer(registry, settings.gc_thaw_seconds), kafka_logs:
                yield  # the Kafka router's lifespan (nested) starts the broker, then the relay
        finally:
            await stop_task(delivering)
            await webhook_http.aclose()
            await stop_task(sweeping)
            await stop_task(ringing)
            await store.aclose()
            await app.state.verifier.aclose()
            await mongo.close()
            write_directly()  # the stop's last lines, before uvicorn ends the process

    app = FastAPI(
        title="Parley meetings",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Parley's metrics are Prometheus (parley_observability); no OpenTelemetry provider is
        # configured, and FastAPI's per-request check for one was ~6% of a GET's CPU.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.revoked_sessions = revocations.revoked
    relay_while_broker_runs(kafka, lambda: app.state.relay)

    async def handle(events: list[ReceivedEvent]) -> list[str]:
        return await app.state.meetings.apply_participant_events(events)

    add_participant_consumer(
        kafka, settings, handle, on_malformed=metrics.roster_events.labels("other", "malformed").inc
    )
    async def handle_contacts(events: list[ReceivedEvent]) -> int:
        return await app.state.calls.apply_contact_events(events)

    add_contact_consumer(kafka, settings, handle_contacts, on_malformed=lambda: None)
    add_meeting_event_consumer(kafka, lambda meeting_id: app.state.meetings.forget_summary(meeting_id))
    add_api_key_consumer(kafka, settings, lambda: app.state.api_keys)

    async def handle_webhook_events(events: list[ReceivedEvent]) -> int:
        return await app.state.webhook_dispatcher.apply(events)

    add_webhook_consumer(kafka, settings, handle_webhook_events, on_malformed=lambda: None)

    async def mongo_ready() -> None:
        await app.state.mongo.admin.command("ping")

    store = StoreAvailability(SERVICE, registry, mongo_ready)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(SERVICE, registry), access_log=settings.access_log)
    install_api_error_handler(app)
    install_store_error_handler(app, store)
    # Routers are matched in this order, route by route, on every request. The calendar feed's
    # four routes come first: GET /api/meetings/calendar-feed would otherwise be taken for
    # GET /api/meetings/{meeting_id}. The meetings API (the hottest) follows at once.
    app.include_router(feed_router)
    app.include_router(api_router)
    app.include_router(moderation_router)
    app.include_router(public_router)
    app.include_router(call_router)
    app.include_router(webhook_router)
    operations = (feed_router, api_router, moderation_router, public_router, call_router, webhook_router)
    declare_guest_refusals(*operations)
    summarize_operations(*operations)
    app.include_router(health_router({"mongo": mongo_ready, "kafka": lambda: kafka_ready(kafka)}))
    app.include_router(metrics_router(registry))
    app.include_router(kafka)
    app.include_router(asyncapi_router(kafka, {**CONSUMES, REVOCATION_CHANNEL: REVOCATION_EVENTS}))
    document_api_key_header(app)
    document_webhooks(app)
    return app
