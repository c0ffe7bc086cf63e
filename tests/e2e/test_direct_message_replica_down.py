"""A direct message posted while the recipient's signaling replica is down reaches them after,
exactly once.

Against the running test stack: Ada and Bob become contacts through auth's REST API. Ada's
socket is on signaling-1, Bob's on signaling-2 (each replica's own port). A first message
reaches Bob's socket live. signaling-2 is then killed (SIGKILL) and held down; Ada posts two
messages through Traefik (either chat replica) meanwhile: chat stores them and publishes
``dm.message.posted``, which only signaling-1 is there to deliver (to Ada's own socket). Bob's
replica starts again; Bob connects to it and, as the web client does on every (re)connect,
reloads his conversations and the history over HTTP: both messages are there, once each, in
order, and counted unread. No live copy of them reaches his new socket (a replica consumes
from the end), and a message posted afterwards arrives live exactly once.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from e2e_people import auth, contacts
from parley_probe.signaling import SignalingClient
from parley_testing import Stack
from parley_testing.faults import hold_down, sigkill, stack_ready, start, until

pytestmark = [pytest.mark.e2e, pytest.mark.exclusive, pytest.mark.timeout(300)]

STEP_S = 30.0


async def test_a_message_posted_while_the_recipients_replica_is_down_is_delivered_after_exactly_once(stack: Stack) -> None:
    services = stack.raw["services"]
    run = uuid.uuid4().hex[:10]
    ada_api, bob_api, bob_id = await contacts(stack.base_url, run)
    clients: list[SignalingClient] = []
    http = httpx.AsyncClient(base_url=stack.base_url, timeout=STEP_S)
    holding: asyncio.Task | None = None
    killed = False

    async def post(message_id: str, text: str) -> httpx.Response:
        return await http.post(
            f"/api/chat/conversations/{bob_id}/messages", json={"message_id": message_id, "text": text}, headers=auth(ada_api)
        )

    try:
        ada_id = ada_api.user["user_id"]

        ada = SignalingClient("ada", services["signaling-1"]["url"], ada_api.access_token or "")
        clients.append(ada)
        await ada.connect(STEP_S)
        bob = SignalingClient("bob", services["signaling-2"]["url"], bob_api.access_token or "")
        clients.append(bob)
        await bob.connect(STEP_S)
        assert (ada.replica_id, bob.replica_id) == ("signaling-1", "signaling-2")

        # chat learns the contact from auth's parley.contacts events: until then, 403
        async def first_posted() -> bool:
            return (await post(f"live-{run}", "live")).status_code == 201

        await until(first_posted, STEP_S, "Ada's first message posted (chat knows they are contacts)")
        live = await bob.wait_for("direct-message", lambda d: d.get("message_id") == f"live-{run}", timeout_s=STEP_S)
        assert (live.data["sender_id"], live.data["recipient_id"], live.data["seq"]) == (ada_id, bob_id, 1)
        read = await http.post(f"/api/chat/conversations/{ada_id}/read", json={}, headers=auth(bob_api))
        assert read.json()["unread"] == 0

        killed_pid = sigkill(stack, "signaling-2")
        killed = True
        holding = asyncio.create_task(hold_down(stack, "signaling-2", killed_pid))
        await holding
        offline = [f"away-{i}-{run}" for i in (1, 2)]
        for i, message_id in enumerate(offline, start=1):
            answer = await post(message_id, f"while you were away {i}")
            assert answer.status_code == 201, answer.text
        # published: signaling-1 delivers them to the sender's own socket
        for message_id in offline:
            await ada.wait_for("direct-message", lambda d, m=message_id: d.get("message_id") == m, timeout_s=STEP_S)

        await start(stack, "signaling-2")
        killed = False
        await stack_ready(stack)
        bob_again = SignalingClient("bob-again", services["signaling-2"]["url"], bob_api.access_token or "")
        clients.append(bob_again)
        await bob_again.connect(STEP_S)

        # the client's reload on connect: conversations and history over HTTP
        listed = (await http.get("/api/chat/conversations", headers=auth(bob_api))).json()["conversations"]
        (conversation,) = [c for c in listed if c["peer_id"] == ada_id]
        assert conversation["unread"] == 2 and conversation["last_message"]["message_id"] == offline[-1]
        history = (await http.get(f"/api/chat/conversations/{ada_id}/messages", headers=auth(bob_api))).json()["messages"]
        assert [m["message_id"] for m in reversed(history)] == [f"live-{run}", *offline]
        assert [m["seq"] for m in reversed(history)] == [1, 2, 3]

        after = f"after-{run}"
        assert (await post(after, "back again")).status_code == 201
        await bob_again.wait_for("direct-message", lambda d: d.get("message_id") == after, timeout_s=STEP_S)
        await ada.wait_for("direct-message", lambda d: d.get("message_id") == after, timeout_s=STEP_S)
        # the message after, and nothing else, reached the new socket live (a delivery of the
        # away messages would be after them on the partition, so it would have arrived by now)
        delivered = [r.data["message_id"] for r in bob_again.received("direct-message")]
        assert delivered == [after]
        history = (await http.get(f"/api/chat/conversations/{ada_id}/messages", headers=auth(bob_api))).json()["messages"]
        ids = [m["message_id"] for m in reversed(history)]
        assert ids == [f"live-{run}", *offline, after] and len(set(ids)) == 4
    finally:
        if holding is not None:
            await asyncio.gather(holding, return_exceptions=True)
        if killed:
            await start(stack, "signaling-2")
        for client in clients:
            await client.close()
        for api in (ada_api, bob_api):
            await api.aclose()
        await http.aclose()
        if killed:
            await stack_ready(stack)
