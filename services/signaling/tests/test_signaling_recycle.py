"""The recycler's decision: when a replica that a burst of sockets left holding memory starts
afresh (parley_signaling.recycle). The real path, a replica process that drains and exits,
is in tests/e2e/test_signaling_recycle.py."""

from __future__ import annotations

from parley_signaling.recycle import MIB, RecyclePolicy, Recycler

POLICY = RecyclePolicy(excess_bytes=64 * MIB, burst_sockets=1000, max_sockets=0, wait_s=30, min_uptime_s=300)


class World:
    """The replica as the recycler sees it: a clock, a socket count, an RSS, the others."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sockets = 0
        self.rss = 120 * MIB
        self.others_alive = True
        self.recycles = 0

    def recycler(self, policy: RecyclePolicy = POLICY) -> Recycler:
        return Recycler(
            lambda: self.sockets,
            lambda: self.others_alive,
            self.recycle,
            policy,
            rss=lambda: self.rss,
            clock=lambda: self.now,
        )

    def recycle(self) -> None:
        self.recycles += 1

    def at(self, now: float, sockets: int, rss_mib: float) -> tuple[int, int]:
        self.now, self.sockets, self.rss = now, sockets, int(rss_mib * MIB)
        return sockets, self.rss


def burst_then_empty(world: World, recycler: Recycler, held_mib: float = 380, after_mib: float = 420) -> None:
    """A floor of 120 MiB at t=600, 10,000 sockets at t=700, none left at t=800."""
    assert recycler.due(*world.at(600, 0, 120)) is None
    assert recycler.due(*world.at(700, 10_000, held_mib)) is None
    assert recycler.due(*world.at(800, 0, after_mib)) is None  # the wait starts


def test_it_is_due_once_the_memory_a_burst_left_has_stayed_for_the_wait() -> None:
    world = World()
    recycler = world.recycler()
    burst_then_empty(world, recycler)
    assert recycler.due(*world.at(829, 0, 418)) is None  # 29 s: not yet
    reason = recycler.due(*world.at(830, 0, 418))
    assert reason is not None
    assert "0 sockets left after a burst of 10000" in reason
    assert "418 MiB" in reason and "298 MiB above the 120" in reason


def test_the_wait_starts_again_when_sockets_come_back() -> None:
    world = World()
    recycler = world.recycler()
    burst_then_empty(world, recycler)
    assert recycler.due(*world.at(820, 1, 418)) is None  # one socket: more than max_sockets
    assert recycler.due(*world.at(825, 0, 418)) is None
    assert recycler.due(*world.at(854, 0, 418)) is None  # 29 s since it emptied again
    assert recycler.due(*world.at(855, 0, 418)) is not None


def test_a_burst_that_left_little_behind_makes_a_new_floor() -> None:
    world = World()
    recycler = world.recycler()
    burst_then_empty(world, recycler, after_mib=150)  # 30 MiB above the floor: under 64
    assert recycler.due(*world.at(900, 0, 150)) is None
    # the floor is 150 now, and no burst since: a rise without sockets is not the sockets'
    assert recycler.due(*world.at(1000, 0, 300)) is None
    assert recycler.due(*world.at(2000, 0, 300)) is None
    assert world.recycles == 0


def test_no_burst_no_recycling_however_the_memory_grows() -> None:
    world = World()
    recycler = world.recycler()
    for t, sockets, rss in [(600, 0, 120), (700, 999, 200), (800, 0, 260), (900, 0, 260), (2000, 0, 260)]:
        assert recycler.due(*world.at(t, sockets, rss)) is None


def test_it_waits_for_the_minimum_uptime_and_for_another_replica() -> None:
    world = World()
    recycler = world.recycler()
    assert recycler.due(*world.at(0, 0, 120)) is None
    assert recycler.due(*world.at(60, 10_000, 380)) is None
    assert recycler.due(*world.at(120, 0, 420)) is None
    assert recycler.due(*world.at(299, 0, 420)) is None  # the wait is over, the uptime is not
    world.others_alive = False
    assert recycler.due(*world.at(300, 0, 420)) is None  # nobody would take new sockets
    world.others_alive = True
    assert recycler.due(*world.at(310, 0, 420)) is not None


def test_a_replica_may_be_left_a_few_sockets_to_drain() -> None:
    world = World()
    recycler = world.recycler(RecyclePolicy(excess_bytes=64 * MIB, max_sockets=20, wait_s=30, min_uptime_s=0))
    assert recycler.due(*world.at(0, 15, 120)) is None
    assert recycler.due(*world.at(10, 5_000, 300)) is None
    assert recycler.due(*world.at(20, 21, 330)) is None  # 21 > 20: not emptied enough
    assert recycler.due(*world.at(30, 20, 330)) is None
    reason = recycler.due(*world.at(60, 20, 330))
    assert reason is not None and reason.startswith("20 sockets left after a burst of 5000")


async def test_it_recycles_once() -> None:
    world = World()
    recycler = world.recycler(RecyclePolicy(excess_bytes=64 * MIB, wait_s=0, min_uptime_s=0))
    world.at(0, 0, 120)
    await recycler.look()
    world.at(10, 5_000, 300)
    await recycler.look()
    world.at(20, 0, 300)
    await recycler.look()
    assert world.recycles == 1 and recycler.recycled
    world.at(30, 0, 300)
    await recycler.look()
    assert world.recycles == 1


async def test_it_is_off_with_no_excess_allowed() -> None:
    world = World()
    recycler = world.recycler(RecyclePolicy(excess_bytes=0))
    recycler.start()
    assert not recycler._looks.running
    await recycler.stop()
