"""One active session per user (``PARLEY_SESSION_POLICY=single``, the stack's default), end to
end through Traefik with both replicas of every service (docs/http-api.md, "Sessions"):

- a session with a live signaling socket holds the lease: a second sign-in answers 409
  ``active_session``; with ``takeover`` it ends the first session: the first socket gets
  ``session-ended`` (``replaced``) and is disconnected, the first access token is refused by
  meetings, chat and turn-config (from their projection of ``session.revoked``), its refresh
  token by auth;
- a live socket's heartbeats keep renewing the lease: past the first renewal's lease, a second
  sign-in still answers 409;
- a crashed client (its socket gone without a goodbye) stops renewing the lease: after the
  lease (12 s locally) the user signs in elsewhere without being asked;
- concurrent sign-ins on both auth replicas: exactly one of them holds the session.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from pymongo import AsyncMongoClient

from parley_probe.signaling import SignalingClient
from parley_testing import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

PASSWORD = "correct horse battery staple"
#: The local stack's lease (deploy/local/components.py, LOCAL_SESSION_LEASE_SECONDS).
LEASE_S = 12
HEARTBEAT_S = 3


async def _user(http: httpx.AsyncClient, name: str) -> str:
    email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
    response = await http.post("/api/auth/register", json={"email": email, "display_name": name, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return email


async def _login(http: httpx.AsyncClient, email: str, *, takeover: bool = False) -> httpx.Response:
    body = {"email": email, "password": PASSWORD, **({"takeover": True} if takeover else {})}
    return await http.post("/api/auth/login", json=body)


async def _until(probe, timeout_s: float, what: str, *, every_s: float = 0.3):  # noqa: ANN001, ANN202
    """Call ``probe()`` until it returns something truthy; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        await asyncio.sleep(every_s)


async def _lease_until(stack: Stack, user_id: str) -> datetime | None:
    """The user's ``session_lease_until`` in auth's store (None: no live session)."""
    client: AsyncMongoClient = AsyncMongoClient(stack.mongo_uri, serverSelectionTimeoutMS=5000, tz_aware=True)
    try:
        user = await client["auth"]["users"].find_one({"_id": user_id})
    finally:
        await client.close()
    return None if user is None else user.get("session_lease_until")


async def _live_socket(stack: Stack, sign_in: dict) -> SignalingClient:
    """A signaling socket of the session ``sign_in`` (a login's answer), and the wait until its
    first ``session.active`` went through Kafka and auth holds the session's lease (then a
    second sign-in answers 409). Read from auth's store: a sign-in attempt instead would
    replace the session quietly if it came before the heartbeat, and spend the throttle."""
    socket = SignalingClient("first", stack.base_url, sign_in["access_token"])
    await socket.connect(timeout_s=20)
    await _until(lambda: _lease_until(stack, sign_in["user"]["user_id"]), 30,
                 "the socket's session.active made the session live")
    return socket


async def test_use_here_ends_the_other_session_everywhere(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=15) as http:
        email = await _user(http, "ada")
        first = (await _login(http, email)).json()
        socket = await _live_socket(stack, first)
        try:
            bearer = {"Authorization": f"Bearer {first['access_token']}"}
            assert (await http.get("/api/meetings", headers=bearer)).status_code == 200
            meeting = (await http.post("/api/meetings", json={"title": "one session"}, headers=bearer)).json()

            refused = await _login(http, email)
            assert refused.status_code == 409
            assert refused.json()["detail"]["code"] == "active_session"
            # the refused sign-in changed nothing: the first session still refreshes
            rotated = await http.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
            assert rotated.status_code == 200, rotated.text
            first_refresh = rotated.json()["refresh_token"]

            second = await _login(http, email, takeover=True)
            assert second.status_code == 200, second.text

            ended = await socket.wait_for("session-ended", timeout_s=20)
            assert ended.data == {"reason": "replaced"}
            await socket.wait_for("disconnect", timeout_s=20)

            async def refused_by(path: str) -> bool:
                return (await http.get(path, headers=bearer)).status_code == 401

            # another service than auth refuses the old access token (both replicas, by Traefik's
            # round robin: several answers in a row)
            for path in ("/api/meetings", f"/api/chat/meetings/{meeting['meeting_id']}/messages",
                         "/api/turn/credentials"):
                await _until(lambda p=path: refused_by(p), 20, f"{path} refuses the revoked session's token")
                for _ in range(4):
                    answer = await http.get(path, headers=bearer)
                    assert answer.status_code == 401, (path, answer.text)
            again = await http.post("/api/auth/refresh", json={"refresh_token": first_refresh})
            assert again.status_code == 401
            assert again.json()["detail"]["code"] == "invalid_refresh_token"
            # the new session works, and its token is not refused
            new_bearer = {"Authorization": f"Bearer {second.json()['access_token']}"}
            assert (await http.get("/api/meetings", headers=new_bearer)).status_code == 200
            # a socket of the revoked session is refused at connect
            late = SignalingClient("late", stack.base_url, first["access_token"])
            with pytest.raises(Exception, match="unauthorized|ended"):
                await late.connect(timeout_s=10)
            await late.close()
        finally:
            await socket.close()


async def test_a_live_sockets_heartbeats_keep_renewing_its_lease(stack: Stack) -> None:
    """Not only the connect's announcement: signaling's beats (session.active on real Kafka, a
    tick's records enqueued together) renew the lease for as long as the socket lives."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=15) as http:
        email = await _user(http, "hopper")
        first = (await _login(http, email)).json()
        socket = await _live_socket(stack, first)
        try:
            announced = await _lease_until(stack, first["user"]["user_id"])
            assert announced is not None
            await asyncio.sleep(LEASE_S + HEARTBEAT_S)
            assert datetime.now(UTC) > announced  # the announcement's lease alone has run out
            assert (await _login(http, email)).status_code == 409
            renewed = await _lease_until(stack, first["user"]["user_id"])
            assert renewed is not None and renewed > announced
        finally:
            await socket.close()


async def test_a_crashed_clients_lease_lapses_and_lets_the_user_in(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=15) as http:
        email = await _user(http, "grace")
        first = (await _login(http, email)).json()
        socket = await _live_socket(stack, first)
        await socket.close()  # the browser is gone: no more heartbeats
        # right after, the lease still holds (its last renewal was less than a lease ago)
        assert (await _login(http, email)).status_code == 409

        async def let_in() -> httpx.Response | None:
            answer = await _login(http, email)
            assert answer.status_code in (200, 409), answer.text
            return answer if answer.status_code == 200 else None

        await asyncio.sleep(LEASE_S + HEARTBEAT_S)
        await _until(let_in, 3 * HEARTBEAT_S, "the lapsed lease lets the user sign in", every_s=HEARTBEAT_S)
        # the crashed session, live before, was revoked: its refresh token is refused
        again = await http.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert again.status_code == 401


# at most 5: sign-ins per account from one address are throttled at 5 in 5 minutes
@pytest.mark.parametrize("n", [2, 5])
async def test_concurrent_sign_ins_leave_exactly_one_session(stack: Stack, n: int) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        email = await _user(http, "hopper")
        answers = await asyncio.gather(*(_login(http, email) for _ in range(n)))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        refreshed = await asyncio.gather(
            *(http.post("/api/auth/refresh", json={"refresh_token": a.json()["refresh_token"]}) for a in answers)
        )
        assert sorted(r.status_code for r in refreshed) == [200] + [401] * (n - 1)
        # the one left is the session: its socket makes it live (a further sign-in is asked)
        (winner,) = [a for a, r in zip(answers, refreshed, strict=True) if r.status_code == 200]
        socket = await _live_socket(stack, winner.json())
        await socket.close()
