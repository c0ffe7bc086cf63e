"""Presence survives a signaling replica's crash: the sockets of a SIGKILLed replica go offline.

Against the running test stack: Ada and Bob become contacts through auth's REST API (Ada
invites, Bob accepts). Ada's socket is on signaling-1, Bob's on signaling-2 (each replica's own
port). Ada gets ``presence`` for Bob (``online``, then ``in_call`` once he joined a meeting's
room), and auth's contact list agrees. signaling-2 is then killed (SIGKILL: no clean stop, no
``offline`` of its own) and held down, so only its silence tells: within the replica timeout
signaling-1 reports the replica lost on ``parley.presence``, auth turns Bob offline, and Ada's
socket gets ``presence`` ``offline`` with a ``last_seen``; the contact list says the same. The
test starts signaling-2 again and waits until the stack is ready before it ends.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from e2e_people import contacts
from parley_probe.api import ApiClient
from parley_probe.signaling import SignalingClient
from parley_testing import Stack
from parley_testing.faults import hold_down, sigkill, stack_ready, start, until

pytestmark = [pytest.mark.e2e, pytest.mark.exclusive, pytest.mark.timeout(300)]

STEP_S = 30.0


async def _bobs_presence(ada: ApiClient) -> dict:
    listing = await ada._call("contacts", "GET", "/api/auth/contacts")  # noqa: SLF001
    (bob,) = listing["contacts"]
    return bob["presence"]


async def _state_is(ada: ApiClient, state: str) -> bool:
    return (await _bobs_presence(ada))["state"] == state


async def test_sockets_of_a_killed_replica_go_offline(stack: Stack) -> None:
    services = stack.raw["services"]
    run = uuid.uuid4().hex[:10]
    ada_api, bob_api, bob_id = await contacts(stack.base_url, run)
    clients: list[SignalingClient] = []
    holding: asyncio.Task | None = None
    killed = False
    try:
        ada = SignalingClient("ada", services["signaling-1"]["url"], ada_api.access_token or "")
        clients.append(ada)
        await ada.connect(STEP_S)
        bob = SignalingClient("bob", services["signaling-2"]["url"], bob_api.access_token or "")
        clients.append(bob)
        await bob.connect(STEP_S)
        assert (ada.replica_id, bob.replica_id) == ("signaling-1", "signaling-2")

        online = await ada.wait_for(
            "presence", lambda d: d.get("user_id") == bob_id and d.get("state") == "online", timeout_s=STEP_S
        )
        assert online.data["last_seen"] is not None
        await until(lambda: _state_is(ada_api, "online"), STEP_S, "Bob online in Ada's contact list")

        meeting_id = str((await bob_api.create_meeting(f"presence {run}"))["meeting_id"])
        await bob.request("join", {"meeting_id": meeting_id}, STEP_S)
        await ada.wait_for("presence", lambda d: d.get("user_id") == bob_id and d.get("state") == "in_call", timeout_s=STEP_S)
        await until(lambda: _state_is(ada_api, "in_call"), STEP_S, "Bob in a call in Ada's contact list")

        killed_pid = sigkill(stack, "signaling-2")
        killed, killed_at = True, time.monotonic()
        holding = asyncio.create_task(hold_down(stack, "signaling-2", killed_pid))  # no restart: silence only

        offline = await ada.wait_for(
            "presence", lambda d: d.get("user_id") == bob_id and d.get("state") == "offline", timeout_s=STEP_S
        )
        offline_after = time.monotonic() - killed_at
        assert offline.data["last_seen"] is not None
        await until(lambda: _state_is(ada_api, "offline"), STEP_S, "Bob offline in Ada's contact list")
        assert (await _bobs_presence(ada_api))["last_seen"] is not None
        await holding
        print(f"\nBob offline at Ada's socket {offline_after:.1f}s after his replica was killed")
    finally:
        if holding is not None:
            await asyncio.gather(holding, return_exceptions=True)
        if killed:
            await start(stack, "signaling-2")
        for client in clients:
            await client.close()
        for api in (ada_api, bob_api):
            await api.aclose()
        if killed:
            await stack_ready(stack)
