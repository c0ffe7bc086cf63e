"""turn-config's ASGI app: ``uvicorn --factory parley_turn_config.main:create_app``."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

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
)
from parley_security import JwksVerifier
from parley_turn_config.api.routes import router as turn_router
from parley_turn_config.config import Settings
from parley_turn_config.metrics import TurnMetrics

#: The OpenAPI document's description: what a reader needs before the operations.
DESCRIPTION = api_description(
    "Short-lived TURN REST API credentials for the signed-in user.", own_port_routes="`/healthz` and `/readyz`"
)

SERVICE = "turn-config"


def create_app(settings: Settings | None = None, *, verifier: JwksVerifier | None = None) -> FastAPI:
    """Build the app from ``settings`` (default: the environment).

    ``verifier`` replaces the JWKS verifier built from the settings (tests inject one).
    Readiness (``/readyz``) checks that auth's JWKS can be fetched.
    """
    settings = settings or Settings()
    configure_logging(SERVICE, settings.log_level)
    verifier = verifier or JwksVerifier.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with SurvivorFreezer(registry, settings.gc_thaw_seconds):
                yield
        finally:
            await verifier.aclose()

    app = FastAPI(title="Parley turn-config", version="1", description=DESCRIPTION, lifespan=lifespan)
    registry = CollectorRegistry()
    verifier.instrument(registry)
    app.state.settings = settings
    app.state.verifier = verifier
    app.state.turn_metrics = TurnMetrics(registry)
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(SERVICE, registry), access_log=settings.access_log)
    install_api_error_handler(app)
    app.include_router(health_router({"jwks": verifier.ready}))
    app.include_router(metrics_router(registry))
    app.include_router(turn_router)
    summarize_operations(turn_router)
    return app
