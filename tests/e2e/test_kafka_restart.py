"""Kafka killed with SIGKILL and restarted during a call across two signaling replicas, with chat.

Against the running test stack: a host on signaling-1 and a guest on signaling-2 join one
meeting's room. Kafka's process is killed; whatever supervisord restarts is held stopped until
the outage has lasted ``OUTAGE_S`` (longer than any liveness timeout of signaling, old or new;
restarts under load took 20-45 s), then Kafka is started again. While it is down and after it
is back, the host posts chat messages one after another through Traefik. A Kafka
outage is not a replica crash (docs/signaling.md, "Several replicas"), so:

- neither socket gets ``peer-left`` (both stay connected the whole time, and neither replica
  may conclude from the silence of the bus that the other died);
- meetings' roster holds both sockets within 10 s of Kafka's return, and still at the end;
- every chat message the API acknowledged reaches the guest's socket exactly once and in
  the order of posting;
- no service floods its log: aiokafka's retry records are let through once per kind
  (``parley_events.kafka_logs``; a 25 s outage left 1,187-11,220 ERROR lines per process
  before), so each process writes at most ``MAX_ERROR_LINES`` ERROR lines in the outage.

The test waits until Kafka and every service are ready again before it ends (the stack is
shared by all tests).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest

from parley_events.topics import SIGNALING_FANOUT
from parley_probe.api import ApiClient, ApiError
from parley_probe.signaling import SignalingClient
from parley_testing import Stack
from parley_testing.faults import hold_down, kafka_answers, sigkill, stack_ready, start, until

pytestmark = [pytest.mark.e2e, pytest.mark.exclusive, pytest.mark.timeout(420)]

STEP_S = 20.0
#: How long the roster may take to be right again after Kafka is back (the issue's bound).
ROSTER_AFTER_RETURN_S = 10.0
#: Seconds from the kill to the restart of Kafka.
OUTAGE_S = 25.0
#: Chat messages posted after Kafka is back.
POSTS_AFTER = 3
#: ERROR lines a service process may write from the kill until the end of the checks.
MAX_ERROR_LINES = 50


async def roster_sids(api: ApiClient, meeting_id: str) -> set[str]:
    return {p["sid"] for p in (await api.roster(meeting_id))["participants"]}


async def test_a_kafka_restart_is_not_a_replica_crash(stack: Stack) -> None:
    services = stack.raw["services"]
    run = uuid.uuid4().hex[:10]
    host_api, guest_api = ApiClient(stack.base_url), ApiClient(stack.base_url)
    host = guest = None
    meeting_id = ""
    try:
        for role, api in (("host", host_api), ("guest", guest_api)):
            email = f"kafka-{role}-{run}@e2e.parley.example.com"
            await api.register(email, f"Kafka {role}", "correct horse battery")
            await api.login(email, "correct horse battery")
        meeting_id = str((await host_api.create_meeting(f"kafka restart {run}"))["meeting_id"])
        await guest_api.join_meeting(meeting_id)

        host = SignalingClient("host", services["signaling-1"]["url"], host_api.access_token or "")
        guest = SignalingClient("guest", services["signaling-2"]["url"], guest_api.access_token or "")
        for client in (host, guest):
            await client.connect(STEP_S)
            await client.request("join", {"meeting_id": meeting_id}, STEP_S)
        assert (host.replica_id, guest.replica_id) == ("signaling-1", "signaling-2")
        both = {host.sid, guest.sid}
        await until(
            lambda: _equals(roster_sids(host_api, meeting_id), both), STEP_S, "both sockets in the roster"
        )

        acknowledged: list[str] = []

        async def post(label: str) -> bool:
            message_id = f"{label}-{uuid.uuid4().hex[:8]}"
            try:
                answer = await host_api.post_chat(meeting_id, message_id, f"{label} {len(acknowledged)}")
            except (ApiError, httpx.HTTPError):
                return False  # not acknowledged: nothing is owed for it
            acknowledged.append(str(answer["message_id"]))
            return True

        assert await post("before")
        logs = Path(stack.raw["logs_dir"])
        # every service process has a Kafka client, except web's (static files)
        log_sizes = {name: (logs / f"{name}.log").stat().st_size for name in services if name != "web"}
        killed_pid = sigkill(stack, "kafka")
        killed_at = time.monotonic()
        await hold_down(stack, "kafka", killed_pid)
        assert not await kafka_answers(stack, SIGNALING_FANOUT.name), "Kafka still answers after SIGKILL"

        # One post after another while Kafka is down, and until it answers again.
        posted_while_down = 0
        while time.monotonic() - killed_at < OUTAGE_S:
            posted_while_down += await post("down")
            await asyncio.sleep(0.5)
        await start(stack, "kafka")
        while not await kafka_answers(stack, SIGNALING_FANOUT.name):
            if time.monotonic() - killed_at > 240:
                raise AssertionError("Kafka did not come back within 240 s")
            posted_while_down += await post("down")
            await asyncio.sleep(0.5)
        returned_at = time.monotonic()
        assert posted_while_down >= 1, "no chat post was acknowledged while Kafka was down"

        await until(
            lambda: _equals(roster_sids(host_api, meeting_id), both),
            ROSTER_AFTER_RETURN_S - (time.monotonic() - returned_at),
            f"the roster to hold both sockets within {ROSTER_AFTER_RETURN_S:g}s of Kafka's return",
        )
        for _ in range(POSTS_AFTER):
            assert await post("after")

        def delivered() -> list[str]:
            return [r.data["message_id"] for r in guest.received("chat-message")]

        async def all_delivered() -> bool:
            return set(acknowledged) <= set(delivered())

        await until(all_delivered, 120, f"the {len(acknowledged)} acknowledged messages at the guest's socket")
        await asyncio.sleep(3.0)  # a duplicate would come right after
        assert delivered() == acknowledged, "chat messages lost, duplicated or out of order"

        for client in (host, guest):
            assert client.received("peer-left") == [], f"{client.name} got peer-left for a connected socket"
            assert client.received("disconnect") == [], f"{client.name} was disconnected"
        # Still right once both replicas had time to misjudge each other (the old failure).
        assert await roster_sids(host_api, meeting_id) == both
        error_lines = {name: _error_lines(logs / f"{name}.log", size) for name, size in log_sizes.items()}
        assert max(error_lines.values()) <= MAX_ERROR_LINES, f"ERROR lines during the outage: {error_lines}"
        print(f"\nkafka down {returned_at - killed_at:.1f}s; {len(acknowledged)} messages, {posted_while_down} while down;"
              f" ERROR lines {error_lines}")
    finally:
        for client in (host, guest):
            if client is not None:
                await client.close()
        await start(stack, "kafka")
        await until(lambda: kafka_answers(stack, SIGNALING_FANOUT.name), 240, "Kafka back", every_s=1.0)
        await stack_ready(stack)
        if meeting_id:
            await host_api.end_meeting(meeting_id)
        for api in (host_api, guest_api):
            await api.aclose()


def _error_lines(log: Path, offset: int) -> int:
    with log.open("rb") as lines:
        lines.seek(offset)
        return sum(1 for line in lines if b" ERROR " in line)


async def _equals(sids, expected: set[str]) -> bool:
    return await sids == expected
