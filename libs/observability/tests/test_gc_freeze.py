"""SurvivorFreezer: a full collection's survivors leave later collections until the thaw, and
cyclic garbage among them is reclaimed after it."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from parley_observability.gc_freeze import SurvivorFreezer
from parley_testing.faults import until


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
async def freezer() -> AsyncIterator[tuple[SurvivorFreezer, CollectorRegistry]]:
    registry = CollectorRegistry()
    freezer = SurvivorFreezer(registry, thaw_interval_s=3600)
    freezer.start()
    try:
        yield freezer, registry
    finally:
        await freezer.stop()
    assert freezer not in gc.callbacks
    assert gc.get_freeze_count() == 0


async def test_start_freezes_what_start_up_made() -> None:
    """The first full collection under traffic would walk every object of the start-up."""
    made = [Node() for _ in range(1000)]
    freezer = SurvivorFreezer(CollectorRegistry(), thaw_interval_s=3600)
    freezer.start()
    try:
        assert gc.get_freeze_count() >= len(made)
    finally:
        await freezer.stop()
    del made


async def test_the_survivors_of_a_full_collection_are_frozen(freezer) -> None:
    kept = [Node() for _ in range(1000)]
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)
    # a young generation's collection does not freeze
    frozen = gc.get_freeze_count()
    more = [Node() for _ in range(1000)]
    gc.collect(0)
    assert gc.get_freeze_count() == frozen
    del kept, more


async def test_a_frozen_object_is_still_freed_by_reference_counting(freezer) -> None:
    kept = Node()
    ref = weakref.ref(kept)
    gc.collect()
    frozen = gc.get_freeze_count()
    del kept
    assert ref() is None
    assert gc.get_freeze_count() == frozen - 1


async def test_frozen_cyclic_garbage_is_reclaimed_after_the_thaw(freezer) -> None:
    instance, registry = freezer
    holder = [Node()]
    holder[0].other = Node()
    holder[0].other.other = holder[0]
    ref = weakref.ref(holder[0])
    gc.collect()  # a cycle, alive (held by the list): frozen
    holder.clear()  # now garbage that only the collector frees, but frozen
    gc.collect()
    assert ref() is not None
    instance.thaw()
    assert registry.get_sample_value("parley_gc_thaws_total") == 1
    gc.collect()
    assert ref() is None


async def test_as_a_context_manager_it_freezes_inside_and_gives_everything_back_after() -> None:
    made = [Node() for _ in range(1000)]
    async with SurvivorFreezer(CollectorRegistry(), thaw_interval_s=3600) as freezer:
        assert freezer in gc.callbacks and gc.get_freeze_count() >= len(made)
    assert freezer not in gc.callbacks and gc.get_freeze_count() == 0
    del made


async def test_the_timer_thaws_every_interval() -> None:
    registry = CollectorRegistry()
    freezer = SurvivorFreezer(registry, thaw_interval_s=0.05)
    freezer.start()
    try:
        # the thaws are timers, which a busy machine delays: wait for two, not a fixed time
        async def thawed_twice() -> bool:
            return (registry.get_sample_value("parley_gc_thaws_total") or 0) >= 2

        await until(thawed_twice, timeout_s=10, what="two thaws", every_s=0.01)
    finally:
        await freezer.stop()
