"""Unit tests of replica liveness judged only while the bus is heard."""

import pytest

from parley_signaling.config import Settings
from parley_signaling.liveness import BusChange, ReplicaLiveness
from parley_testing import FakeClock


def liveness(clock: FakeClock[float]) -> ReplicaLiveness:
    return ReplicaLiveness(replica_timeout_s=5.0, bus_timeout_s=2.5, clock=clock)


def test_the_bus_is_up_on_a_fresh_read_back_and_lost_without_one() -> None:
    clock = FakeClock(100.0)
    live = liveness(clock)
    assert live.bus_up is False and live.check_bus() is None  # never up: nothing to lose
    clock.now += 1
    assert live.loopback(sent_at=clock.now - 3) is None  # sent 3 s ago: stale, proves nothing
    assert live.loopback(sent_at=clock.now - 0.1) == BusChange(up=True, after_s=1.0)
    assert live.loopback(sent_at=clock.now) is None  # already up
    clock.now += 2.5
    assert live.check_bus() is None
    clock.now += 0.1
    assert live.check_bus() == BusChange(up=False, after_s=pytest.approx(2.6))
    assert live.bus_up is False and live.check_bus() is None
    clock.now += 30
    assert live.loopback(sent_at=clock.now) == BusChange(up=True, after_s=30.0)


def test_silence_counts_only_while_the_bus_is_up_and_restarts_when_it_is_back() -> None:
    clock = FakeClock(100.0)
    live = liveness(clock)
    live.heard("r2")
    clock.now += 10
    assert live.silent() == []  # the bus was never up here: nobody is judged
    live.loopback(sent_at=clock.now)
    clock.now += 5
    live.loopback(sent_at=clock.now)
    assert live.silent() == []  # 5 s of bus: not more than the timeout
    clock.now += 0.5
    live.loopback(sent_at=clock.now)
    assert live.silent() == [("r2", pytest.approx(15.5))]
    assert live.alive() == set()
    # an outage: the bus is lost, then back; r2 gets a whole timeout again from then
    live.heard("r3")
    clock.now += 3
    live.check_bus()
    clock.now += 40
    assert live.silent() == [] and live.alive() == {"r2", "r3"}
    live.loopback(sent_at=clock.now)
    clock.now += 4
    live.loopback(sent_at=clock.now)
    assert live.silent() == []
    live.forget("r2")
    assert not live.knows("r2") and live.knows("r3")


def test_a_replica_heard_some_time_ago_counts_from_then() -> None:
    clock = FakeClock(100.0)
    live = liveness(clock)
    live.loopback(sent_at=clock.now)
    clock.now += 10
    live.loopback(sent_at=clock.now)
    live.heard("r2", ago_s=4)  # e.g. its last record in the topic's history, read at start
    clock.now += 1.5
    live.loopback(sent_at=clock.now)
    assert live.silent() == [("r2", pytest.approx(5.5))]


def test_the_timeouts_must_leave_room_to_notice_a_lost_bus() -> None:
    with pytest.raises(ValueError):
        ReplicaLiveness(replica_timeout_s=5.0, bus_timeout_s=5.0)
    with pytest.raises(ValueError):
        Settings(signaling_heartbeat_seconds=2.0, signaling_replica_timeout_seconds=5.0)
    settings = Settings(signaling_heartbeat_seconds=1.0, signaling_replica_timeout_seconds=3.0)
    assert settings.signaling_replica_timeout_seconds == 3.0
