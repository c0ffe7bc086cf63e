"""Expiry of meetings whose room stayed empty (issue 10, "Expiry").

Driven by the roster's events, not by polling every meeting: the roster consumer's write that
leaves a meeting's roster empty stores the deadline with it (``empty_since`` and
``expires_at`` = ``empty_since`` + the meeting's empty timeout, :func:`empty_room`), and a
write that puts someone in the room clears it. A meeting nobody ever joined has no deadline.
:class:`ExpirySweeper` (one per replica) asks the store for due deadlines (an index query on
``expires_at``) every ``interval_s`` seconds and expires each with one conditional write
(:meth:`parley_meetings.repository.MeetingRepository.expire`): of two replicas sweeping at
once, one wins. The deadline is stored, so a restart of meetings loses none: the next sweep
of any replica finds it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from parley_events import ParticipantJoined, ParticipantLeft, ReceivedEvent
from parley_meetings.domain.models import RosterEntry
from parley_meetings.repository import EmptyRoom

log = logging.getLogger(__name__)


def empty_room(
    roster: Sequence[RosterEntry], applied: Sequence[ReceivedEvent], timeout: timedelta, now: datetime
) -> EmptyRoom | None:
    """The deadline to store with ``roster`` (the roster after the ``applied`` events): None
    when someone is in the room; else empty since the last applied event's time (a leave's
    ``left_at``, a join's ``joined_at``; never later than ``now``) and expiring ``timeout``
    after it."""
    if roster:
        return None
    times = [
        e.data.left_at if isinstance(e.data, ParticipantLeft) else e.data.joined_at
        for e in applied
        if isinstance(e.data, ParticipantJoined | ParticipantLeft)
    ]
    since = min(times[-1], now) if times else now
    since = since.replace(microsecond=since.microsecond // 1000 * 1000)  # BSON keeps milliseconds
    return EmptyRoom(since=since, expires_at=since + timeout)


class ExpirySweeper:
    """Calls ``sweep`` (expire what is due; returns how many expired) every ``interval_s``
    seconds until stopped; a failing sweep (the store down) is logged and tried again at the
    next interval."""

    def __init__(self, sweep: Callable[[], Awaitable[int]], interval_s: float) -> None:
        self._sweep = sweep
        self._interval_s = interval_s

    async def run(self) -> None:
        while True:
            try:
                expired = await self._sweep()
                if expired:
                    log.info("expired %d empty meetings", expired)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next sweep tries again
                log.warning("expiry sweep failed; trying again in %gs", self._interval_s, exc_info=True)
            await asyncio.sleep(self._interval_s)
