"""The chat ASGI app: ``uvicorn --factory parley_chat.main:create_app``.

Tests may set ``app.state.verifier`` (a :class:`parley_security.JwksVerifier`) and
``app.state.meetings_client`` (a :class:`parley_security.MeetingsClient`, asked for what the
membership projection does not know) before the lifespan starts; otherwise they are built
from the settings.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from parley_chat.api.errors import install_error_handlers
from parley_chat.api.dm_routes import router as dm_router
from parley_chat.api.routes import router as api_router
from parley_chat.conversations_repository import ConversationRepository
from parley_chat.config import Settings
from parley_chat.domain.conversations import DirectMessages
from parley_chat.domain.notes import NotesService
from parley_chat.domain.post_limit import PostLimit
from parley_chat.domain.service import Chat
from parley_chat.messaging import CONSUMES, add_contact_projection, build_router, dm_relays, kafka_ready, message_relay
from parley_chat.metrics import ChatMetrics
from parley_chat.repository import MessageRepository, NotesRepository
from parley_observability import (
    HttpMetrics,
    HttpMetricsMiddleware,
    SurvivorFreezer,
    api_description,
    configure_logging,
    health_router,
    metrics_router,
    summarize_operations,
    write_directly,
)
from parley_events import (
    ConsumerLag,
    KafkaLogGate,
    OutboxMetrics,
    asyncapi_router,
    kafka_log_records_held,
    relay_while_broker_runs,
)
from parley_observability.store import StoreAvailability, install_store_error_handler
from parley_security import JwksVerifier, MeetingsClient
from parley_security import RevocationFeed, RevokedSessions, declare_guest_refusals
from parley_security.revocations import REVOCATION_CHANNEL, REVOCATION_EVENTS
from parley_security.membership_projection import (
    MEMBERSHIP_CHANNEL,
    PROJECTED_EVENTS,
    MembershipProjection,
    ProjectedMembership,
    ProjectionFeed,
)

#: The OpenAPI document's description: what a reader needs before the operations.
DESCRIPTION = api_description(
    "A meeting's chat (post, history), each participant's private notes, and direct messages "
    "between contacts (conversations, history, read marks)."
)

SERVICE = "chat"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: API (messages and private notes), health, metrics and the message relay.

    ``/readyz`` checks MongoDB (``ping``) and Kafka (cluster metadata). Neither auth's JWKS
    nor meetings is a readiness check: both are other services that may restart; while
    meetings cannot be asked, posting and reading answer 503 ``unavailable`` per request.
    """
    settings = settings or Settings()
    configure_logging(SERVICE, settings.log_level)
    registry = CollectorRegistry()
    # aiokafka logs each retry while Kafka is away: once per kind here (parley_events.kafka_logs)
    kafka_logs = KafkaLogGate(kafka_log_records_held(registry))
    metrics = ChatMetrics(registry)
    kafka = build_router(settings)
    kafka.broker.add_middleware(ConsumerLag(registry).middleware())
    outbox_metrics = OutboxMetrics(registry)
    projection = MembershipProjection()
    feed = ProjectionFeed(kafka, projection)
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
        if getattr(app.state, "meetings_client", None) is None:
            app.state.meetings_client = MeetingsClient(settings.meetings_url)
        membership = ProjectedMembership(projection, app.state.meetings_client, registry)
        repository = MessageRepository(mongo[settings.mongo_database])
        await repository.ensure_indexes()
        app.state.relay = message_relay(kafka, repository, settings.outbox_poll_interval_s, outbox_metrics.of("chat-messages"))
        post_limit = PostLimit(settings.chat_post_limit_per_user)
        app.state.chat = Chat(repository, membership, metrics, publish=app.state.relay.stored, post_limit=post_limit)
        conversations = ConversationRepository(mongo[settings.mongo_database])
        await conversations.ensure_indexes()
        app.state.conversations = conversations
        app.state.dm_relay, app.state.read_relay = dm_relays(kafka, conversations, settings, outbox_metrics)
        app.state.direct_messages = DirectMessages(
            conversations,
            metrics,
            publish=app.state.dm_relay.stored,
            notify=app.state.read_relay.notify,
            post_limit=post_limit,
        )
        notes = NotesRepository(mongo[settings.mongo_database])
        app.state.notes = NotesService(notes, membership, metrics)
        try:
            async with SurvivorFreezer(registry, settings.gc_thaw_seconds), kafka_logs:
                yield  # the Kafka router's lifespan (nested) starts the broker, then the relay
        finally:
            await store.aclose()
            await app.state.meetings_client.aclose()
            await app.state.verifier.aclose()
            await mongo.close()
            write_directly()  # the stop's last lines, before uvicorn ends the process

    app = FastAPI(title="Parley chat", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.revoked_sessions = revocations.revoked
    relay_while_broker_runs(kafka, lambda: app.state.relay, name="chat-relay-sweep")
    relay_while_broker_runs(kafka, lambda: app.state.dm_relay, name="chat-dm-relay-sweep")
    relay_while_broker_runs(kafka, lambda: app.state.read_relay, name="chat-dm-read-relay")
    add_contact_projection(kafka, settings, lambda: app.state.conversations)

    @kafka.after_startup
    async def start_projection(app: FastAPI) -> None:
        feed.start()

    @kafka.on_broker_shutdown
    async def stop_projection(app: FastAPI) -> None:
        await feed.stop()

    async def mongo_ready() -> None:
        await app.state.mongo.admin.command("ping")

    store = StoreAvailability(SERVICE, registry, mongo_ready)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(SERVICE, registry), access_log=settings.access_log)
    install_error_handlers(app)
    install_store_error_handler(app, store)
    app.include_router(api_router)
    app.include_router(dm_router)
    declare_guest_refusals(api_router, dm_router)
    summarize_operations(api_router, dm_router)
    app.include_router(health_router({"mongo": mongo_ready, "kafka": lambda: kafka_ready(kafka)}))
    app.include_router(metrics_router(registry))
    app.include_router(kafka)
    app.include_router(asyncapi_router(kafka, {MEMBERSHIP_CHANNEL: PROJECTED_EVENTS, REVOCATION_CHANNEL: REVOCATION_EVENTS, **CONSUMES}))
    return app
