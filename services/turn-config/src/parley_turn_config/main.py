"""turn-config's ASGI app: ``uvicorn --factory parley_turn_config.main:create_app``."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from parley_events import ConsumerLag, KafkaLogGate, asyncapi_router, kafka_log_records_held, service_router

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
from parley_security import JwksVerifier, RevocationFeed, RevokedSessions
from parley_security.revocations import REVOCATION_CHANNEL, REVOCATION_EVENTS
from parley_turn_config.api.routes import router as turn_router
from parley_turn_config.config import Settings
from parley_turn_config.metrics import TurnMetrics

#: The OpenAPI document's description: what a reader needs before the operations.
DESCRIPTION = api_description("Short-lived TURN REST API credentials for the signed-in user.")

SERVICE = "turn-config"


def create_app(settings: Settings | None = None, *, verifier: JwksVerifier | None = None) -> FastAPI:
    """Build the app from ``settings`` (default: the environment).

    ``verifier`` replaces the JWKS verifier built from the settings (tests inject one).
    Readiness (``/readyz``) checks that auth's JWKS was fetched (auth down afterwards does not
    matter: the keys held still verify tokens; ``JwksVerifier.ready``). Kafka is read for one
    thing, auth's ``session.revoked`` events (tokens of a revoked session are refused:
    parley_security.revocations), and is not a readiness check: the app starts once Kafka
    answers, like every service, and then keeps issuing credentials through a Kafka outage
    (a revocation made meanwhile is applied when Kafka is back).
    """
    settings = settings or Settings()
    configure_logging(SERVICE, settings.log_level)
    verifier = verifier or JwksVerifier.from_settings(settings)
    registry = CollectorRegistry()
    # aiokafka logs each retry while Kafka is away: once per kind here (parley_events.kafka_logs)
    kafka_logs = KafkaLogGate(kafka_log_records_held(registry))
    kafka = service_router(
        settings.kafka_bootstrap_servers,
        client_id=f"parley-turn-config-{settings.instance_id}",
        description="Parley turn-config: reads session.revoked (publishes nothing)",
    )
    kafka.broker.add_middleware(ConsumerLag(registry).middleware())
    revocations = RevocationFeed(kafka, RevokedSessions())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with SurvivorFreezer(registry, settings.gc_thaw_seconds), kafka_logs:
                yield
        finally:
            await verifier.aclose()
            write_directly()  # the stop's last lines, before uvicorn ends the process

    app = FastAPI(title="Parley turn-config", version="1", description=DESCRIPTION, lifespan=lifespan)
    verifier.instrument(registry)
    app.state.settings = settings
    app.state.revoked_sessions = revocations.revoked
    app.state.verifier = verifier
    app.state.turn_metrics = TurnMetrics(registry)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(SERVICE, registry), access_log=settings.access_log)
    install_api_error_handler(app)
    app.include_router(health_router({"jwks": verifier.ready}))
    app.include_router(metrics_router(registry))
    app.include_router(turn_router)
    summarize_operations(turn_router)
    app.include_router(kafka)
    app.include_router(asyncapi_router(kafka, {REVOCATION_CHANNEL: REVOCATION_EVENTS}))
    return app
