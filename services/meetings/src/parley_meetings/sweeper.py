"""A replica's periodic sweep: the ringing calls past their deadline and the accepted ones
whose room stayed empty past theirs (:meth:`parley_meetings.domain.calls.Calls.expire_due`),
and the empty meetings past theirs
(:meth:`parley_meetings.domain.service.Meetings.expire_due`).

Every replica runs each sweep; the store's conditional writes let one replica win each item,
and the deadlines are stored, so a restart loses none. While the store is down the sweep fails
on every run: that is logged when it starts and when it ends (:class:`RepeatedFailure`).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from parley_observability import RepeatedFailure

log = logging.getLogger(__name__)


class Sweeper:
    """Runs ``sweep`` (returns how many items it moved) every ``interval_s`` seconds, first
    at once, until cancelled. ``name`` names it in the log ("ring", "expiry")."""

    def __init__(self, name: str, sweep: Callable[[], Awaitable[int]], interval_s: float) -> None:
        self.name = name
        self._sweep = sweep
        self._interval_s = interval_s
        self.failure = RepeatedFailure(log, f"the {name} sweep")

    async def run(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self._interval_s)

    async def run_once(self) -> None:
        """One sweep; a failure is logged, not raised."""
        try:
            moved = await self._sweep()
        except Exception:  # noqa: BLE001 - the store may be down for a while: the next run tries again
            self.failure.failed(self._interval_s)
            return
        self.failure.succeeded()
        if moved:
            log.info("the %s sweep moved %d", self.name, moved)
