"""LeanQueue: asyncio.Queue's behaviour for an unbounded queue, without its buffers while empty."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest

from parley_signaling.lean_queue import LeanQueue


async def test_items_come_out_in_the_order_they_were_put() -> None:
    queue: LeanQueue[int] = LeanQueue()
    for item in range(5):
        await queue.put(item)
    assert queue.qsize() == 5
    assert [await queue.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert queue.empty()
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_get_waits_for_the_next_put_and_waiters_are_served_in_order() -> None:
    queue: LeanQueue[str] = LeanQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not first.done() and not second.done()
    queue.put_nowait("a")
    queue.put_nowait("b")
    assert await asyncio.wait_for(first, 1) == "a"
    assert await asyncio.wait_for(second, 1) == "b"


async def test_a_cancelled_get_takes_nothing_and_passes_its_wake_up_on() -> None:
    queue: LeanQueue[str] = LeanQueue()
    cancelled = asyncio.ensure_future(queue.get())
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("only")  # wakes `cancelled`, which is cancelled before it runs
    cancelled.cancel()
    assert await asyncio.wait_for(waiting, 1) == "only"
    assert cancelled.cancelled()
    assert queue.empty()


async def test_a_get_timed_out_leaves_the_queue_usable() -> None:
    queue: LeanQueue[int] = LeanQueue()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await queue.get()
    queue.put_nowait(7)
    assert await asyncio.wait_for(queue.get(), 1) == 7


async def test_join_waits_until_every_item_is_done() -> None:
    queue: LeanQueue[int] = LeanQueue()
    await asyncio.wait_for(queue.join(), 1)  # nothing put: at once
    queue.put_nowait(1)
    queue.put_nowait(2)
    joined = asyncio.ensure_future(queue.join())
    await queue.get()
    queue.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    await queue.get()
    queue.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError):
        queue.task_done()


def test_an_empty_queue_holds_a_tenth_of_an_asyncio_queue() -> None:
    def allocated(make: type) -> float:
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            queues = [make() for _ in range(1000)]
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        assert len(queues) == 1000
        return sum(stat.size_diff for stat in after.compare_to(before, "filename")) / 1000

    lean, standard = allocated(LeanQueue), allocated(asyncio.Queue)
    assert lean < standard / 10, (lean, standard)


async def test_a_queue_with_one_waiting_get_holds_no_deque() -> None:
    """An idle socket's queues each have one waiting get (its reader or writer task): that
    future is kept as it is, no 624-byte deque for it; two waiting gets are served in order."""
    queue: LeanQueue[int] = LeanQueue()
    first = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert isinstance(queue._getters, asyncio.Future)  # noqa: SLF001
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert [await first, await second] == [1, 2]
    assert queue._getters is None  # noqa: SLF001
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert queue._getters is None  # noqa: SLF001
    queue.put_nowait(3)
    assert await asyncio.wait_for(queue.get(), 1) == 3


async def test_waiting_is_true_only_while_a_get_waits_on_an_empty_queue() -> None:
    queue: LeanQueue[str] = LeanQueue()
    assert not queue.waiting()  # nobody waits
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert queue.waiting()
    queue.put_nowait("a")  # the get is woken, but has not taken it yet
    assert not queue.waiting()
    assert await asyncio.wait_for(getter, 1) == "a"
    assert not queue.waiting()
