"""Unit tests of the per-socket token bucket."""

import pytest

from parley_signaling.domain.ratelimit import TokenBucket
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
