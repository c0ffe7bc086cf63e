import asyncio
import logging

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from parley_observability.store import StoreAvailability, install_store_error_handler, is_store_unavailable

STORE_LOGGER = "parley_observability.store"  # the module's logger: other records (httpx's) are not its


class Store:
    """What the app's routes and the probe see: up or down."""

    def __init__(self) -> None:
        self.error: Exception | None = None

    async def probe(self) -> None:
        if self.error is not None:
            raise self.error


def app_with(store: Store, registry: CollectorRegistry) -> tuple[FastAPI, StoreAvailability]:
    app = FastAPI()
    availability = StoreAvailability("svc", registry, store.probe, retry_after_s=3, probe_interval_s=0.01)
    install_store_error_handler(app, availability)

    @app.get("/read")
    async def read() -> dict:
        await store.probe()
        return {"ok": True}

    @app.get("/bug")
    async def bug() -> dict:
        raise DuplicateKeyError("E11000 duplicate key")

    return app, availability


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.mark.parametrize(
    "error",
    [
        AutoReconnect("connection refused"),
        ServerSelectionTimeoutError("no servers"),
        NetworkTimeout("timed out"),
        OperationFailure("pg: connection refused", code=1),
    ],
)
def test_errors_that_mean_the_store_is_down(error: Exception) -> None:
    assert is_store_unavailable(error)


def test_other_errors_are_not_outages() -> None:
    assert not is_store_unavailable(DuplicateKeyError("E11000"))
    assert not is_store_unavailable(OperationFailure("bad query", code=2))
    assert not is_store_unavailable(ValueError("x"))


async def test_an_unavailable_store_is_a_503_with_the_error_body_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, registry = Store(), CollectorRegistry()
    app, availability = app_with(store, registry)
    caplog.set_level(logging.INFO, logger=STORE_LOGGER)
    # pre-created: the series exists (0) before any refusal (dashboards, docs/metrics.md)
    assert registry.get_sample_value("parley_store_unavailable_responses_total", {"service": "svc"}) == 0
    store.error = AutoReconnect("127.0.0.1:27017: [Errno 111] Connection refused")
    async with client(app) as http:
        answers = [await http.get("/read") for _ in range(3)]
        for response in answers:
            assert response.status_code == 503
            assert response.headers["retry-after"] == "3"
            assert response.json() == {
                "detail": {"code": "unavailable", "message": "the database is unavailable; retry shortly"}
            }
        assert registry.get_sample_value("parley_store_unavailable_responses_total", {"service": "svc"}) == 3
        assert registry.get_sample_value("parley_store_available", {"service": "svc"}) == 0
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == STORE_LOGGER]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]

        store.error = None
        for _ in range(1500):  # the probe's recovery: generous, the machine may be loaded
            if availability.available:
                break
            await asyncio.sleep(0.01)
        assert availability.available
        assert registry.get_sample_value("parley_store_available", {"service": "svc"}) == 1
        infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name == STORE_LOGGER]
        assert len(infos) == 1 and "3 requests were answered 503" in infos[0], infos
        assert (await http.get("/read")).status_code == 200
    await availability.aclose()


async def test_a_database_bug_stays_a_500() -> None:
    app, availability = app_with(Store(), CollectorRegistry())
    async with client(app) as http:
        response = await http.get("/bug")
    assert response.status_code == 500
    assert availability.available
