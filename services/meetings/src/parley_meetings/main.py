"""The meetings ASGI app: ``uvicorn --factory parley_meetings.main:create_app``.

Tests may set ``app.state.verifier`` (a :class:`parley_security.JwksVerifier`) before the
lifespan starts; otherwise one is built from the settings.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from parley_events import ConsumerLag, OutboxMetrics, ReceivedEvent, asyncapi_router, relay_while_broker_runs
from parley_meetings.api.routes import router as api_router
from parley_meetings.config import Settings
from parley_meetings.domain.service import Meetings
from parley_meetings.domain.summaries import SummaryCache
from parley_meetings.messaging import (
    CONSUMES,
    add_meeting_event_consumer,
    add_participant_consumer,
    build_router,
    kafka_ready,
    outbox_relay,
)
from parley_meetings.metrics import MeetingsMetrics
from parley_meetings.repository import MeetingRepository
from parley_observability import (
    HttpMetrics,
    HttpMetricsMiddleware,
    api_description,
    configure_logging,
    health_router,
    install_api_error_handler,
    metrics_router,
)
from parley_observability.store import StoreAvailability, install_store_error_handler
from parley_security import JwksVerifier

#: The OpenAPI document's description: what a reader needs before the operations.
DESCRIPTION = api_description(
    "Meetings: create, list, get, join, end; the caller's membership and the live roster."
)

SERVICE = "meetings"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: API, health, metrics, Kafka consumer and outbox relay.

    ``/readyz`` checks MongoDB (``ping``) and Kafka (cluster metadata). It does not check
    the JWKS of auth: tokens verify with cached keys while auth restarts, and a meetings
    replica that cannot verify a token answers 401 for that request only.
    """
    settings = settings or Settings()
    configure_logging(SERVICE, settings.log_level)
    registry = CollectorRegistry()
    metrics = MeetingsMetrics(registry)
    kafka = build_router(settings)
    kafka.broker.add_middleware(ConsumerLag(registry).middleware())
    outbox_metrics = OutboxMetrics(registry)

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
        app.state.relay = outbox_relay(
            kafka, repository.meetings, settings.outbox_poll_interval_s, outbox_metrics
        )
        summaries = SummaryCache(
            repository.summary,
            size=settings.summary_cache_size,
            ttl_s=settings.summary_cache_ttl_s,
            on_read=lambda result: metrics.summary_reads.labels(result).inc(),
        )
        app.state.meetings = Meetings(repository, metrics, notify=app.state.relay.notify, summaries=summaries)
        try:
            yield  # the Kafka router's lifespan (nested) starts the broker, then the relay
        finally:
            await store.aclose()
            await app.state.verifier.aclose()
            await mongo.close()

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
    relay_while_broker_runs(kafka, lambda: app.state.relay)

    async def handle(events: list[ReceivedEvent]) -> list[str]:
        return await app.state.meetings.apply_participant_events(events)

    add_participant_consumer(
        kafka, settings, handle, on_malformed=metrics.roster_events.labels("other", "malformed").inc
    )
    add_meeting_event_consumer(kafka, lambda meeting_id: app.state.meetings.forget_summary(meeting_id))

    async def mongo_ready() -> None:
        await app.state.mongo.admin.command("ping")

    store = StoreAvailability(SERVICE, registry, mongo_ready)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(SERVICE, registry))
    install_api_error_handler(app)
    install_store_error_handler(app, store)
    app.include_router(api_router)
    app.include_router(health_router({"mongo": mongo_ready, "kafka": lambda: kafka_ready(kafka)}))
    app.include_router(metrics_router(registry))
    app.include_router(kafka)
    app.include_router(asyncapi_router(kafka, CONSUMES))
    return app
