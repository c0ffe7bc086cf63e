"""The official socket.io JavaScript client, through Traefik, written only from docs/signaling.md.

``burst.mjs`` (Node, ``socket.io-client`` from npm, installed by ``./taskw install``) connects
with ``auth {token}``, waits for ``session``, joins a meeting and sends a burst of
``media-state`` events at once, each with an acknowledgement, and prints what came back.
Node's client keeps no cookies, so nothing ties a long-polling session to a replica but the
``sid`` of its requests (docs/signaling.md, "Transport"). A token comes from the stack's HTTP
API (register, login), the meeting from meetings, as the e2e tests do.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from parley_probe.api import ApiClient
from parley_testing import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "burst.mjs"
#: docs/signaling.md, "Limits": bursts of 100 events
BURST = 100


def node() -> str:
    found = shutil.which("node")
    if not found or not (HERE / "node_modules" / "socket.io-client").is_dir():
        pytest.fail("Node and tests/jsclient/node_modules are needed: run ./taskw install", pytrace=False)
    return found


async def run_client(**options: Any) -> dict[str, Any]:
    """Run burst.mjs with ``options``; its last output line, as JSON."""
    proc = await asyncio.create_subprocess_exec(
        node(), str(SCRIPT), json.dumps(options), cwd=HERE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        raise
    lines = out.decode().strip().splitlines()
    assert proc.returncode == 0 and lines, f"burst.mjs failed ({proc.returncode}): {err.decode()[-2000:]}"
    return json.loads(lines[-1])


@pytest.fixture
async def participant(stack: Stack):
    """A registered, signed-in user and a meeting of theirs: ``(access token, meeting id)``."""
    api = ApiClient(stack.base_url)
    email = f"jsclient-{uuid.uuid4().hex[:10]}@e2e.parley.example.com"
    await api.register(email, "JS Client", "correct horse battery")
    await api.login(email, "correct horse battery")
    meeting_id = str((await api.create_meeting("official JavaScript client"))["meeting_id"])
    try:
        yield api.access_token, meeting_id
    finally:
        await api.end_meeting(meeting_id)
        await api.aclose()


def assert_burst_acknowledged(result: dict[str, Any], meeting_id: str, burst: int = BURST) -> None:
    assert result["connect_error"] is None, result
    assert result["session"]["protocol_version"] == 1, result
    assert result["session"]["replica_id"] in ("signaling-1", "signaling-2"), result
    assert result["join"] == {
        "ok": True,
        "data": {
            "meeting_id": meeting_id,
            "peers": [],
            "replica_id": result["session"]["replica_id"],
            "participant_id": result["session"]["sid"],  # a fresh join: the socket's own sid
            "resumed": False,
            "hands": [],
            "recordings": [],
            "spotlight": None,
        },
    }, result
    # every event answered, none over the limit (the burst fits the bucket), none timed out
    assert (result["acks"], result["ok"], result["timeouts"], result["errors"]) == (burst, burst, 0, {}), result


@pytest.mark.parametrize(
    ("transports", "used"),
    [(["polling"], "polling"), (["websocket"], "websocket"), (["polling", "websocket"], "websocket")],
    ids=["polling", "websocket", "polling-then-upgrade"],
)
async def test_a_burst_of_100_is_acknowledged_in_full_without_a_cookie_jar(
    stack: Stack, participant: tuple[str, str], transports: list[str], used: str
) -> None:
    token, meeting_id = participant
    result = await run_client(url=stack.base_url, token=token, meeting_id=meeting_id, transports=transports, burst=BURST)
    assert result["cookies_sent"] is False
    assert result["transport_at_burst"] == used, result
    assert_burst_acknowledged(result, meeting_id)


async def test_polling_sessions_land_on_both_replicas_and_each_stays_on_its_own(
    stack: Stack, participant: tuple[str, str]
) -> None:
    """New sessions are spread over the replicas (one after the other: round robin), and each
    one's later requests still reach it: the routing is by sid, not by luck. Clients are run
    until both replicas had one (for at most 30 s: a replica just restarted by another test may
    still be out of Traefik's health check)."""
    token, meeting_id = participant
    results: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(results) < 2 or {r["session"]["replica_id"] for r in results} != {"signaling-1", "signaling-2"}:
        assert time.monotonic() < deadline, f"new sessions did not reach both replicas: {results}"
        result = await run_client(url=stack.base_url, token=token, meeting_id=meeting_id, transports=["polling"], burst=20)
        assert_burst_acknowledged(result, meeting_id, burst=20)
        prefix = {"signaling-1": "s1_", "signaling-2": "s2_"}[result["session"]["replica_id"]]
        assert result["session"]["sid"].startswith(prefix), result
        results.append(result)


async def test_over_the_burst_every_event_is_still_answered_over_polling(
    stack: Stack, participant: tuple[str, str]
) -> None:
    """150 at once over long-polling: the first 100 pass, the rest are ``rate_limited``; the
    client's one POST of ~150 packets is read whole (docs/signaling.md, "Limits")."""
    token, meeting_id = participant
    result = await run_client(url=stack.base_url, token=token, meeting_id=meeting_id, transports=["polling"], burst=150)
    assert result["transport_at_burst"] == "polling"
    assert (result["acks"], result["timeouts"]) == (150, 0), result
    assert result["ok"] >= BURST and result["ok"] + result["errors"].get("rate_limited", 0) == 150, result
