"""SessionHeartbeat: a session is announced at its first socket's connect and at every beat,
not once per socket (a fake ``_send`` records what would be published: a unit test)."""

from __future__ import annotations

import asyncio

from parley_signaling.sessions import SessionHeartbeat

# the beats are timers: a busy machine delays them, so no test counts on a beat within a fixed sleep
from signaling_testkit import until


class Recording(SessionHeartbeat):
    """Records each session it would publish, and when."""

    def __init__(self, live: set[tuple[str, str]], interval_s: float) -> None:
        super().__init__(None, lambda: set(live), replica_id="r1", interval_s=interval_s)  # type: ignore[arg-type]
        self.sent: list[tuple[str, str]] = []
        self.times: list[float] = []

    async def _send(self, user_id: str, session_id: str) -> None:
        self.sent.append((user_id, session_id))
        self.times.append(asyncio.get_running_loop().time())


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


async def test_a_beat_spreads_its_sessions_over_the_interval_in_a_stable_order() -> None:
    """Not one burst per interval: with n sessions, the k-th record of a beat is due interval
    / n * k after the beat began. A busy machine can delay a record, and then the gap to the
    next one is shorter than interval / n (its due time is fixed), but never bring one
    forward: the test bounds each record's time from below, from before the beat began."""
    sessions = {(f"u{i}", f"s{i:02}") for i in range(10)}
    interval = 0.5
    heartbeat = Recording(set(sessions), interval_s=interval)
    began = asyncio.get_running_loop().time()
    heartbeat.start()
    try:
        await until(lambda: len(heartbeat.sent) >= 20, timeout=30)  # two beats
    finally:
        await heartbeat.stop()
    first, second = heartbeat.sent[:10], heartbeat.sent[10:20]
    assert first == sorted(sessions, key=lambda s: s[1])
    assert second == first
    step = interval / 10
    early = 0.001  # asyncio runs a timer up to its clock's resolution early
    assert all(at >= began + k * step - early for k, at in enumerate(heartbeat.times[:10], start=1)), (began, heartbeat.times)


class Publishing(SessionHeartbeat):
    """Takes as long as a real publish (an awaited record) before recording the session."""

    def __init__(self, live: set[tuple[str, str]], interval_s: float) -> None:
        super().__init__(None, lambda: set(live), replica_id="r1", interval_s=interval_s)  # type: ignore[arg-type]
        self.published: list[tuple[str, str]] = []

    async def _send(self, user_id: str, session_id: str) -> None:
        await asyncio.sleep(0.01)
        self.published.append((user_id, session_id))


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
