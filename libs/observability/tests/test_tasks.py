"""stop_task ends a background task even when the task swallows its first cancellation; Periodic
runs a chore every interval until stopped."""

import asyncio
import contextlib

from parley_observability import Periodic, stop_task


async def swallows_one_cancellation(log: list[str]) -> None:
    """A loop like a relay's whose awaited library call eats a CancelledError and returns."""
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if log:
                raise
            log.append("swallowed")


async def test_a_task_that_swallows_its_cancellation_is_cancelled_again_until_it_ends() -> None:
    log: list[str] = []
    task = asyncio.create_task(swallows_one_cancellation(log))
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_task(task, recancel_after_s=0.05), 5)
    assert task.cancelled() and log == ["swallowed"]


async def test_cancel_then_await_alone_would_wait_forever_on_such_a_task() -> None:
    """The defect stop_task exists for (seen as a 90 s app shutdown in CI)."""
    log: list[str] = []
    task = asyncio.create_task(swallows_one_cancellation(log))
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=0.2)
    assert not done and log == ["swallowed"]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_task_that_failed_or_finished_is_left_as_it_ended() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    failed = asyncio.create_task(fails())
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    await stop_task(failed)
    await stop_task(finished)
    assert isinstance(failed.exception(), RuntimeError) and finished.done() and not finished.cancelled()


async def test_a_periodic_chore_runs_every_interval_and_outlives_a_failed_step(caplog) -> None:
    steps: list[int] = []

    async def step() -> None:
        steps.append(len(steps))
        if len(steps) == 2:
            raise RuntimeError("the second step fails")

    chore = Periodic("chore", 0.01, step, "the chore failed")
    chore.start()
    chore.start()  # once started, a second start adds nothing
    assert chore.running
    await asyncio.sleep(0.2)
    await chore.stop()
    ran = len(steps)
    assert ran >= 4  # on past the failure
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == ["the chore failed"]
    await asyncio.sleep(0.05)
    assert len(steps) == ran and not chore.running
