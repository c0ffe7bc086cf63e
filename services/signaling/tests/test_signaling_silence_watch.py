"""SilenceWatch: one timer per socket ends a read that waited too long, never a handler."""

import asyncio

import pytest

from parley_signaling.silence_watch import SilenceWatch

SILENCE = 1.0
#: how late an expiry may come on a loaded machine; a timer re-armed a silence late would not pass
LATE = 0.8 * SILENCE


async def test_a_read_that_waits_longer_than_the_silence_raises_timeout_and_the_task_is_not_cancelled() -> None:
    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    watch = SilenceWatch(SILENCE)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await watch.read(lambda: never)
    assert SILENCE <= loop.time() - started < SILENCE + LATE
    assert watch.expired
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the cancellation was withdrawn
    await asyncio.sleep(0)  # and no other one is pending
    watch.close()


async def test_messages_within_the_silence_keep_reading_for_longer_than_one_silence() -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    watch = SilenceWatch(SILENCE)

    async def client() -> None:
        for n in range(8):  # 8 x 0.3 s: well past one silence in all
            await asyncio.sleep(0.3)
            queue.put_nowait(str(n))

    sender = asyncio.ensure_future(client())
    read = [await watch.read(queue.get) for _ in range(8)]
    assert read == [str(n) for n in range(8)] and not watch.expired
    await sender
    watch.close()


async def test_a_handler_longer_than_the_silence_is_not_cancelled_and_the_silence_counts_from_the_next_read() -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()
    queue.put_nowait("first")
    watch = SilenceWatch(SILENCE)
    assert await watch.read(queue.get) == "first"
    await asyncio.sleep(SILENCE * 1.05)  # a slow handler: the timer fires meanwhile, re-armed a
    # silence later, so it fires again before the next read's silence is over
    assert not watch.expired
    next_read = loop.time()
    with pytest.raises(TimeoutError):
        await watch.read(queue.get)
    assert SILENCE <= loop.time() - next_read < SILENCE + LATE
    watch.close()


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    watch_made = asyncio.Event()

    async def reader() -> None:
        watch = SilenceWatch(60.0)
        watch_made.set()
        try:
            await watch.read(asyncio.Event().wait)
        finally:
            watch.close()

    task = asyncio.ensure_future(reader())
    await watch_made.wait()
    await asyncio.sleep(0)
    task.cancel()  # the server stopping
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_close_stops_the_timer() -> None:
    watch = SilenceWatch(0.05)
    watch.close()
    watch.close()
    await asyncio.sleep(0.15)  # nothing fires: the task would be cancelled here
    assert not watch.expired


async def test_a_message_heard_without_a_read_starts_the_silence_again() -> None:
    """Messages handled as they are read (docs/signaling.md, "Transport") never return from
    the read; each one heard counts as a read that returned and a new one that began."""
    loop = asyncio.get_running_loop()
    never: asyncio.Future[str] = loop.create_future()
    watch = SilenceWatch(SILENCE)

    async def client() -> None:
        for _ in range(5):  # 5 x 0.3 s: well past one silence in all
            await asyncio.sleep(0.3)
            watch.heard()

    heard = asyncio.ensure_future(client())
    started = loop.time()
    with pytest.raises(TimeoutError):
        await watch.read(lambda: never)
    assert 1.5 + SILENCE <= loop.time() - started < 1.5 + SILENCE + LATE
    await heard
    watch.close()
