"""The whole scenario against the in-process fake platform and a private coturn."""

from __future__ import annotations

import io
import json

from parley_probe.cli import report
from parley_probe.run import ProbeOptions, run_probe


def _options(base_url: str, **overrides) -> ProbeOptions:
    fields = dict(
        base_url=base_url, step_timeout_s=5, ice_timeout_s=10, media_timeout_s=10, chat_timeout_s=5
    )
    fields.update(overrides)
    return ProbeOptions(**fields)


async def test_probe_runs_a_relayed_call_and_reports_every_field(fake_platform) -> None:
    # host -> a, guest's first connection -> a again (must retry), second -> b
    fake_platform.replicas = ["fake-a", "fake-a", "fake-b"]
    progress = io.StringIO()

    result = await run_probe(_options(fake_platform.base_url), stream=progress)

    summary = result.summary()
    assert summary["ok"] is True, progress.getvalue()
    assert summary["signaling_replicas"] == ["fake-a", "fake-b"]
    assert summary["replica_attempts"] == 2
    assert summary["ice_candidate_pair"]["local"] == "relay"
    assert summary["ice_candidate_pair"]["remote"] == "relay"
    assert {p["local"] for p in summary["ice_candidate_pairs"].values()} == {"relay"}
    for role in ("host", "guest"):
        assert summary["frames_by_peer"][role]["video"] >= 30
        assert summary["frames_by_peer"][role]["audio"] >= 50
        assert summary["data_channel_messages"][role] == 1
    assert summary["video_frames_received"] >= 60
    assert summary["audio_frames_received"] >= 100
    assert 0 < summary["negotiation_ms"] <= summary["call_setup_ms"]
    assert isinstance(summary["chat_delivered_ms"], float) and summary["chat_delivered_ms"] >= 0
    assert summary["chat_in_history"] is True
    assert summary["meeting_ended_delivered"] is True
    assert "failed_step" not in summary
    assert fake_platform.meetings[summary["meeting_id"]]["status"] == "ended"
    lines = progress.getvalue().splitlines()
    for step in (
        "register",
        "distinct_replicas",
        "offer_answer",
        "ice_connected",
        "media",
        "meeting_ended",
    ):
        assert any(line.startswith(f"[probe] {step} ok") for line in lines), step


async def test_probe_fails_naming_the_step_when_every_socket_lands_on_one_replica(
    fake_platform,
) -> None:
    fake_platform.replicas = ["only"]
    progress = io.StringIO()

    result = await run_probe(_options(fake_platform.base_url, replica_attempts=3), stream=progress)

    assert result.ok is False
    assert result.failed_step == "distinct_replicas"
    assert "'only'" in (result.error or "")
    assert result.replica_attempts == 3
    # the meeting the run created was ended during clean-up, and no socket stays connected
    assert all(m["status"] == "ended" for m in fake_platform.meetings.values())
    assert "distinct_replicas FAILED" in progress.getvalue()


async def test_probe_reports_an_http_error_with_its_code(fake_platform) -> None:
    fake_platform.turn_failure = (503, "unavailable")

    result = await run_probe(_options(fake_platform.base_url), stream=io.StringIO())

    assert result.failed_step == "turn_credentials"
    assert "HTTP 503 unavailable" in (result.error or "")
    # the sockets connected meanwhile (signaling_connect runs beside turn_credentials) are
    # closed again, and the meeting ended, during clean-up
    assert all(m["status"] == "ended" for m in fake_platform.meetings.values())


async def test_unreachable_platform_fails_at_register_and_prints_json_last(capsys) -> None:
    result = await run_probe(_options("http://127.0.0.1:9", step_timeout_s=2), stream=io.StringIO())

    status = report(result)

    out = capsys.readouterr()
    summary = json.loads(out.out.strip().splitlines()[-1])
    assert status == 1
    assert summary["ok"] is False and summary["failed_step"] == "register"
    assert summary["error"]
    assert "FAILED at step register" in out.err
