"""HTTP RED metrics (rate, errors, duration) labelled by route template, and ``/metrics``.

Each app owns a :class:`prometheus_client.CollectorRegistry`, so tests can build many apps in
one process. Metric names follow docs/metrics.md.
"""

import time

from fastapi import APIRouter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Label value for requests that matched no route (never the raw path: unbounded cardinality).
UNMATCHED_ROUTE = "<unmatched>"


class HttpMetrics:
    """The HTTP metrics of one service, registered in ``registry``."""

    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        self.service = service
        self.registry = registry
        labels = ("service", "method", "route", "status")
        self.requests = Counter(
            "parley_http_requests_total",
            "HTTP requests served, by route template and status code.",
            labels,
            registry=registry,
        )
        self.duration = Histogram(
            "parley_http_request_duration_seconds",
            "Time to serve an HTTP request, in seconds, by route template.",
            ("service", "method", "route"),
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        ProcessCollector(registry=registry)


class HttpMetricsMiddleware:
    """ASGI middleware that counts and times every HTTP request into :class:`HttpMetrics`.

    Use: ``app.add_middleware(HttpMetricsMiddleware, metrics=metrics)``.
    """

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            # FastAPI's router puts the matched route into the (shared) scope.
            template = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            method = scope["method"]
            service = self.metrics.service
            self.metrics.requests.labels(service, method, template, str(status)).inc()
            self.metrics.duration.labels(service, method, template).observe(
                time.perf_counter() - start
            )


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    """``GET /metrics``: the registry in the Prometheus text exposition format."""
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
