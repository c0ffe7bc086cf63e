"""bench/chat.py's live mode with its Node load generator (bench/loadgen/chat.mjs), against a
fake of chat's REST API and a signaling replica (fake_parley.mjs: socket.io 4.8.3 of the Node
peer) that answers, delays, duplicates, reorders, drops and refuses chosen messages: the plan
``live_plan`` writes reaches the generator, and ``live_figures`` counts what the fake did.
Also ``run_loadgen``'s errors and ``replica_url``. Needs ``./taskw install`` (Node packages)."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

import chat
from node_loadgen import run_loadgen

FAKE = Path(__file__).resolve().parent / "fake_parley.mjs"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fake_parley():
    """The fake's base URL, once it listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fake = subprocess.Popen(["node", str(FAKE), str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert fake.stdout is not None and fake.stdout.readline().strip() == "listening"
        yield f"http://127.0.0.1:{port}"
    finally:
        fake.terminate()
        fake.wait(10)


def plan_for(base_url: str, *, watch_token: str = "guest-token", drain_s: float = 1.0) -> dict:
    return chat.live_plan(
        base_url, "host-token", "meeting-1", rate=50, duration_s=0.2, drain_s=drain_s,
        watch={"url": base_url, "token": watch_token}, hold=[{"url": base_url, "token": "host-token"}],
    )


async def test_live_figures_count_what_the_servers_did_to_each_message(fake_parley) -> None:
    result = await run_loadgen(chat.LOADGEN, plan_for(fake_parley))
    figures = chat.live_figures(result)

    assert result["replicas"] == {"watch": "fake-1", "hold": ["fake-1"]}
    assert figures["messages"] == 10
    assert figures["acknowledged"] == 9  # message 9 refused with 503
    assert figures["failed_posts"] == 1 and figures["failures"][0].startswith("9: 503")
    assert figures["delivered"] == 8  # 0-7; 8 never emitted
    assert figures["lost"] == 1
    assert figures["duplicated"] == 1  # message 3 emitted twice
    assert figures["reordered"] == 1  # message 5 emitted after 6
    assert figures["seq_matches_ack"] is True
    assert figures["guest_disconnects"] == 0
    assert figures["post_ms"]["max"] >= 400  # message 1 answered 400 ms late, counted from its due time
    assert figures["live_ms"] is not None and figures["live_ms"]["min"] >= 0
    assert figures["loadgen_cpu_ms_per_message"] > 0 and figures["max_send_lag_ms"] >= 0


def test_live_figures_see_a_seq_that_is_not_the_acknowledged_one() -> None:
    result = {
        "messages": 3, "posts": [[5.0, 1], [6.0, 2], None], "failures": ["2: 502 bad gateway"],
        "arrivals": [[0, 1, 9.0], [1, 7, 11.0], [1, 7, 12.0]], "disconnects": 1,
        "loadgen_cpu_ms_per_message": 0.5, "max_send_lag_ms": 1.5,
    }
    figures = chat.live_figures(result)
    assert figures["seq_matches_ack"] is False
    assert (figures["acknowledged"], figures["delivered"], figures["lost"], figures["duplicated"]) == (2, 2, 0, 1)
    assert figures["live_ms"]["max"] == 11.0  # the first delivery of each message
    assert figures["guest_disconnects"] == 1


async def test_a_refused_socket_fails_the_load_generator_before_any_post(fake_parley) -> None:
    with pytest.raises(RuntimeError, match="chat.mjs failed"):
        await run_loadgen(chat.LOADGEN, plan_for(fake_parley, watch_token="forged"))


def test_replica_url_reads_the_stack_file(tmp_path) -> None:
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(json.dumps({"services": {"signaling-2": {"url": "http://127.0.0.1:18015", "port": 18015}}}))
    assert chat.replica_url(stack_file, "signaling-2") == "http://127.0.0.1:18015"
    with pytest.raises(LookupError, match="'signaling-3' is not in"):
        chat.replica_url(stack_file, "signaling-3")
