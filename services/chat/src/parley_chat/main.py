"""The chat ASGI app: ``uvicorn --factory parley_chat.main:create_app``.

Tests may set ``app.state.verifier`` (a :class:`parley_security.JwksVerifier`) and
``app.state.meetings_client`` (a :class:`parley_security.MeetingsClient`) before the lifespan
starts; otherwise they are built from the settings.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from parley_chat.api.errors import install_error_handlers
from parley_chat.api.routes import router as api_router
from parley_chat.config import Settings
from parley_chat.domain.membership import RecentMemberships
from parley_chat.domain.notes import NotesService
from parley_chat.domain.service import Chat
from parley_chat.messaging import build_router, kafka_ready, outbox_relay
from parley_chat.metrics import ChatMetrics
from parley_chat.repository import MessageRepository, NotesRepository
from parley_observability import (
    HttpMetrics,
    HttpMetricsMiddleware,
    api_description,
    configure_logging,
    health_router,
    metrics_router,
)
from parley_events import asyncapi_router, relay_while_broker_runs
from parley_security import JwksVerifier, MeetingsClient

#: The OpenAPI document's description: what a reader needs before the operations.
DESCRIPTION = api_description(
    "A meeting's chat (post, history) and each participant's private notes."
)

SERVICE = "chat"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: API (messages and private notes), health, metrics and the outbox relay.

    ``/readyz`` checks MongoDB (``ping``) and Kafka (cluster metadata). Neither auth's JWKS
    nor meetings is a readiness check: both are other services that may restart; while
    meetings cannot be asked, posting and reading answer 503 ``unavailable`` per request.
    """
    settings = settings or Settings()
    configure_logging(SERVICE, settings.log_level)
    registry = CollectorRegistry()
    metrics = ChatMetrics(registry)
    kafka = build_router(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo: AsyncMongoClient = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
        app.state.mongo = mongo
        if getattr(app.state, "verifier", None) is None:
            app.state.verifier = JwksVerifier.from_settings(settings)
        app.state.verifier.instrument(registry)
        if getattr(app.state, "meetings_client", None) is None:
            app.state.meetings_client = MeetingsClient(settings.meetings_url)
        repository = MessageRepository(mongo[settings.mongo_database])
        await repository.ensure_indexes()
        app.state.relay = outbox_relay(kafka, repository.messages, settings.outbox_poll_interval_s)
        memberships = RecentMemberships(app.state.meetings_client, settings.membership_cache_s)
        app.state.chat = Chat(repository, memberships, metrics, notify=app.state.relay.notify)
        notes = NotesRepository(mongo[settings.mongo_database])
        app.state.notes = NotesService(notes, memberships, metrics)
        try:
            yield  # the Kafka router's lifespan (nested) starts the broker, then the relay
        finally:
            await app.state.meetings_client.aclose()
            await app.state.verifier.aclose()
            await mongo.close()

    app = FastAPI(title="Parley chat", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    relay_while_broker_runs(kafka, lambda: app.state.relay)

    async def mongo_ready() -> None:
        await app.state.mongo.admin.command("ping")

    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(SERVICE, registry))
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(health_router({"mongo": mongo_ready, "kafka": lambda: kafka_ready(kafka)}))
    app.include_router(metrics_router(registry))
    app.include_router(kafka)
    app.include_router(asyncapi_router(kafka))
    return app
