"""The heap trimmer: when it trims after sockets closed, what it counts, and the real
``malloc_trim`` of this machine's C library (parley_signaling.heap_trim)."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from parley_signaling.heap_trim import HeapTrimmer, glibc_malloc_trim, rss_bytes


class Sockets:
    def __init__(self) -> None:
        self.count = 0


def trimmer(sockets: Sockets, trims: list[int], rss: list[int] | None = None) -> tuple[HeapTrimmer, CollectorRegistry]:
    registry = CollectorRegistry()
    sizes = iter(rss or [])
    return HeapTrimmer(
        lambda: sockets.count,
        registry,
        interval_s=0.01,
        min_drop=500,
        trim=lambda: trims.append(sockets.count),
        rss=lambda: next(sizes, 0),
    ), registry


def test_a_trim_is_due_only_after_a_large_drop_from_the_peak() -> None:
    t, _ = trimmer(Sockets(), [])
    assert not t.due(0)
    assert not t.due(4_000)  # rising
    assert not t.due(3_600)  # 400 fewer: under min_drop
    assert not t.due(3_100)  # 900 fewer, but less than a quarter of 4,000
    assert not t.due(2_900)  # 1,100 fewer and over a quarter, but still falling
    assert t.due(2_900)  # and now no longer
    assert not t.due(2_950)  # the peak restarts from there
    assert not t.due(2_300) and not t.due(2_300)  # 650 fewer than 2,950, but not a quarter
    assert not t.due(2_000)  # a quarter now, but falling
    assert t.due(2_010)
    # a small replica: a quarter is not enough without min_drop
    small, _ = trimmer(Sockets(), [])
    assert not small.due(400) and not small.due(0) and not small.due(0)


def test_it_trims_once_per_drop_and_counts_what_came_back() -> None:
    sockets, trims = Sockets(), []
    t, registry = trimmer(sockets, trims, rss=[300 * 2**20, 297 * 2**20])  # under the follow-up's 4 MiB

    async def run() -> None:
        t.start()
        sockets.count = 5_000
        await asyncio.sleep(0.05)
        sockets.count = 0
        await asyncio.sleep(0.1)
        await t.stop()

    asyncio.run(run())
    assert trims == [0]
    assert registry.get_sample_value("parley_signaling_heap_trims_total") == 1
    assert registry.get_sample_value("parley_signaling_heap_trimmed_bytes_total") == 3 * 2**20


def test_the_c_library_of_this_machine_trims() -> None:
    trim = glibc_malloc_trim()
    assert trim is not None  # Debian's glibc
    assert trim() in (0, 1)  # 1: memory was given back
    assert rss_bytes() > 0


def test_a_trim_that_paid_is_followed_by_another_until_one_does_not() -> None:
    """The close's own work frees memory after the count settled: the first trim may find
    little, so each trim that gave back at least ``follow_up_bytes`` is tried again."""
    sockets, trims = Sockets(), []
    mib = 2**20
    # (before, after) of each trim: 8 MiB back, then 38, then 1 (under the 4 MiB follow-up)
    t, registry = trimmer(sockets, trims, rss=[460 * mib, 452 * mib, 452 * mib, 414 * mib, 414 * mib, 413 * mib])

    async def run() -> None:
        sockets.count = 10_000
        await t.check()
        sockets.count = 0
        await t.check()  # falling
        for _ in range(6):
            await t.check()

    asyncio.run(run())
    assert trims == [0, 0, 0]
    assert registry.get_sample_value("parley_signaling_heap_trims_total") == 3
    assert registry.get_sample_value("parley_signaling_heap_trimmed_bytes_total") == 47 * mib
