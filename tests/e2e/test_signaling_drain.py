"""A signaling replica stopped with SIGTERM drains: its participants move to the other replica
without leaving the room or the roster (docs/signaling.md, "Drain").

Against the running test stack: a host whose resumable participant is on signaling-1 (its own
port) and a guest on signaling-2. supervisord stops signaling-1 (SIGTERM, as Kubernetes does on
a rolling update). Then:

- the host gets ``draining``, opens a new socket through Traefik (signaling-1 refuses new
  sockets with ``draining``, so it lands on signaling-2) and resumes its participant there;
- the guest gets ``peer-resumed`` and never ``peer-left``; a relay to the host's participant
  id reaches its new socket; meetings' roster keeps both participants;
- signaling-1's stop ends once the host has moved, well before the drain timeout.

The time from SIGTERM to the end of the stop is printed (a figure, not an assertion). The test
starts signaling-1 again and waits until the stack is ready before it ends.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from parley_probe.api import ApiClient, meeting_of_two
from parley_probe.signaling import SignalingClient
from parley_testing import Stack
from parley_testing.faults import stack_ready, start, supervisor, until

pytestmark = [pytest.mark.e2e, pytest.mark.exclusive, pytest.mark.timeout(300)]

STEP_S = 20.0


async def roster_sids(api: ApiClient, meeting_id: str) -> set[str]:
    return {p["sid"] for p in (await api.roster(meeting_id))["participants"]}


async def test_sigterm_moves_a_replicas_participants_without_leaving_the_room(stack: Stack) -> None:
    services = stack.raw["services"]
    host_api, guest_api, meeting_id = await meeting_of_two(stack.base_url, "drain")
    clients: list[SignalingClient] = []
    stopping: asyncio.Task | None = None
    try:

        host = SignalingClient("host", services["signaling-1"]["url"], host_api.access_token or "")
        guest = SignalingClient("guest", services["signaling-2"]["url"], guest_api.access_token or "")
        clients += [host, guest]
        for client in (host, guest):
            await client.connect(STEP_S)
        joined = await host.request("join", {"meeting_id": meeting_id, "resumable": True}, STEP_S)
        host_id = joined["participant_id"]
        await guest.request("join", {"meeting_id": meeting_id}, STEP_S)
        await until(
            lambda: _equals(roster_sids(host_api, meeting_id), {host_id, guest.sid}), STEP_S, "both in the roster"
        )

        stopped_at = time.monotonic()
        stopping = asyncio.create_task(asyncio.to_thread(supervisor(stack).supervisor.stopProcess, "signaling-1", True))
        draining = await host.wait_for("draining", timeout_s=STEP_S)
        assert draining.data == {"replica_id": "signaling-1"}
        moved = SignalingClient("host-again", stack.base_url, host_api.access_token or "")
        clients.append(moved)
        await moved.connect(STEP_S)  # a refusal by the draining replica is retried at once
        assert moved.replica_id == "signaling-2", moved.session
        ack = await moved.request("join", {"meeting_id": meeting_id, "resume": host_id}, STEP_S)
        assert ack["resumed"] is True and ack["participant_id"] == host_id
        await stopping
        stop_s = time.monotonic() - stopped_at

        await guest.wait_for("peer-resumed", lambda d: d.get("sid") == host_id, timeout_s=STEP_S)
        await guest.request("offer", {"meeting_id": meeting_id, "to": host_id, "sdp": "v=0"}, STEP_S)
        offer = await moved.wait_for("offer", timeout_s=STEP_S)
        assert offer.data["from"] == guest.sid
        await asyncio.sleep(2.0)
        assert guest.received("peer-left") == []
        assert await roster_sids(host_api, meeting_id) == {host_id, guest.sid}
        print(f"\nSIGTERM to signaling-1 stopped after {stop_s:.1f}s, its participant resumed on signaling-2")
    finally:
        if stopping is not None:
            await asyncio.gather(stopping, return_exceptions=True)
        await start(stack, "signaling-1")
        for client in clients:
            await client.close()
        await host_api.end_meeting(meeting_id)
        for api in (host_api, guest_api):
            await api.aclose()
        await stack_ready(stack)


async def _equals(sids, expected: set[str]) -> bool:
    return await sids == expected
