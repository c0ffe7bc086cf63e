"""auth's ASGI app: ``uvicorn --factory parley_auth.main:create_app``."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from parley_auth.api.api_keys import router as api_keys_router
from parley_auth.api.contacts import router as contacts_router
from parley_auth.api.guests import router as guests_router
from parley_auth.api_keys_repository import API_KEYS, MongoApiKeyStore
from parley_auth.domain.api_keys import ApiKeys
from parley_auth.api.routes import router as auth_router
from parley_auth.config import Settings
from parley_auth.contacts_repository import (
    CONTACTS,
    PRESENCE,
    PRESENCE_REPLICAS,
    MongoContactStore,
    MongoPresenceStore,
    ensure_contact_indexes,
)
from parley_auth.domain.accounts import Accounts
from parley_auth.domain.contacts import Contacts
from parley_auth.domain.guests import GuestMeetings
from parley_auth.guests_repository import GUEST_MEETINGS, MongoGuestMeetingStore
from parley_auth.domain.presence import PresenceProjection
from parley_auth.domain.keys import load_key_set
from parley_auth.domain.passwords import Passwords
from parley_auth.domain.tokens import AccessTokens
from parley_auth.messaging import (
    CONSUMES,
    add_api_key_use_consumer,
    add_guest_meetings_consumer,
    add_presence_consumer,
    add_session_activity_consumer,
    build_kafka_router,
    kafka_ready,
    outbox_relay,
)
from parley_auth.metrics import AuthMetrics
from parley_auth.repository import REFRESH_TOKENS, USERS, MongoRefreshTokenStore, MongoUserStore, ensure_indexes
from parley_auth.throttle import THROTTLE, Limits, MongoThrottleStorage, Throttle
from parley_observability.store import StoreAvailability, install_store_error_handler
from parley_events import KafkaLogGate, OutboxMetrics, asyncapi_router, kafka_log_records_held, relay_while_broker_runs
from parley_security import RevocationFeed, RevokedSessions, declare_guest_refusals
from parley_security.revocations import REVOCATION_CHANNEL, REVOCATION_EVENTS
from parley_observability import (
    HttpMetrics,
    HttpMetricsMiddleware,
    SurvivorFreezer,
    api_description,
    configure_logging,
    health_router,
    install_api_error_handler,
    metrics_router,
    summarize_operations,
    write_directly,
)

#: The OpenAPI document's description: what a reader needs before the operations.
DESCRIPTION = api_description(
    "Accounts and tokens: register, sign in, refresh (rotating), sign out, the signed-in user, and the JWKS that verifies access tokens; contacts (invitations, blocks) with their presence; guest tokens for meetings that allow guests; API keys (create, list, revoke) for applications."
)

SERVICE = "auth"


def create_app(settings: Settings | None = None, *, passwords: Passwords | None = None) -> FastAPI:
    """Build the app from ``settings`` (default: the environment).

    Loads the signing key (generating it only when ``PARLEY_ENVIRONMENT=local``) and the
    other published keys (key rotation: :mod:`parley_auth.domain.keys`). The
    lifespan creates the unique email index, connects Kafka, then runs the outbox relay.
    ``passwords`` replaces the argon2id hasher (tests use cheaper parameters).
    Readiness (``/readyz``): MongoDB answers ``ping`` and the Kafka broker is connected.
    """
    settings = settings or Settings()
    configure_logging(SERVICE, settings.log_level)
    keys = load_key_set(
        settings.jwt_private_key_file,
        settings.jwt_published_key_files,
        generate_if_missing=settings.environment == "local",
    )
    access_tokens = AccessTokens(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    mongo: AsyncMongoClient = AsyncMongoClient(settings.mongo_uri, tz_aware=True, **settings.mongo_client_options())
    db = mongo[settings.mongo_database]
    registry = CollectorRegistry()
    # aiokafka logs each retry while Kafka is away: once per kind here (parley_events.kafka_logs)
    kafka_logs = KafkaLogGate(kafka_log_records_held(registry))
    kafka = build_kafka_router(settings)
    relay = outbox_relay(kafka, [db[USERS], db[CONTACTS], db[PRESENCE], db[API_KEYS]], OutboxMetrics(registry).of("events"))
    throttle_storage = MongoThrottleStorage(db[THROTTLE])
    user_store = MongoUserStore(db[USERS])
    accounts = Accounts(
        user_store,
        MongoRefreshTokenStore(db[REFRESH_TOKENS]),
        passwords or Passwords(),
        access_tokens,
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
        session_policy=settings.session_policy,
        session_lease_seconds=settings.session_lease_seconds,
        on_event_staged=relay.notify,
    )
    add_session_activity_consumer(kafka, settings, accounts.sessions_active)
    # auth's own /me refuses tokens of revoked sessions like every other service
    revocations = RevocationFeed(kafka, RevokedSessions())
    contact_store = MongoContactStore(db[CONTACTS])
    presence_store = MongoPresenceStore(db[PRESENCE], db[PRESENCE_REPLICAS])
    contacts = Contacts(user_store, contact_store, presence_store, on_event_staged=relay.notify)
    add_presence_consumer(kafka, settings, PresenceProjection(presence_store, contact_store, on_event_staged=relay.notify))
    api_key_store = MongoApiKeyStore(db[API_KEYS])
    api_keys = ApiKeys(api_key_store, on_event_staged=relay.notify)
    add_api_key_use_consumer(kafka, settings, api_keys)
    guests = GuestMeetings(
        MongoGuestMeetingStore(db[GUEST_MEETINGS]), access_tokens, ttl_seconds=settings.guest_token_ttl_seconds
    )
    add_guest_meetings_consumer(kafka, settings, guests)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Outer lifespan; the Kafka router's lifespan (broker connect) runs inside it.
        try:
            await ensure_indexes(db)
            await ensure_contact_indexes(db)
            await throttle_storage.ensure_indexes()
            await api_key_store.ensure_indexes()
            async with SurvivorFreezer(registry, settings.gc_thaw_seconds), kafka_logs:
                yield
        finally:
            await store.aclose()
            await mongo.close()
            write_directly()  # the stop's last lines, before uvicorn ends the process

    relay_while_broker_runs(kafka, lambda: relay, name="auth-outbox-relay")

    async def mongo_ready() -> None:
        await mongo.admin.command("ping")

    async def broker_ready() -> None:
        await kafka_ready(kafka)

    app = FastAPI(title="Parley auth", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.keys = keys
    app.state.verifier = access_tokens
    app.state.accounts = accounts
    app.state.revoked_sessions = revocations.revoked
    app.state.contacts = contacts
    app.state.api_keys = api_keys
    app.state.guests = guests
    app.state.relay = relay
    app.state.auth_metrics = metrics = AuthMetrics(registry)
    app.state.throttle = Throttle(
        throttle_storage,
        Limits(
            login_per_address=settings.login_limit_per_address,
            login_per_account_and_address=settings.login_limit_per_account_and_address,
            login_per_account=settings.login_limit_per_account,
            register_per_address=settings.register_limit_per_address,
            refresh_per_address=settings.refresh_limit_per_address,
            guest_per_address=settings.guest_limit_per_address,
        ),
        on_refused=lambda action, scope: metrics.throttled.labels(action, scope).inc(),
    )
    store = StoreAvailability(SERVICE, registry, mongo_ready)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(SERVICE, registry), access_log=settings.access_log)
    install_api_error_handler(app)
    install_store_error_handler(app, store)
    app.include_router(health_router({"mongo": mongo_ready, "kafka": broker_ready}))
    app.include_router(metrics_router(registry))
    app.include_router(auth_router)
    app.include_router(contacts_router)
    app.include_router(guests_router)
    app.include_router(api_keys_router)
    declare_guest_refusals(auth_router, contacts_router, guests_router, api_keys_router)
    summarize_operations(auth_router, contacts_router, guests_router, api_keys_router)
    app.include_router(kafka)
    app.include_router(asyncapi_router(kafka, {**CONSUMES, REVOCATION_CHANNEL: REVOCATION_EVENTS}))
    return app
