"""Rotating the signing key under traffic, with two auth replicas, refuses no valid token.

Two replicas of auth (in-process apps on the test stack's real FerretDB and Kafka, one
database) sit behind a round-robin "load balancer"; a verifier of another service
(parley_security's JwksVerifier) fetches the JWKS through it. While a client keeps signing in
and every token issued so far is checked, both by auth (``/me``) and by the verifier, an
operator rotates the key exactly as docs/operations.md says, restarting one replica at a time:

1. publish the next key (``PARLEY_JWT_PUBLISHED_KEY_FILES``) while the old one signs;
2. sign with the new key, publishing the old one as the previous key;
3. once every token of the old key expired, stop publishing it.

No token that is still valid may be refused at any moment, on any replica.
"""

import asyncio
import collections
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import jwt
import pytest
from auth_testkit import cheap_passwords, own_consumer_groups, start_groups_at_end
from pymongo import AsyncMongoClient

from parley_auth.config import Settings
from parley_auth.domain.keys import generate_pem, parse_signing_key
from parley_auth.main import create_app
from parley_security import InvalidToken, JwksVerifier
from parley_testing.lifespan import running
from parley_testing import Stack, drop_database, eventually

pytestmark = pytest.mark.integration

BASE = "http://auth.test"
TTL = 30  # access-token lifetime of this test (the minimum the settings allow), seconds
JWKS_CACHE = 0.5  # the verifier's JWKS cache, seconds; every step lasts longer (see below)
STEP = 2.0  # how long traffic runs between two restarts, seconds (> JWKS_CACHE)


class RoundRobin(httpx.AsyncBaseTransport):
    """A load balancer over the replicas that are up: each request goes to the next one."""

    def __init__(self) -> None:
        self.replicas: dict[str, httpx.ASGITransport] = {}
        self.in_flight: collections.Counter[str] = collections.Counter()
        self._turn = itertools.count()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        names = sorted(self.replicas)
        name = names[next(self._turn) % len(names)]
        self.in_flight[name] += 1
        try:
            response = await self.replicas[name].handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight[name] -= 1

    async def drain(self, name: str) -> None:
        """Take ``name`` out of rotation and wait for its requests in flight to finish."""
        del self.replicas[name]
        while self.in_flight[name]:
            await asyncio.sleep(0.01)


class Cluster:
    """Auth replicas ``a`` and ``b`` behind :class:`RoundRobin`, restarted one at a time."""

    def __init__(self, stack: Stack, database: str, tmp: Path) -> None:
        self.stack, self.database, self.tmp = stack, database, tmp
        self.balancer = RoundRobin()
        self._running: dict[str, AsyncExitStack] = {}
        self.started: set[str] = set()

    def settings(self, name: str, signing: Path, published: list[Path]) -> Settings:
        return Settings(
            environment="production",
            instance_id=f"{self.database}-{name}",
            jwt_private_key_file=signing,
            jwt_published_key_files=published,
            access_token_ttl_seconds=TTL,
            mongo_uri=self.stack.mongo_uri,
            mongo_database=self.database,
            kafka_bootstrap_servers=self.stack.kafka_bootstrap_servers,
            presence_offset_reset="latest",
            # Consumer groups of each replica's own: in a group shared with the other replica,
            # every start waits for the other's next heartbeat once per group (4-7 s a start
            # here, eight starts), and this test is about the keys, not the groups.
            **own_consumer_groups(f"{self.database}-{name}"),
        )

    async def start(self, name: str, signing: Path, published: list[Path]) -> None:
        settings = self.settings(name, signing, published)
        if name not in self.started:  # no member yet: the groups can be committed
            await start_groups_at_end(settings)
            self.started.add(name)
        app = create_app(settings, passwords=cheap_passwords())
        exits = AsyncExitStack()
        running_app = await exits.enter_async_context(running(app))
        self._running[name] = exits
        self.balancer.replicas[name] = httpx.ASGITransport(running_app)

    async def stop(self, name: str) -> None:
        await self.balancer.drain(name)  # as a rolling update does before it stops a pod
        await self._running.pop(name).aclose()

    async def restart(self, name: str, signing: Path, published: list[Path]) -> None:
        """A rolling-update step: the other replica serves alone while this one restarts."""
        await self.stop(name)
        await self.start(name, signing, published)

    async def aclose(self) -> None:
        for name in list(self._running):
            await self.stop(name)


class Traffic:
    """Signs in again and again, and checks every token issued so far that is still valid,
    on auth (``GET /me`` through the balancer) and with another service's verifier."""

    def __init__(self, client: httpx.AsyncClient, verifier: JwksVerifier, credentials: dict) -> None:
        self.client, self.verifier, self.credentials = client, verifier, credentials
        self.tokens: list[tuple[str, str, float]] = []  # (token, kid, exp)
        self.refused: list[str] = []
        self.checks = 0
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        while not self.stopping.is_set():
            response = await self.client.post("/api/auth/login", json=self.credentials)
            assert response.status_code == 200, response.text
            token = response.json()["access_token"]
            claims = jwt.decode(token, options={"verify_signature": False})
            self.tokens.append((token, jwt.get_unverified_header(token)["kid"], claims["exp"]))
            # Every still-valid token, most recent ones and at least one per key.
            alive = [t for t in self.tokens if t[2] > time.time() + 1]
            latest = {kid: (token, kid, exp) for token, kid, exp in alive}
            for token, kid, _ in {t[0]: t for t in [*alive[-6:], *latest.values()]}.values():
                me = await self.client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
                if me.status_code != 200:
                    self.refused.append(f"auth /me refused a token of key {kid[:8]}: {me.status_code} {me.text}")
                try:
                    await self.verifier.verify(token)
                except InvalidToken as exc:
                    self.refused.append(f"the verifier refused a token of key {kid[:8]}: {exc}")
                self.checks += 1
            await asyncio.sleep(0.05)

    def kids(self) -> set[str]:
        return {kid for _, kid, _ in self.tokens}


@pytest.fixture
async def cluster(stack: Stack, unique_name: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(stack, unique_name, tmp_path)
    try:
        yield cluster
    finally:
        await cluster.aclose()
        mongo: AsyncMongoClient = AsyncMongoClient(stack.mongo_uri)
        await drop_database(mongo, unique_name)
        await mongo.close()


async def test_rotating_the_key_under_traffic_refuses_no_valid_token(cluster: Cluster, tmp_path: Path) -> None:
    old, new = tmp_path / "old.pem", tmp_path / "new.pem"
    old.write_bytes(generate_pem())
    new.write_bytes(generate_pem())
    old_kid, new_kid = parse_signing_key(old.read_bytes()).kid, parse_signing_key(new.read_bytes()).kid
    for name in ("a", "b"):
        await cluster.start(name, old, [])

    async with httpx.AsyncClient(transport=cluster.balancer, base_url=BASE) as client:
        credentials = {"email": "ada@example.com", "password": "analytical engine"}
        register = await client.post("/api/auth/register", json={**credentials, "display_name": "Ada"})
        assert register.status_code == 201, register.text
        verifier = JwksVerifier(
            f"{BASE}/api/auth/.well-known/jwks.json",
            issuer="parley-auth",
            audience="parley",
            http=httpx.AsyncClient(transport=cluster.balancer),
            cache_ttl_s=JWKS_CACHE,
            min_refetch_interval_s=JWKS_CACHE,  # scaled down with the cache, like every step
        )
        traffic = Traffic(client, verifier, credentials)
        runner = asyncio.create_task(traffic.run())

        async def signed_with(kid: str) -> bool:
            """Whether the traffic got a token of ``kid`` (or failed): polled, since on a busy
            machine the traffic may not have signed in within a STEP."""
            return kid in traffic.kids() or runner.done()

        try:
            await asyncio.sleep(STEP)
            await eventually(lambda: signed_with(old_kid), timeout_s=30)
            # 1. Publish the next key on every replica; the old one still signs.
            for name in ("a", "b"):
                await cluster.restart(name, old, [new])
                await asyncio.sleep(STEP)
            jwks = (await client.get("/api/auth/.well-known/jwks.json")).json()
            assert [key["kid"] for key in jwks["keys"]] == [old_kid, new_kid]
            # 2. Sign with the new key; the old one stays published as the previous key.
            for name in ("a", "b"):
                await cluster.restart(name, new, [old])
                await asyncio.sleep(STEP)
            await eventually(lambda: signed_with(new_kid), timeout_s=30)
            assert traffic.kids() == {old_kid, new_kid}
            # 3. Once the last token of the old key has expired, stop publishing it.
            last_old_exp = max(exp for _, kid, exp in traffic.tokens if kid == old_kid)
            await asyncio.sleep(max(0.0, last_old_exp + 1 - time.time()))
            for name in ("a", "b"):
                await cluster.restart(name, new, [])
                await asyncio.sleep(STEP)
            jwks = (await client.get("/api/auth/.well-known/jwks.json")).json()
            assert [key["kid"] for key in jwks["keys"]] == [new_kid]
        finally:
            traffic.stopping.set()
            await runner
            await verifier.aclose()

    assert traffic.refused == []
    assert traffic.checks > 50
