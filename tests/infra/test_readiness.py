"""`up`'s patience (deploy/local/readiness.py): progress, stalls, crashes and gate restarts."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "local"))

from readiness import GATE_TIMEOUT_EXIT, Seen, StartWatch  # noqa: E402


def test_a_slow_start_that_moves_is_progress_and_a_silent_one_stalls() -> None:
    watch = StartWatch(["kafka", "auth-1"], started=0.0)
    assert watch.observe("kafka", Seen("RUNNING", 10, 0, 100), 1.0) is None
    assert watch.observe("auth-1", Seen("STARTING", 11, 0, 0), 1.0) is None
    assert watch.observe("kafka", Seen("RUNNING", 10, 0, 5000), 200.0) is None  # its log grew
    assert watch.stalled_for(250.0) == 50.0
    assert watch.probed("kafka", None, 260.0)
    assert watch.pending() == ["auth-1"] and watch.healthy_count() == 1
    assert watch.observe("auth-1", Seen("STARTING", 11, 0, 0), 600.0) is None  # nothing new
    assert watch.stalled_for(600.0) == 340.0
    assert not watch.probed("auth-1", "GET /readyz: ConnectError", 600.0)
    assert watch.report(600.0).endswith("1/2 healthy; still starting: auth-1 (STARTING, ConnectError)")
    assert watch.describe("auth-1") == "STARTING: GET /readyz: ConnectError"


def test_a_restart_after_a_gate_gave_up_is_not_a_crash_but_real_crashes_fail() -> None:
    watch = StartWatch(["meetings-1"], started=0.0)
    assert watch.observe("meetings-1", Seen("RUNNING", 1, 0, 0), 1) is None
    for pid in range(2, 10):  # wait_for exited 75 each time: still waiting, never a failure
        assert watch.observe("meetings-1", Seen("BACKOFF", 0, GATE_TIMEOUT_EXIT, pid), pid) is None
        assert watch.observe("meetings-1", Seen("RUNNING", pid, GATE_TIMEOUT_EXIT, pid), pid) is None
    assert watch.stalled_for(9) == 0
    for pid in range(10, 16):  # the same, seen only in its log (supervisord reset the exit status)
        assert watch.observe("meetings-1", Seen("RUNNING", pid - 1, 0, pid, gate_gave_up=True), pid) is None
        assert watch.observe("meetings-1", Seen("RUNNING", pid, 0, pid), pid) is None
    failures = [watch.observe("meetings-1", Seen("RUNNING", pid, 1, 0), 20) for pid in (20, 21, 22)]
    assert failures[:2] == [None, None]
    assert failures[2] == "crashed 3 times (last exit status 1)"


def test_supervisord_giving_up_and_a_failed_oneshot_fail_at_once() -> None:
    watch = StartWatch(["ferretdb", "kafka-topics"], started=0.0, oneshots=frozenset({"kafka-topics"}))
    assert watch.observe("ferretdb", Seen("FATAL", 0, 1, 0), 1) == "supervisord state FATAL"
    assert watch.observe("kafka-topics", Seen("EXITED", 0, 0, 0), 1) is None
    # its gate gave up while Kafka was still starting: supervisord runs it again
    assert watch.observe("kafka-topics", Seen("EXITED", 0, GATE_TIMEOUT_EXIT, 0), 1) is None
    assert watch.observe("kafka-topics", Seen("EXITED", 0, 2, 0), 2) == "exited with status 2"
