"""SessionHeartbeat: a session is announced at its first socket's connect and at every beat,
not once per socket; a beat's sessions go in ticks, each tick's records enqueued before any
acknowledgement is awaited (a fake ``_publish``, or a fake broker, records what would be
published: a unit test; tests/e2e/test_single_session.py has the heartbeat on real Kafka)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from types import SimpleNamespace

import pytest

from parley_signaling import sessions as sessions_module
from parley_signaling.sessions import SessionHeartbeat

# the beats are timers: a busy machine delays them, so no test counts on a beat within a fixed sleep
from signaling_testkit import until


class Recording(SessionHeartbeat):
    """Records each session it would publish, and when."""

    def __init__(self, live: set[tuple[str, str]], interval_s: float, tick_s: float = 0.25) -> None:
        super().__init__(
            None, lambda: set(live), replica_id="r1", interval_s=interval_s, tick_s=tick_s  # type: ignore[arg-type]
        )
        self.sent: list[tuple[str, str]] = []
        self.ticks: list[tuple[float, list[tuple[str, str]]]] = []

    async def _publish(self, sessions: Sequence[tuple[str, str]]) -> None:
        self.sent.extend(sessions)
        self.ticks.append((asyncio.get_running_loop().time(), list(sessions)))


async def test_only_a_sessions_first_socket_announces_it_at_once() -> None:
    live: set[tuple[str, str]] = set()
    heartbeat = Recording(live, interval_s=3600)
    heartbeat.start()
    try:
        live.add(("u1", "s1"))
        for _ in range(3):
            heartbeat.connected("u1", "s1")
        heartbeat.connected("u2", "s2")
        heartbeat.connected("u3", None)  # a guest: no session, no lease
        await asyncio.sleep(0)
        assert sorted(heartbeat.sent) == [("u1", "s1"), ("u2", "s2")]
    finally:
        await heartbeat.stop()


async def test_each_beat_announces_the_live_sessions_and_forgets_the_gone_ones() -> None:
    live = {("u1", "s1"), ("u2", "s2")}
    heartbeat = Recording(live, interval_s=0.05)
    heartbeat.start()
    try:
        heartbeat.connected("u1", "s1")
        await until(lambda: heartbeat.sent.count(("u2", "s2")) >= 2)  # two beats
        assert heartbeat.sent.count(("u1", "s1")) >= 3  # the announcement, then the beats
        live.discard(("u1", "s1"))  # its last socket closed
        beats = heartbeat.sent.count(("u2", "s2"))
        # the beat under way may still send both (s1 first: in session-id order); two more send s2 alone
        await until(lambda: heartbeat.sent.count(("u2", "s2")) >= beats + 3)
        assert heartbeat.sent[-2:] == [("u2", "s2"), ("u2", "s2")]
        count = len(heartbeat.sent)
        heartbeat.connected("u1", "s1")  # back: announced at once again
        await asyncio.sleep(0)
        assert heartbeat.sent[count] == ("u1", "s1")
    finally:
        await heartbeat.stop()


async def test_a_beat_spreads_its_sessions_over_the_interval_in_ticks_in_a_stable_order() -> None:
    """Not one burst per interval, nor one record at a time: with n sessions and t ticks, tick
    k publishes the k-th t-th of them together, due interval / t * k after the beat began. A
    busy machine can delay a tick, but never bring one forward: the test bounds each tick's
    time from below, from before the beat began."""
    sessions = {(f"u{i}", f"s{i:02}") for i in range(10)}
    interval, tick = 0.5, 0.1  # five ticks of two sessions
    heartbeat = Recording(set(sessions), interval_s=interval, tick_s=tick)
    began = asyncio.get_running_loop().time()
    heartbeat.start()
    try:
        await until(lambda: len(heartbeat.sent) >= 20, timeout=30)  # two beats
    finally:
        await heartbeat.stop()
    in_order = sorted(sessions, key=lambda s: s[1])
    assert [batch for _, batch in heartbeat.ticks[:10]] == [in_order[i : i + 2] for i in range(0, 10, 2)] * 2
    early = 0.001  # asyncio runs a timer up to its clock's resolution early
    times = [at for at, _ in heartbeat.ticks[:5]]
    assert all(at >= began + k * tick - early for k, at in enumerate(times, start=1)), (began, times)


async def test_fewer_sessions_than_ticks_go_one_per_tick() -> None:
    sessions = {("u1", "s1"), ("u2", "s2")}
    heartbeat = Recording(set(sessions), interval_s=0.4, tick_s=0.1)  # four ticks, two sessions
    heartbeat.start()
    try:
        await until(lambda: len(heartbeat.sent) >= 4, timeout=30)
    finally:
        await heartbeat.stop()
    assert [batch for _, batch in heartbeat.ticks[:4]] == [[("u1", "s1")], [("u2", "s2")]] * 2


async def test_an_idle_replica_wakes_once_a_beat_not_every_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []

    class CountingAsyncio:
        """The module's ``asyncio``, counting the heartbeat's sleeps."""

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(asyncio, name)

        async def sleep(self, delay: float) -> None:
            sleeps.append(delay)
            await asyncio.sleep(delay)

    monkeypatch.setattr(sessions_module, "asyncio", CountingAsyncio())
    heartbeat = Recording(set(), interval_s=0.2, tick_s=0.01)  # 20 ticks a beat, no session
    heartbeat.start()
    await asyncio.sleep(0.5)
    await heartbeat.stop()
    assert heartbeat.sent == []
    assert 1 <= len(sleeps) <= 4, sleeps  # one a beat (at most 3 in 0.5 s), not one a tick (~50)


class Broker:
    """A fake KafkaBroker: ``publish(..., no_confirm=True)`` enqueues and returns the future of
    the record's acknowledgement, which the test settles."""

    def __init__(self) -> None:
        self.acks: list[asyncio.Future[None]] = []
        self.keys: list[bytes | str | None] = []

    async def publish(self, value, topic, *, key=None, headers=None, no_confirm=False):  # noqa: ANN001, ANN201
        assert no_confirm, "a tick enqueues every record before it waits for one"
        self.keys.append(key)
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack


async def test_a_tick_enqueues_every_record_before_awaiting_their_acknowledgements(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = Broker()
    router = SimpleNamespace(broker=broker)
    heartbeat = SessionHeartbeat(router, set, replica_id="r1", interval_s=3600)  # type: ignore[arg-type]
    publishing = asyncio.create_task(heartbeat._publish([("u1", "s1"), ("u2", "s2"), ("u3", "s3")]))
    await until(lambda: len(broker.acks) == 3)  # all three enqueued, none acknowledged yet
    assert broker.keys == [b"u1", b"u2", b"u3"]  # key = user id
    assert not publishing.done()
    broker.acks[0].set_result(None)
    broker.acks[1].set_exception(RuntimeError("KafkaTimeoutError"))
    await asyncio.sleep(0)
    assert not publishing.done()  # still waiting for the third
    broker.acks[2].set_result(None)
    with caplog.at_level(logging.WARNING, logger="parley_signaling.sessions"):
        await asyncio.wait_for(publishing, 5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "1 of 3 sessions not published" in warnings[0], warnings


class Publishing(SessionHeartbeat):
    """Takes as long as a real publish (an awaited record) before recording the session."""

    def __init__(self, live: set[tuple[str, str]], interval_s: float) -> None:
        super().__init__(None, lambda: set(live), replica_id="r1", interval_s=interval_s)  # type: ignore[arg-type]
        self.published: list[tuple[str, str]] = []

    async def _publish(self, sessions: Sequence[tuple[str, str]]) -> None:
        await asyncio.sleep(0.01)
        self.published.extend(sessions)


async def test_a_socket_that_connects_while_a_beat_is_published_does_not_break_the_beat() -> None:
    live = {("u1", "s1"), ("u2", "s2")}
    heartbeat = Publishing(live, interval_s=0.05)
    heartbeat.start()
    try:
        await asyncio.sleep(0.055)  # the first beat is publishing its two sessions
        live.add(("u3", "s3"))
        heartbeat.connected("u3", "s3")
        # at once, then with a later beat: only a beat task that survived publishes it again
        await until(lambda: heartbeat.published.count(("u3", "s3")) >= 2
                    or heartbeat._task is None or heartbeat._task.done())
        assert heartbeat._task is not None and not heartbeat._task.done()
        assert heartbeat.published.count(("u3", "s3")) >= 2
    finally:
        await heartbeat.stop()
