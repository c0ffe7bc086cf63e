"""A signaling replica killed with SIGKILL: its peers are told, and meetings' roster forgets it.

Against the running test stack: a host on signaling-1 and a guest on signaling-2 join one
meeting; signaling-2's process is killed (no clean stop, no ``gone``); supervisord restarts it.
The host gets ``peer-left`` for the guest, and the roster (GET /api/meetings/{id}/roster) loses
the guest's socket because signaling-1, the reporter, publishes ``participant.left`` with
reason ``replica_lost``. The test waits for signaling-2 to be ready again before it ends.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid

import httpx
import pytest

from parley_probe.api import ApiClient
from parley_probe.signaling import SignalingClient
from parley_testing import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

STEP_S = 15.0


def replica_pids(stack: Stack, name: str) -> list[int]:
    """Pids of the uvicorn process of replica ``name`` of this stack (by its env file)."""
    env_file = f"{stack.raw['dir']}/conf/env/{name}.env"
    found = subprocess.run(["pgrep", "-f", env_file], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


async def until(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (value := await condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")
        await asyncio.sleep(0.2)
    return value


async def roster_sids(api: ApiClient, base_url: str, meeting_id: str) -> set[str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        response = await http.get(
            f"/api/meetings/{meeting_id}/roster", headers={"Authorization": f"Bearer {api.access_token}"}
        )
    response.raise_for_status()
    return {p["sid"] for p in response.json()["participants"]}


async def test_a_killed_replicas_sockets_leave_the_room_and_the_roster(stack: Stack) -> None:
    services = stack.raw["services"]
    run = uuid.uuid4().hex[:10]
    host_api, guest_api = ApiClient(stack.base_url), ApiClient(stack.base_url)
    host = guest = None
    meeting_id = ""
    try:
        for role, api in (("host", host_api), ("guest", guest_api)):
            email = f"crash-{role}-{run}@e2e.parley.example.com"
            await api.register(email, f"Crash {role}", "correct horse battery")
            await api.login(email, "correct horse battery")
        meeting_id = str((await host_api.create_meeting(f"crash {run}"))["meeting_id"])
        for api in (host_api, guest_api):
            await api.join_meeting(meeting_id)

        host = SignalingClient("host", services["signaling-1"]["url"], host_api.access_token or "")
        guest = SignalingClient("guest", services["signaling-2"]["url"], guest_api.access_token or "")
        for client in (host, guest):
            await client.connect(STEP_S)
            await client.request("join", {"meeting_id": meeting_id}, STEP_S)
        assert (host.replica_id, guest.replica_id) == ("signaling-1", "signaling-2")
        both = {host.sid, guest.sid}
        await until(
            lambda: _equals(roster_sids(host_api, stack.base_url, meeting_id), both), STEP_S, "both sockets in the roster"
        )

        pids = replica_pids(stack, "signaling-2")
        assert len(pids) == 1, pids
        os.kill(pids[0], signal.SIGKILL)

        left = await host.wait_for("peer-left", lambda d: d.get("sid") == guest.sid, timeout_s=45)
        assert left.data == {
            "meeting_id": meeting_id, "sid": guest.sid, "user_id": guest.session["user_id"], "reason": "disconnected",
        }
        await until(
            lambda: _equals(roster_sids(host_api, stack.base_url, meeting_id), {host.sid}),
            STEP_S,
            "the killed replica's socket leaving the roster",
        )
    finally:
        for client in (host, guest):
            if client is not None:
                await client.close()
        if meeting_id:
            await host_api.end_meeting(meeting_id)
        for api in (host_api, guest_api):
            await api.aclose()
        await _ready_again(services["signaling-2"]["url"])


async def _equals(sids, expected: set[str]) -> bool:
    return await sids == expected


async def _ready_again(url: str) -> None:
    """Wait (60 s at most) until the restarted replica answers /readyz, for the tests after this one."""

    async def ready() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"{url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await until(ready, 60, "signaling-2 ready again")
