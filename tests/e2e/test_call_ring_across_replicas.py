"""A direct call rings the callee on the other signaling replica, and its answer reaches the caller.

Against the running test stack: Ada and Bob become contacts through auth's REST API. Ada's
socket is on signaling-1, Bob's on signaling-2 (each replica's own port). Ada calls Bob through
Traefik (``POST /api/calls``, either meetings replica): meetings stages ``call.ringing`` in its
outbox, Kafka carries it, and signaling-2 rings Bob's socket with Ada's name. Bob accepts over
HTTP; Ada's socket on signaling-1 gets ``accepted`` with the room both then join through the
meeting room path (``join`` on each replica: each sees the other as a peer). Ada hangs up:
both get ``ended``.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from e2e_people import auth, contacts
from parley_probe.signaling import SignalingClient
from parley_testing import Stack
from parley_testing.faults import until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

STEP_S = 30.0


async def test_a_ring_reaches_a_callee_on_the_other_replica(stack: Stack) -> None:
    services = stack.raw["services"]
    run = uuid.uuid4().hex[:10]
    ada_api, bob_api, bob_id = await contacts(stack.base_url, run)
    clients: list[SignalingClient] = []
    http = httpx.AsyncClient(base_url=stack.base_url, timeout=STEP_S)
    try:
        ada = SignalingClient("ada", services["signaling-1"]["url"], ada_api.access_token or "")
        clients.append(ada)
        await ada.connect(STEP_S)
        bob = SignalingClient("bob", services["signaling-2"]["url"], bob_api.access_token or "")
        clients.append(bob)
        await bob.connect(STEP_S)
        assert (ada.replica_id, bob.replica_id) == ("signaling-1", "signaling-2")

        # meetings learns the contact from auth's parley.contacts events: until then, 403
        placed: dict = {}

        async def rang() -> bool:
            answer = await http.post("/api/calls", json={"callee_id": bob_id}, headers=auth(ada_api))
            if answer.status_code == 201:
                placed.update(answer.json())
            return answer.status_code == 201

        await until(rang, STEP_S, "Ada's call placed (meetings knows they are contacts)")
        call_id = placed["call_id"]

        ring = await bob.wait_for("call", lambda d: d.get("call_id") == call_id and d.get("state") == "ringing", timeout_s=STEP_S)
        assert ring.data["caller_name"] == "Ada"
        assert ring.data["ring_deadline"] is not None

        accepted = await http.post(f"/api/calls/{call_id}/accept", headers=auth(bob_api))
        assert accepted.status_code == 200, accepted.text
        answer = await ada.wait_for("call", lambda d: d.get("call_id") == call_id and d.get("state") == "accepted", timeout_s=STEP_S)
        room = answer.data["room_id"]
        assert room == placed["room_id"]

        await ada.request("join", {"meeting_id": room}, STEP_S)
        joined = await bob.request("join", {"meeting_id": room}, STEP_S)
        assert [peer["user_id"] for peer in joined["peers"]] == [ada_api.user["user_id"]]

        ended = await http.post(f"/api/calls/{call_id}/end", headers=auth(ada_api))
        assert ended.json()["state"] == "ended"
        for client in (ada, bob):
            await client.wait_for("call", lambda d: d.get("call_id") == call_id and d.get("state") == "ended", timeout_s=STEP_S)
    finally:
        for client in clients:
            await client.close()
        for api in (ada_api, bob_api):
            await api.aclose()
        await http.aclose()
