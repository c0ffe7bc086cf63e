import threading

import httpx
import pytest
from fastapi import FastAPI, Response
from prometheus_client import CollectorRegistry

from parley_observability import HttpMetrics, HttpMetricsMiddleware, health_router, metrics_router


def _app(checks=None, access_log="all") -> tuple[FastAPI, CollectorRegistry]:
    registry = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics("demo", registry), access_log=access_log)
    app.include_router(health_router(checks or {}))
    app.include_router(metrics_router(registry))

    @app.get("/api/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    return app, registry


async def test_requests_are_labelled_by_route_template_never_raw_path() -> None:
    app, registry = _app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        await client.get("/api/things/alice")
        await client.get("/api/things/bob")
        await client.get("/nowhere/secret-user-id")
        body = (await client.get("/metrics")).text

    labels = {"service": "demo", "method": "GET", "route": "/api/things/{thing_id}", "status": "200"}
    assert registry.get_sample_value("parley_http_requests_total", labels) == 2
    unmatched = {**labels, "route": "<unmatched>", "status": "404"}
    assert registry.get_sample_value("parley_http_requests_total", unmatched) == 1
    assert "alice" not in body and "secret-user-id" not in body
    assert "parley_http_request_duration_seconds_bucket" in body


class ThreadOfCollection:
    """A collector that notes the thread each collection runs in."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def collect(self):
        self.threads.append(threading.get_ident())
        return []


async def test_metrics_are_collected_off_the_event_loop_thread() -> None:
    app, registry = _app()
    witness = ThreadOfCollection()
    registry.register(witness)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert "parley_http_requests_total" in response.text
    # the process collector lists /proc/self/fd: 11 ms at 10,000 sockets, not on the loop
    assert witness.threads and threading.get_ident() not in witness.threads


async def test_readyz_reports_each_failing_check_with_503() -> None:
    async def ok() -> None:
        return None

    async def broken() -> None:
        raise ConnectionError("mongo unreachable")

    app, _ = _app({"kafka": ok, "mongo": broken})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")

    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["kafka"] == "ok"
    assert "mongo unreachable" in ready.json()["checks"]["mongo"]


async def test_every_request_is_access_logged_once_with_status_and_duration(caplog) -> None:
    import logging
    import re

    from parley_observability import ACCESS_LOGGER

    app, _ = _app()
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        await client.get("/api/things/alice?x=1")
        await client.post("/api/things/alice")
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert len(lines) == 2
    assert re.fullmatch(r'\S+ "GET /api/things/alice\?x=1 HTTP/1.1" 200 \d+\.\dms', lines[0]), lines[0]
    assert re.fullmatch(r'\S+ "POST /api/things/alice HTTP/1.1" 405 \d+\.\dms', lines[1]), lines[1]


@pytest.mark.parametrize("access_log", ["all", "errors"])
async def test_a_request_that_fails_is_logged_and_counted_as_500(caplog, access_log) -> None:
    import logging

    from parley_observability import ACCESS_LOGGER

    app, registry = _app(access_log=access_log)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/boom")).status_code == 500
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert len(lines) == 1 and '"GET /boom HTTP/1.1" 500 ' in lines[0], lines
    labels = {"service": "demo", "method": "GET", "route": "/boom", "status": "500"}
    assert registry.get_sample_value("parley_http_requests_total", labels) == 1


async def test_by_default_only_requests_answered_5xx_are_logged_and_every_one_is_counted(caplog) -> None:
    import logging

    from parley_observability import ACCESS_LOGGER

    registry = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics("demo", registry))

    @app.get("/status/{code}")
    async def answer(code: int) -> Response:
        return Response(status_code=code)

    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        for code in (200, 404, 499, 500, 503):
            assert (await client.get(f"/status/{code}")).status_code == code
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert [line.split('" ')[1].split()[0] for line in lines] == ["500", "503"], lines
    for code in (200, 404, 499, 500, 503):
        labels = {"service": "demo", "method": "GET", "route": "/status/{code}", "status": str(code)}
        assert registry.get_sample_value("parley_http_requests_total", labels) == 1, code


async def test_the_access_log_can_be_left_to_the_server(caplog) -> None:
    import logging

    from parley_observability import ACCESS_LOGGER

    app, _ = _app(access_log="off")
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        await client.get("/healthz")
        await client.get("/nowhere")
    assert not [r for r in caplog.records if r.name == ACCESS_LOGGER]
