"""Expiry of meetings whose room stayed empty (issue 10, "Expiry").

Driven by the roster's events, not by polling every meeting: the roster consumer's write that
leaves a meeting's roster empty stores the deadline with it (``empty_since`` and
``expires_at`` = ``empty_since`` + the meeting's empty timeout, :func:`empty_room`), and a
write that puts someone in the room clears it. A meeting nobody ever joined has no deadline.
Each replica's expiry :class:`parley_meetings.sweeper.Sweeper` asks the store for due
deadlines (the meetings marked ``expiring`` whose ``expires_at`` has passed) every few
seconds and expires each with one conditional write
(:meth:`parley_meetings.repository.MeetingRepository.expire`): of two replicas sweeping at
once, one wins. The deadline is stored, so a restart of meetings loses none: the next sweep
of any replica finds it.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from parley_events import ParticipantJoined, ParticipantLeft, ReceivedEvent
from parley_meetings.domain.models import RosterEntry
from parley_meetings.repository import EmptyRoom


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
