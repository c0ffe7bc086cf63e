"""The web service's ASGI app: ``uvicorn --factory parley_web.main:create_app``."""

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from parley_observability import (
    HttpMetrics,
    HttpMetricsMiddleware,
    configure_logging,
    health_router,
    metrics_router,
)
from parley_web.api.edge_errors import router as edge_errors_router
from parley_web.api.routes import router as client_router
from parley_web.config import Settings
from parley_web.domain.spa import is_built

SERVICE = "web"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from ``settings`` (default: the environment).

    Routes: ``/healthz``, ``/readyz`` (ready when ``$PARLEY_WEB_DIST/index.html`` exists),
    ``/metrics``, the edge's error pages (``/_parley/errors/...``, :mod:`parley_web.api.edge_errors`),
    then every other GET/HEAD served from the built client (see :mod:`parley_web.api.routes`). The health and metrics routes are declared first, so the
    catch-all never shadows them; Traefik does not route them publicly.
    """
    settings = settings or Settings()
    configure_logging(SERVICE, settings.log_level)

    async def client_built() -> None:
        if not is_built(settings.web_dist):
            raise FileNotFoundError(f"no index.html in {settings.web_dist}")

    app = FastAPI(title="Parley web", version="1", docs_url=None, redoc_url=None, openapi_url=None)
    registry = CollectorRegistry()
    app.state.settings = settings
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(SERVICE, registry), access_log=settings.access_log)
    app.include_router(health_router({"client": client_built}))
    app.include_router(metrics_router(registry))
    app.include_router(edge_errors_router)
    app.include_router(client_router)
    return app
