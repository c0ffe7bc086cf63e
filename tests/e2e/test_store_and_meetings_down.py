"""The store (FerretDB and its PostgreSQL) and then meetings killed with SIGKILL.

Against the running test stack, as an operator's fault drill would do it:

1. A host, a guest and a late member sign in; the host creates a meeting, the guest joins it
   (``POST /join``) and then its room over socket.io on both signaling replicas (a member the
   replicas know, from ``meeting.joined`` or, if that event had not arrived, from meetings
   once). The late member only calls ``POST /join``, and the test waits until that
   ``meeting.joined`` is on Kafka: signaling can know this member from the event alone.
2. PostgreSQL's postmaster and FerretDB get SIGKILL, and supervisord is told to leave them
   stopped while the test looks: auth, meetings and chat answer ``503`` with the documented
   error body ``{"detail": {"code": "unavailable", "message"}}`` and ``Retry-After``, not
   Starlette's plain-text ``500``, within a few seconds each.
3. Both meetings replicas get SIGKILL too (and stay stopped): the guest's new sockets still
   join the meeting's room on both signaling replicas (no HTTP call to meetings for a known
   member), so do the late member's (known from ``meeting.joined`` only), a user who never
   joined gets ``unavailable`` (meetings cannot be asked about them), and Traefik answers
   ``/api/meetings`` with a 502/503 in the same JSON shape.
4. Everything is started again and the test waits until the stack answers as before: the
   test stack is shared by every test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import httpx
import pytest

from parley_probe.api import ApiClient
from parley_probe.signaling import SignalingClient, SignalingError
from parley_testing import Stack, tail_topic
from parley_testing.faults import hold_down, stack_ready, start, supervisor

pytestmark = [pytest.mark.e2e, pytest.mark.exclusive, pytest.mark.timeout(420)]

STEP_S = 20.0
STORE = ("postgres", "ferretdb")
MEETINGS = ("meetings-1", "meetings-2")
SIGNALING = ("signaling-1", "signaling-2")
PASSWORD = "correct horse battery"


async def sigkill_and_keep_down(stack: Stack, names: tuple[str, ...]) -> None:
    """SIGKILL each component's process (the one supervisord started: PostgreSQL's postmaster),
    all of them first, then keep each down (:func:`parley_testing.faults.hold_down`)."""
    sv = supervisor(stack).supervisor
    killed = {}
    for name in names:
        killed[name] = pid = sv.getProcessInfo(name)["pid"]
        assert pid, f"{name} is not running"
        os.kill(pid, signal.SIGKILL)
    for name, pid in killed.items():
        await hold_down(stack, name, pid)


def assert_unavailable(response: httpx.Response, what: str, statuses: tuple[int, ...] = (503,)) -> None:
    assert response.status_code in statuses, f"{what}: HTTP {response.status_code} {response.text[:200]!r}"
    assert response.headers.get("content-type", "").startswith("application/json"), (what, response.headers)
    body = response.json()
    assert set(body) == {"detail"} and set(body["detail"]) == {"code", "message"}, (what, body)
    assert body["detail"]["code"] == "unavailable", (what, body)
    assert int(response.headers["retry-after"]) >= 1, (what, response.headers)


async def signed_in(base_url: str, role: str, run: str) -> ApiClient:
    api = ApiClient(base_url, timeout_s=30)
    email = f"store-{role}-{run}@e2e.parley.example.com"
    await api.register(email, f"Store {role}", PASSWORD)
    await api.login(email, PASSWORD)
    return api


async def join_room(url: str, token: str, meeting_id: str, name: str) -> SignalingClient:
    client = SignalingClient(name, url, token)
    try:
        await client.connect(STEP_S)
        await client.request("join", {"meeting_id": meeting_id}, STEP_S)
    except BaseException:
        await client.close()
        raise
    return client


async def join_eventually(url: str, token: str, meeting_id: str, name: str) -> SignalingClient:
    """Join, retrying ``unavailable`` for up to 15 s: the event is on Kafka, and the replica
    applies it within moments (its consumer may still be fetching it)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return await join_room(url, token, meeting_id, name)
        except SignalingError as exc:
            if exc.code != "unavailable" or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.5)


async def test_store_and_meetings_killed_503_with_the_error_body_and_members_still_join(stack: Stack) -> None:
    services = stack.raw["services"]
    run = uuid.uuid4().hex[:10]
    host_api = await signed_in(stack.base_url, "host", run)
    guest_api = await signed_in(stack.base_url, "guest", run)
    late_api = await signed_in(stack.base_url, "late", run)
    stranger_api = await signed_in(stack.base_url, "stranger", run)
    sockets: list[SignalingClient] = []
    try:
        meeting_id = str((await host_api.create_meeting(f"store down {run}"))["meeting_id"])
        await guest_api.join_meeting(meeting_id)
        for replica in SIGNALING:
            socket = await join_room(services[replica]["url"], guest_api.access_token or "", meeting_id, replica)
            assert socket.replica_id == replica
            await socket.close()
        async with tail_topic(stack.kafka_bootstrap_servers, "parley.meetings") as topic:
            await late_api.join_meeting(meeting_id)
            late_id = str((late_api.user or {}).get("user_id"))
            published = await topic.events_until(
                lambda found: any(getattr(e.data, "user_id", None) == late_id for e in found), timeout_s=60
            )
        assert any(e.type == "parley.meetings.meeting.joined.v1" and e.data.user_id == late_id for e in published)
        bearer = {"Authorization": f"Bearer {guest_api.access_token}"}

        await sigkill_and_keep_down(stack, STORE)
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
            for what, call in (
                # the list reads the store on every request (one meeting's summary may be served
                # from the replica's cache, which the guest's join filled)
                ("meetings list", lambda: http.get("/api/meetings", headers=bearer)),
                ("chat history", lambda: http.get(f"/api/chat/meetings/{meeting_id}/messages", headers=bearer)),
                (
                    "auth login",
                    lambda: http.post(
                        "/api/auth/login",
                        json={"email": f"store-guest-{run}@e2e.parley.example.com", "password": PASSWORD},
                    ),
                ),
            ):
                started = time.monotonic()
                response = await call()
                assert_unavailable(response, what)
                assert time.monotonic() - started < 15, f"{what} took {time.monotonic() - started:.1f}s"

            await sigkill_and_keep_down(stack, MEETINGS)
            for replica in SIGNALING:  # a known member's join asks nobody
                socket = await join_room(services[replica]["url"], guest_api.access_token or "", meeting_id, replica)
                sockets.append(socket)
                assert socket.replica_id == replica
                late = await join_eventually(services[replica]["url"], late_api.access_token or "", meeting_id, replica)
                sockets.append(late)
            stranger = SignalingClient("stranger", services["signaling-1"]["url"], stranger_api.access_token or "")
            sockets.append(stranger)
            await stranger.connect(STEP_S)
            with pytest.raises(SignalingError) as refused:
                await stranger.request("join", {"meeting_id": meeting_id}, STEP_S)
            assert refused.value.code == "unavailable"

            # No live meetings replica behind Traefik: its own 502/503 in Parley's shape.
            assert_unavailable(
                await http.get(f"/api/meetings/{meeting_id}", headers=bearer), "Traefik, no meetings", (502, 503, 504)
            )
    finally:
        for socket in sockets:
            await socket.close()
        for name in (*STORE, *MEETINGS):
            await start(stack, name)
        await stack_ready(stack)
        if "meeting_id" in locals():
            await host_api.end_meeting(meeting_id)
        for api in (host_api, guest_api, late_api, stranger_api):
            await api.aclose()
