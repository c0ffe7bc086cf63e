"""The platform's main job on real input: the synthetic call against the running test stack.

Runs ``python -m parley_probe --base-url <stack.base_url>`` exactly as operators do (through
Traefik only) and checks every field of the JSON object it prints last.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from parley_testing import Stack

PROBE_DEADLINE_S = 150


@pytest.mark.e2e
@pytest.mark.timeout(PROBE_DEADLINE_S + 30)
def test_probe_completes_a_relayed_two_party_call_across_two_signaling_replicas(
    stack: Stack,
) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "parley_probe", "--base-url", stack.base_url],
        capture_output=True,
        text=True,
        timeout=PROBE_DEADLINE_S,
    )
    context = (
        f"exit {completed.returncode}\nstderr:\n{completed.stderr}\nstdout:\n{completed.stdout}"
    )
    lines = completed.stdout.strip().splitlines()
    assert lines, context
    summary = json.loads(lines[-1])

    assert summary["ok"] is True, context
    assert completed.returncode == 0, context
    assert "failed_step" not in summary, context

    assert isinstance(summary["call_setup_ms"], (int, float)) and summary["call_setup_ms"] > 0, (
        context
    )

    pair = summary["ice_candidate_pair"]
    assert pair["local"] == "relay", context
    assert pair["remote"] == "relay", context
    assert {p["local"] for p in summary["ice_candidate_pairs"].values()} == {"relay"}, context

    replicas = summary["signaling_replicas"]
    assert len(replicas) == 2 and all(replicas) and replicas[0] != replicas[1], context

    assert summary["video_frames_received"] > 0, context
    assert summary["audio_frames_received"] > 0, context
    for role in ("host", "guest"):
        assert summary["frames_by_peer"][role]["video"] > 0, context
        assert summary["frames_by_peer"][role]["audio"] > 0, context
        assert summary["data_channel_messages"][role] >= 1, context

    assert (
        isinstance(summary["chat_delivered_ms"], (int, float)) and summary["chat_delivered_ms"] >= 0
    ), context
    assert summary["chat_in_history"] is True, context
    assert summary["meeting_ended_delivered"] is True, context
