"""Both auth replicas killed with SIGKILL and held down: the services that only check auth's
tokens go on serving with the keys they hold.

Against the running test stack: a user signs in, then auth-1 and auth-2 get SIGKILL and
supervisord is told to leave them stopped for ``DOWN_S`` (longer than the JWKS refetch interval
and several readiness probes). Meanwhile:

- turn-config and both signaling replicas stay ready (``/readyz`` 200): their ``jwks`` check
  passes while they hold auth's keys (``parley_security.JwksVerifier.ready``); before, each
  turned unready once a refetch failed, and Traefik took them out of service;
- through Traefik, the signed-in user still gets TURN credentials and opens a signaling socket.

Then auth is started again and the test waits until the whole stack is ready.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from parley_probe.api import ApiClient
from parley_probe.signaling import SignalingClient
from parley_testing import Stack
from parley_testing.faults import hold_down, ready, sigkill, stack_ready, start

pytestmark = [pytest.mark.e2e, pytest.mark.exclusive, pytest.mark.timeout(300)]

#: How long auth stays down: more than the JWKS refetch interval (10 s) plus two readiness probes.
DOWN_S = 20.0
#: The services that check auth's tokens and have a ``jwks`` readiness check.
TOKEN_CHECKERS = ("turn-config", "signaling-1", "signaling-2")


async def test_the_services_that_check_tokens_stay_ready_while_auth_is_down(stack: Stack) -> None:
    services = stack.raw["services"]
    api = ApiClient(stack.base_url)
    socket = None
    try:
        email = f"auth-down-{uuid.uuid4().hex[:10]}@e2e.parley.example.com"
        await api.register(email, "Auth Down", "correct horse battery")
        await api.login(email, "correct horse battery")
        assert (await api.turn_credentials())["ttl"] > 0
        for name in TOKEN_CHECKERS:
            assert await ready(services[name]["url"]), f"{name} not ready before the test"

        killed = {name: sigkill(stack, name) for name in ("auth-1", "auth-2")}
        for name, pid in killed.items():
            await hold_down(stack, name, pid)
        down_at = time.monotonic()
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=5) as http:
            assert (await http.get("/api/auth/.well-known/jwks.json")).status_code >= 500, "auth still answers"

        unready: dict[str, int] = {}
        while time.monotonic() - down_at < DOWN_S:
            for name in TOKEN_CHECKERS:
                if not await ready(services[name]["url"]):
                    unready[name] = unready.get(name, 0) + 1
            await asyncio.sleep(1.0)
        assert unready == {}, f"unready while auth was down (probes failed): {unready}"

        assert (await api.turn_credentials())["ttl"] > 0
        socket = SignalingClient("auth-down", stack.base_url, api.access_token or "")
        session = await socket.connect(20.0)
        assert session["sid"]
    finally:
        if socket is not None:
            await socket.close()
        for name in ("auth-1", "auth-2"):
            await start(stack, name)
        await stack_ready(stack)
        await api.aclose()
