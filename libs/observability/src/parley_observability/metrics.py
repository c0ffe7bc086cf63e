"""HTTP RED metrics (rate, errors, duration) labelled by route template, and ``/metrics``.

Each app owns a :class:`prometheus_client.CollectorRegistry`, so tests can build many apps in
one process. Metric names follow docs/metrics.md.
"""

import logging
import time
from typing import Any, Literal

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

from parley_observability.gc_pauses import GcPauseCollector

#: The logger of the access log (one INFO line per HTTP request, see HttpMetricsMiddleware).
ACCESS_LOGGER = "parley.access"
access_log = logging.getLogger(ACCESS_LOGGER)
#: Which requests the access log records: every one, those answered 5xx, or none.
AccessLog = Literal["all", "errors", "off"]

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
        GcPauseCollector(registry)


class HttpMetricsMiddleware:
    """Pure ASGI middleware that counts and times every HTTP request into :class:`HttpMetrics`
    and writes one access-log line per request.

    Use: ``app.add_middleware(HttpMetricsMiddleware, metrics=metrics, access_log=settings.access_log)``.
    The access log (logger :data:`ACCESS_LOGGER`, level INFO, one line when the response is
    complete: ``<client> "<METHOD> <path?query> HTTP/<version>" <status> <duration>ms``)
    replaces uvicorn's own, which the local stack turns off (``--no-access-log``).
    ``access_log`` (:data:`AccessLog`): ``"all"`` logs every request; ``"errors"`` (the
    default) only those answered 5xx, since Traefik's access log has every request at the edge
    and a line per request cost a busy replica 15–25 % of its CPU (bench/README.md); ``"off"``
    where uvicorn keeps logging (signaling). A request whose app raised before answering is
    logged and counted as 500.
    """

    def __init__(self, app: ASGIApp, metrics: HttpMetrics, access_log: AccessLog = "errors") -> None:
        self.app = app
        self.metrics = metrics
        # the lowest status logged: 0 for every request, 500 for errors, none when off
        self._logged_from = {"all": 0, "errors": 500, "off": None}[access_log]
        # (method, route, status) -> the labelled children: labels() takes a lock and builds
        # a key on every call, which the hot path need not pay twice per request.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _observe(self, method: str, template: str, status: int, seconds: float) -> None:
        key = (method, template, status)
        children = self._children.get(key)
        if children is None:
            service = self.metrics.service
            children = (
                self.metrics.requests.labels(service, method, template, str(status)),
                self.metrics.duration.labels(service, method, template),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

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
            seconds = time.perf_counter() - start
            # FastAPI's router puts the matched route into the (shared) scope.
            template = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            self._observe(scope["method"], template, status, seconds)
            logged_from = self._logged_from
            if logged_from is not None and status >= logged_from and access_log.isEnabledFor(logging.INFO):
                _log_access(scope, status, seconds)


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    client = scope.get("client")
    query = scope.get("query_string", b"")
    path = scope.get("path", "")
    if query:
        path = f"{path}?{query.decode('latin-1')}"
    access_log.info(
        '%s "%s %s HTTP/%s" %d %.1fms',
        f"{client[0]}:{client[1]}" if client else "-",
        scope["method"],
        path,
        scope.get("http_version", "1.1"),
        status,
        seconds * 1000,
    )


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    """``GET /metrics``: the registry in the Prometheus text exposition format.

    Collected in a worker thread (a plain ``def`` endpoint: FastAPI runs it in its thread
    pool), never on the event loop: the process collector counts the open file descriptors by
    listing ``/proc/self/fd``, 11 ms at 10,000 sockets, and the loop would stand still for
    that at every scrape (bench/README.md, "Metrics off the event loop")."""
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
