"""Login, registration and refresh throttling against the test stack's real FerretDB and Kafka.

Apps run in-process; the client address is the ASGI client each test chooses (behind Traefik
it is what uvicorn takes from X-Forwarded-For of a trusted proxy: tests/e2e/test_throttle.py).
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth_testkit import cheap_passwords, own_consumer_groups, start_groups_at_end
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from parley_auth.config import Settings
from parley_auth.domain.keys import generate_pem
from parley_auth.main import create_app
from parley_testing.lifespan import running
from parley_testing import Stack, drop_database

pytestmark = pytest.mark.integration

ADA = {"email": "ada@example.com", "display_name": "Ada", "password": "analytical engine"}
WRONG = {"email": ADA["email"], "password": "difference engine"}
RIGHT = {"email": ADA["email"], "password": ADA["password"]}

@pytest.fixture
async def apps(stack: Stack, unique_name: str, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await apps(**settings)`` starts one more auth replica on the same database."""
    key = tmp_path / "jwt.pem"
    key.write_bytes(generate_pem())
    started: list[str] = []  # instance ids
    async with AsyncExitStack() as exits:

        async def start(**overrides: Any) -> FastAPI:
            settings = Settings(
                environment="production",
                instance_id=unique_name,
                jwt_private_key_file=key,
                mongo_uri=stack.mongo_uri,
                mongo_database=unique_name,
                kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
                presence_offset_reset="latest",
                **own_consumer_groups(unique_name),  # shared by this test's replicas
                **overrides,
            )
            if not started:  # no member yet: the groups can be committed
                await start_groups_at_end(settings)
            started.append(settings.instance_id)
            app = create_app(settings, passwords=cheap_passwords())
            running_app = await exits.enter_async_context(running(app))
            return running_app

        yield start
    mongo: AsyncMongoClient = AsyncMongoClient(stack.mongo_uri)
    await drop_database(mongo, unique_name)
    await mongo.close()


def _http(app: FastAPI, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, client=(address, 40000)), base_url="http://auth.test")


def _assert_throttled(response: httpx.Response, window_s: int) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["detail"]["code"] == "too_many_attempts"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window_s
    return retry_after


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_50_wrong_passwords_are_throttled_per_account_and_address(apps: Callable[..., Any]) -> None:
    app = await apps()
    records = _Records()  # on the module's logger: create_app reconfigures the root logger
    logging.getLogger("parley_auth.throttle").addHandler(records)
    async with _http(app, "203.0.113.1") as attacker, _http(app, "198.51.100.9") as ada:
        assert (await attacker.post("/api/auth/register", json=ADA)).status_code == 201
        statuses = []
        for _ in range(50):
            response = await attacker.post("/api/auth/login", json=WRONG)
            statuses.append(response.status_code)
        assert statuses == [401] * 5 + [429] * 45
        _assert_throttled(response, 300)
        # Even the right password is not checked from there now...
        _assert_throttled(await attacker.post("/api/auth/login", json=RIGHT), 300)
        # ...but the account's owner, from her own address, is not locked out.
        assert (await ada.post("/api/auth/login", json=RIGHT)).status_code == 200
        metrics = (await ada.get("/metrics")).text
        assert 'parley_auth_throttled_total{action="login",scope="account_address"} 46.0' in metrics
    logging.getLogger("parley_auth.throttle").removeHandler(records)
    # One log line for the lockout, not one per refused attempt.
    assert len(records.messages) == 1, records.messages
    assert records.messages[0].startswith("login throttled per account_address")


async def test_guessing_spread_over_addresses_is_throttled_per_account(apps: Callable[..., Any]) -> None:
    app = await apps()
    async with _http(app, "192.0.2.200") as first:
        assert (await first.post("/api/auth/register", json=ADA)).status_code == 201
    statuses = []
    for n in range(24):  # 4 attempts from each of 6 addresses: no per-address limit is reached
        async with _http(app, f"192.0.2.{n // 4}") as http:
            statuses.append((await http.post("/api/auth/login", json=WRONG)).status_code)
    assert statuses == [401] * 20 + [429] * 4
    async with _http(app, "192.0.2.77") as fresh:
        _assert_throttled(await fresh.post("/api/auth/login", json=RIGHT), 900)
        # Another account is not affected.
        other = {**ADA, "email": "grace@example.com"}
        assert (await fresh.post("/api/auth/register", json=other)).status_code == 201
        assert (await fresh.post("/api/auth/login", json={"email": other["email"], "password": other["password"]})).status_code == 200


async def test_the_lockout_ends_with_its_window_and_a_success_restarts_the_count(apps: Callable[..., Any]) -> None:
    # a window long enough for three failed sign-ins on a loaded machine (argon2id each)
    app = await apps(login_limit_per_account_and_address="3/8 seconds")
    async with _http(app, "203.0.113.5") as http:
        assert (await http.post("/api/auth/register", json=ADA)).status_code == 201
        for _ in range(3):
            assert (await http.post("/api/auth/login", json=WRONG)).status_code == 401
        retry_after = _assert_throttled(await http.post("/api/auth/login", json=RIGHT), 8)
        # Refused attempts do not extend the window: keep hammering, then wait Retry-After.
        deadline = time.monotonic() + retry_after
        while time.monotonic() < deadline - 1.0:  # Retry-After is whole seconds, rounded up
            assert (await http.post("/api/auth/login", json=WRONG)).status_code == 429
            await asyncio.sleep(0.2)
        await asyncio.sleep(max(0.0, deadline - time.monotonic()) + 0.1)
        assert (await http.post("/api/auth/login", json=RIGHT)).status_code == 200
        # A success cleared the account's counters: three more failures are allowed.
        for _ in range(3):
            assert (await http.post("/api/auth/login", json=WRONG)).status_code == 401


async def test_login_register_and_refresh_are_throttled_per_client_address(apps: Callable[..., Any]) -> None:
    app = await apps(
        login_limit_per_address="4/minute", register_limit_per_address="3/minute", refresh_limit_per_address="3/minute"
    )
    async with _http(app, "203.0.113.9") as http, _http(app, "203.0.113.10") as neighbour:
        for n in range(3):
            response = await http.post("/api/auth/register", json={**ADA, "email": f"u{n}@example.com"})
            assert response.status_code == 201
        _assert_throttled(await http.post("/api/auth/register", json={**ADA, "email": "u9@example.com"}), 60)
        assert (await neighbour.post("/api/auth/register", json={**ADA, "email": "u9@example.com"})).status_code == 201

        # Logins from one address across accounts (password spraying): failures count, and a
        # success gives its attempt back.
        pair = (await http.post("/api/auth/login", json={"email": "u0@example.com", "password": ADA["password"]})).json()
        for n in range(4):
            response = await http.post("/api/auth/login", json={"email": f"u{n}@example.com", "password": "spray spray"})
            assert response.status_code == 401
        _assert_throttled(await http.post("/api/auth/login", json={"email": "u2@example.com", "password": ADA["password"]}), 60)

        token = pair["refresh_token"]
        for _ in range(3):
            response = await http.post("/api/auth/refresh", json={"refresh_token": token})
            assert response.status_code == 200
            token = response.json()["refresh_token"]
        _assert_throttled(await http.post("/api/auth/refresh", json={"refresh_token": token}), 60)
        assert (await neighbour.post("/api/auth/refresh", json={"refresh_token": token})).status_code == 200


async def test_replicas_share_the_throttle(apps: Callable[..., Any]) -> None:
    replicas = [await apps(), await apps()]
    clients = [_http(app, "203.0.113.20") for app in replicas]
    try:
        assert (await clients[0].post("/api/auth/register", json=ADA)).status_code == 201
        statuses = [(await clients[n % 2].post("/api/auth/login", json=WRONG)).status_code for n in range(8)]
        assert statuses == [401] * 5 + [429] * 3
    finally:
        for http in clients:
            await http.aclose()


async def test_a_parallel_burst_gets_no_more_guesses(apps: Callable[..., Any]) -> None:
    app = await apps()
    async with _http(app, "203.0.113.30") as http:
        assert (await http.post("/api/auth/register", json=ADA)).status_code == 201
        responses = await asyncio.gather(*(http.post("/api/auth/login", json=WRONG) for _ in range(30)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(401) <= 5
    assert statuses.count(429) >= 25


def test_the_openapi_document_declares_429_with_retry_after_and_the_password_refusals(tmp_path: Path) -> None:
    key = tmp_path / "jwt.pem"
    key.write_bytes(generate_pem())
    app = create_app(Settings(environment="production", jwt_private_key_file=key, mongo_database="auth"))
    paths = app.openapi()["paths"]
    for path in ("/api/auth/login", "/api/auth/register", "/api/auth/refresh"):
        answer = paths[path]["post"]["responses"]["429"]
        assert "too_many_attempts" in answer["description"]
        assert answer["headers"]["Retry-After"]["schema"]["type"] == "integer"
    register_422 = paths["/api/auth/register"]["post"]["responses"]["422"]["description"]
    for code in ("password_too_short", "password_too_common", "password_repetitive", "password_matches_account"):
        assert code in register_422
