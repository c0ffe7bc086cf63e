"""The replicas' periodic sweeps (ringing calls, empty meetings) without a stack: a store that
is down for many runs is logged once when the sweep starts failing and once when it works
again, and the loop goes on through failures until cancelled."""

import asyncio
import logging

import pytest

from parley_meetings.sweeper import Sweeper


class FlakyStore:
    """A sweep whose first ``down`` runs raise (the store unreachable); later runs move ``moved``."""

    def __init__(self, down: int, moved: int) -> None:
        self.down, self.moved, self.runs = down, moved, 0

    async def sweep(self) -> int:
        self.runs += 1
        if self.runs <= self.down:
            raise ConnectionError("store unreachable")
        return self.moved


async def test_an_outage_is_logged_when_it_starts_and_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    store = FlakyStore(down=5, moved=2)
    sweeper = Sweeper("ring", store.sweep, interval_s=0.01)
    caplog.set_level(logging.INFO, logger="parley_meetings.sweeper")  # not DEBUG: what an operator reads
    for _ in range(7):
        await sweeper.run_once()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("ERROR", "the ring sweep failed; trying again every 0.01 s (logged again when it works)"),
        ("INFO", "the ring sweep works again after 5 failed tries"),
        ("INFO", "the ring sweep moved 2"),
        ("INFO", "the ring sweep moved 2"),
    ]
    assert caplog.records[0].exc_info is not None  # the first failure keeps its traceback
    assert sweeper.failure.failures == 0


async def test_the_loop_sweeps_at_once_goes_on_through_failures_and_stops_when_cancelled() -> None:
    store = FlakyStore(down=3, moved=0)
    task = asyncio.create_task(Sweeper("expiry", store.sweep, interval_s=0.01).run())
    async with asyncio.timeout(30):
        while store.runs < 6:
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
