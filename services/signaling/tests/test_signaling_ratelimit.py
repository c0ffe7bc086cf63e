"""Unit tests of the per-socket token bucket and the limits a user's sockets share."""

import pytest

from parley_signaling.domain.ratelimit import TokenBucket, UserLimits
from parley_testing import FakeClock


def test_burst_then_refuses() -> None:
    clock = FakeClock(100.0)
    bucket = TokenBucket(rate=50, burst=100, clock=clock)
    assert all(bucket.allow() for _ in range(100))
    assert not bucket.allow()


def test_refills_at_the_rate_up_to_the_burst() -> None:
    clock = FakeClock(100.0)
    bucket = TokenBucket(rate=40, burst=100, clock=clock)
    for _ in range(100):
        bucket.allow()
    clock.now += 0.125  # 5 tokens (binary-exact)
    assert [bucket.allow() for _ in range(6)] == [True] * 5 + [False]
    clock.now += 3600  # never more than the burst
    assert sum(bucket.allow() for _ in range(150)) == 100


def test_sustained_rate() -> None:
    clock = FakeClock(100.0)
    bucket = TokenBucket(rate=10, burst=1, clock=clock)
    allowed = 0
    for _ in range(1000):  # 1000 attempts over 10 seconds
        clock.now += 0.01
        allowed += bucket.allow()
    assert 99 <= allowed <= 101


def test_a_clock_going_backwards_gives_nothing() -> None:
    clock = FakeClock(100.0)
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    assert bucket.allow()
    clock.now -= 10
    assert not bucket.allow()


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_rejects_nonsense(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=rate, burst=burst)


def test_a_shared_bucket_is_charged_with_the_own_one_or_not_at_all() -> None:
    clock = FakeClock(100.0)
    shared = TokenBucket(rate=1, burst=3, clock=clock)
    a, b = TokenBucket(rate=1, burst=2, clock=clock), TokenBucket(rate=1, burst=10, clock=clock)
    assert [a.allow(shared) for _ in range(3)] == [True, True, False]  # a's own two
    assert [b.allow(shared) for _ in range(2)] == [True, False]  # the shared budget's last one
    clock.now += 1.0  # one token back in each
    assert a.allow(shared)  # a's refused third event took no shared token
    assert not b.allow(shared)


def test_user_limits_count_sockets_per_user_up_to_the_cap() -> None:
    limits = UserLimits(max_sockets=2, rate=10, burst=20)
    first, second = limits.admit("u1"), limits.admit("u1")
    assert first is not None and first is second  # one budget for the user's sockets
    assert limits.admit("u1") is None and limits.sockets_of("u1") == 2
    assert limits.admit("u2") is not first
    limits.release("u1")
    assert limits.admit("u1") is first
    limits.release("u1")
    limits.release("u1")
    assert limits.sockets_of("u1") == 0
    assert limits.admit("u1") is not first  # the entry went with the last socket
    limits.release("nobody")  # nothing to release: no error
