"""The meeting use cases. Routes call these; these call the repository (one hop).

Events are staged in the outbox inside the same write as the change they describe; the
relay is woken with ``notify`` afterwards.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from parley_events import (
    MeetingCreated,
    MeetingEnded,
    MeetingJoined,
    ParticipantJoined,
    ParticipantLeft,
    ReceivedEvent,
    outbox_entry,
)
from parley_meetings.domain.errors import MeetingHasEnded, MeetingNotFound, NotAParticipant, NotHost
from parley_meetings.domain.ids import new_meeting_id
from parley_meetings.domain.models import Meeting, MeetingSummary, Participant, Role, RosterEntry, utc_now
from parley_meetings.domain.summaries import SummaryCache
from parley_meetings.metrics import MeetingsMetrics
from parley_meetings.repository import MeetingRepository

#: CloudEvents ``source`` of every event meetings publishes.
EVENT_SOURCE = "/parley/meetings"

log = logging.getLogger(__name__)


class Meetings:
    """Create, join, end and inspect meetings; keep rosters from participant events."""

    def __init__(
        self,
        repository: MeetingRepository,
        metrics: MeetingsMetrics,
        notify: Callable[[], None] = lambda: None,
        *,
        summaries: SummaryCache,
    ) -> None:
        self._repo = repository
        self._metrics = metrics
        self._notify = notify
        self._summaries = summaries

    async def create(
        self, *, host_id: str, host_name: str, title: str, scheduled_start: datetime | None
    ) -> Meeting:
        """Create an active meeting hosted by ``host_id`` (its first participant) and stage
        ``meeting.created``."""
        now = utc_now()
        meeting = Meeting(
            meeting_id=new_meeting_id(),
            title=title,
            host_id=host_id,
            scheduled_start=scheduled_start,
            created_at=now,
            participants=(
                Participant(user_id=host_id, display_name=host_name, role="host", joined_at=now),
            ),
        )
        event = MeetingCreated(
            meeting_id=meeting.meeting_id,
            host_id=host_id,
            title=title,
            scheduled_start=scheduled_start,
            created_at=now,
        )
        await self._repo.insert(meeting, [outbox_entry(event, source=EVENT_SOURCE)])
        self._metrics.created.inc()
        self._notify()
        return meeting

    async def get(self, meeting_id: str) -> Meeting:
        """The meeting; raises :class:`MeetingNotFound`."""
        meeting = await self._repo.get(meeting_id)
        if meeting is None:
            raise MeetingNotFound(f"no meeting {meeting_id!r}")
        return meeting

    async def summary(self, meeting_id: str) -> MeetingSummary:
        """The meeting without members and roster, from this replica's cache when it has it
        (:mod:`parley_meetings.domain.summaries`); raises :class:`MeetingNotFound`."""
        return await self._summaries.get(meeting_id)

    def forget_summary(self, meeting_id: str) -> None:
        """An event of the meeting arrived: its cached summary may be out of date."""
        self._summaries.forget(meeting_id)

    async def list_for(self, user_id: str) -> list[Meeting]:
        """The user's meetings (host or participant), newest first."""
        return await self._repo.list_for_user(user_id)

    async def join(self, meeting_id: str, *, user_id: str, display_name: str) -> tuple[Meeting, Role]:
        """Make the user a participant and stage ``meeting.joined`` (joining twice is harmless
        and stages nothing).

        Raises :class:`MeetingNotFound`, or :class:`MeetingHasEnded` when the meeting ended.
        """
        participant = Participant(
            user_id=user_id, display_name=display_name, role="participant", joined_at=utc_now()
        )
        event = MeetingJoined(
            meeting_id=meeting_id,
            user_id=user_id,
            display_name=display_name,
            role="participant",
            joined_at=participant.joined_at,
        )
        added = await self._repo.add_participant(meeting_id, participant, outbox_entry(event, source=EVENT_SOURCE))
        if added is not None:  # one round trip for a first join
            self._metrics.joins.inc()
            self._notify()
            return added, added.role_of(user_id) or "participant"
        meeting = await self.get(meeting_id)
        if meeting.status == "ended":
            raise MeetingHasEnded("the meeting has ended")
        # A participant already (or added by a concurrent join of the same user).
        return meeting, meeting.role_of(user_id) or "participant"

    async def end(self, meeting_id: str, *, user_id: str) -> Meeting:
        """End the meeting (host only), clear its roster and stage ``meeting.ended``.

        Ending an ended meeting returns it unchanged and stages nothing. Raises
        :class:`MeetingNotFound` or :class:`NotHost` (and then changes nothing).
        """
        ended_at = utc_now()
        event = MeetingEnded(meeting_id=meeting_id, ended_by=user_id, ended_at=ended_at)
        entry = outbox_entry(event, source=EVENT_SOURCE)
        if await self._repo.end(meeting_id, user_id, ended_at, entry):
            self._summaries.forget(meeting_id)
            self._metrics.ended.inc()
            self._notify()
            return await self.get(meeting_id)
        meeting = await self.get(meeting_id)
        if meeting.host_id != user_id:
            raise NotHost("only the host can end the meeting")
        return meeting

    async def membership(self, meeting_id: str, *, user_id: str) -> tuple[Meeting, Role]:
        """The user's role in the meeting; raises :class:`MeetingNotFound` or
        :class:`NotAParticipant`."""
        meeting = await self.get(meeting_id)
        role = meeting.role_of(user_id)
        if role is None:
            raise NotAParticipant("not a participant of this meeting")
        return meeting, role

    async def roster(self, meeting_id: str, *, user_id: str) -> Meeting:
        """The meeting with its roster, for participants only (errors as :meth:`membership`)."""
        meeting, _ = await self.membership(meeting_id, user_id=user_id)
        return meeting

    async def apply_participant_event(self, event: ReceivedEvent) -> str:
        """:meth:`apply_participant_events` of one event; its outcome."""
        return (await self.apply_participant_events([event]))[0]

    async def apply_participant_events(self, events: Sequence[ReceivedEvent]) -> list[str]:
        """Apply ``participant.joined``/``participant.left`` events to the rosters, each once,
        in the order given (one Kafka batch: one meeting's events keep their order).

        Returns one outcome per event: ``applied``, ``ignored`` (unknown meeting, ended
        meeting, sid already in or not in the roster, other event type) or ``duplicate``
        (seen before, or earlier in the same batch). Per batch: the processed ids are asked
        for once; each meeting's roster is read once and written once (a compare-and-set,
        read again and recomputed when another writer came first); the ids are recorded once,
        after every roster write. A failure before that raises (the batch is redelivered), and
        applying it again gives the same rosters.
        """
        seen = await self._repo.processed.seen_among([event.id for event in events])
        outcomes: list[str] = ["duplicate"] * len(events)
        by_meeting: dict[str, list[int]] = {}
        processed: list[str] = []
        for index, event in enumerate(events):
            if event.id in seen:
                continue
            seen.add(event.id)
            processed.append(event.id)
            outcomes[index] = "ignored"
            if isinstance(event.data, ParticipantJoined | ParticipantLeft):
                by_meeting.setdefault(event.data.meeting_id, []).append(index)
        for meeting_id, indexes in by_meeting.items():
            for index, outcome in zip(indexes, await self._apply_to_roster(meeting_id, [events[i] for i in indexes])):
                outcomes[index] = outcome
        await self._repo.processed.record_all(processed)
        for event, outcome in zip(events, outcomes):
            kind = {ParticipantJoined: "joined", ParticipantLeft: "left"}.get(type(event.data), "other")
            self._metrics.roster_events.labels(kind, outcome).inc()
            log.debug("participant event %s (%s): %s", event.id, event.type, outcome)
        return outcomes

    async def _apply_to_roster(self, meeting_id: str, events: list[ReceivedEvent]) -> list[str]:
        """One meeting's events, in order, as one roster write; their outcomes."""
        for _ in range(ROSTER_WRITE_ATTEMPTS):
            state = await self._repo.roster_state(meeting_id)
            if state is None or state.status != "active":
                return ["ignored"] * len(events)
            roster, outcomes = roster_after(state.roster, events)
            if "applied" not in outcomes or await self._repo.replace_roster(meeting_id, state, roster):
                return outcomes
        raise RuntimeError(f"the roster of {meeting_id!r} kept changing under {ROSTER_WRITE_ATTEMPTS} attempts")


#: compare-and-set attempts of one meeting's roster write per batch (then the batch fails and
#: comes again)
ROSTER_WRITE_ATTEMPTS = 20


def roster_after(roster: tuple[RosterEntry, ...], events: Sequence[ReceivedEvent]) -> tuple[list[RosterEntry], list[str]]:
    """``roster`` after ``events`` in order (a join adds its sid unless there, a leave removes
    it if there), and each event's outcome (``applied`` or ``ignored``)."""
    entries = list(roster)
    outcomes = []
    for event in events:
        data = event.data
        sids = {entry.sid for entry in entries}
        if isinstance(data, ParticipantJoined) and data.sid not in sids:
            entries.append(RosterEntry(sid=data.sid, user_id=data.user_id, display_name=data.display_name,
                                       replica_id=data.replica_id, joined_at=data.joined_at))
            outcomes.append("applied")
        elif isinstance(data, ParticipantLeft) and data.sid in sids:
            entries = [entry for entry in entries if entry.sid != data.sid]
            outcomes.append("applied")
        else:
            outcomes.append("ignored")
    return entries, outcomes
