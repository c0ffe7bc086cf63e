"""The database cannot be reached: 503 ``unavailable`` with ``Retry-After``, counted, logged once.

A request whose MongoDB operation fails because the store is unavailable (PyMongo's
``ConnectionFailure`` family: ``AutoReconnect``, ``NetworkTimeout``,
``ServerSelectionTimeoutError``, ``WaitQueueTimeoutError``; any ``PyMongoError`` flagged as a
timeout; an ``OperationFailure`` whose server code means "not reachable / shutting down /
cannot serve now", which is how FerretDB answers while its PostgreSQL is down) is answered
``503 {"detail": {"code": "unavailable", "message"}}`` with ``Retry-After: <seconds>``
(RFC 9110 §10.2.3), the error model of :mod:`parley_observability.errors`, instead of
Starlette's plain-text ``500 Internal Server Error``. Any other ``PyMongoError`` still
reaches the server's error handler (a 500: a bug, not an outage).

:class:`StoreAvailability` keeps the state: the first refused request logs one WARNING and
starts a probe (the service's readiness check of the store, every ``probe_interval_s``);
the probe's first success logs one INFO with the outage's length and the number of refused
requests. Metrics (docs/metrics.md): ``parley_store_unavailable_responses_total`` and
``parley_store_available`` (1 or 0, as last seen by a request or the probe).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from parley_observability.tasks import stop_task

log = logging.getLogger(__name__)

#: Server error codes (MongoDB's error_codes.yml) that mean the store cannot serve right now.
UNAVAILABLE_CODES = frozenset(
    {
        1,  # InternalError: FerretDB's answer when its PostgreSQL backend cannot be reached
        6,  # HostUnreachable
        7,  # HostNotFound
        89,  # NetworkTimeout
        91,  # ShutdownInProgress
        189,  # PrimarySteppedDown
        262,  # ExceededTimeLimit
        9001,  # SocketException
        10107,  # NotWritablePrimary
        11600,  # InterruptedAtShutdown
        11602,  # InterruptedDueToReplStateChange
        13435,  # NotPrimaryNoSecondaryOk
        13436,  # NotPrimaryOrSecondary
    }
)

#: The 503's description for OpenAPI (``error_responses({503: STORE_503})``).
STORE_503 = "`unavailable`: the service's database cannot be reached right now; retry after `Retry-After` seconds"

Probe = Callable[[], Awaitable[object]]


def is_store_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the store is unreachable or cannot serve now (not a bug)."""
    if isinstance(exc, ConnectionFailure):
        return True
    if isinstance(exc, OperationFailure) and exc.code in UNAVAILABLE_CODES:
        return True
    return isinstance(exc, PyMongoError) and exc.timeout


class StoreAvailability:
    """The store's availability as this process sees it; counts refusals, logs state changes.

    ``probe`` is awaited (it raises while the store is unavailable) every ``probe_interval_s``
    seconds after a refusal, until it succeeds. ``retry_after_s`` is the ``Retry-After`` value.
    """

    def __init__(
        self,
        service: str,
        registry: CollectorRegistry,
        probe: Probe,
        *,
        retry_after_s: int = 2,
        probe_interval_s: float = 1.0,
    ) -> None:
        self.service = service
        self.retry_after_s = retry_after_s
        self._probe = probe
        self._probe_interval_s = probe_interval_s
        self.available = True
        self._since = 0.0
        self._refused = 0
        self._task: asyncio.Task[None] | None = None
        self.refusals = Counter(
            "parley_store_unavailable_responses_total",
            "Requests answered 503 because the service's database could not be reached.",
            ("service",),
            registry=registry,
        )
        self.gauge = Gauge(
            "parley_store_available",
            "1 while the service's database answers, 0 from a request it failed until a probe succeeds.",
            ("service",),
            registry=registry,
        )
        self.gauge.labels(service).set(1)
        self.refusals.labels(service)  # pre-created at 0: a service that never refused has the series

    def refused(self, exc: BaseException) -> None:
        """Count one refused request; on the change to unavailable, log once and start probing."""
        self.refusals.labels(self.service).inc()
        self._refused += 1
        if not self.available:
            return
        self.available = False
        self._since = time.monotonic()
        self.gauge.labels(self.service).set(0)
        log.warning("database unavailable (%s: %s); answering 503 until it is back", type(exc).__name__, exc)
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to probe with
            self._task = asyncio.get_running_loop().create_task(self._probe_until_back())

    async def _probe_until_back(self) -> None:
        while True:
            await asyncio.sleep(self._probe_interval_s)
            try:
                await self._probe()
            except Exception:  # noqa: BLE001 - still down; the change was logged already
                continue
            log.info(
                "database available again after %.1fs; %d requests were answered 503",
                time.monotonic() - self._since,
                self._refused,
            )
            self._refused = 0
            self.available = True
            self.gauge.labels(self.service).set(1)
            return

    async def aclose(self) -> None:
        """Stop probing (app shutdown)."""
        if self._task is not None:
            await stop_task(self._task)
            self._task = None


def install_store_error_handler(app: FastAPI, availability: StoreAvailability) -> None:
    """Answer a store-unavailable ``PyMongoError`` raised in ``app`` with 503 (see module doc)."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        if not is_store_unavailable(exc):
            raise exc  # a bug: the server's 500, logged with its traceback
        availability.refused(exc)
        return JSONResponse(
            {"detail": {"code": "unavailable", "message": "the database is unavailable; retry shortly"}},
            status_code=503,
            headers={"Retry-After": str(availability.retry_after_s)},
        )

    app.add_exception_handler(PyMongoError, handler)
