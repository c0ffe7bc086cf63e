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
    ParticipantJoined,
    ParticipantLeft,
    ReceivedEvent,
    outbox_entry,
)
from parley_meetings.domain.errors import MeetingHasEnded, MeetingNotFound, NotAParticipant, NotHost
from parley_meetings.domain.ids import new_meeting_id
from parley_meetings.domain.models import Meeting, Participant, Role, RosterEntry, utc_now
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
    ) -> None:
        self._repo = repository
        self._metrics = metrics
        self._notify = notify

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

    async def list_for(self, user_id: str) -> list[Meeting]:
        """The user's meetings (host or participant), newest first."""
        return await self._repo.list_for_user(user_id)

    async def join(self, meeting_id: str, *, user_id: str, display_name: str) -> tuple[Meeting, Role]:
        """Make the user a participant (joining twice is harmless).

        Raises :class:`MeetingNotFound`, or :class:`MeetingHasEnded` when the meeting ended.
        """
        participant = Participant(
            user_id=user_id, display_name=display_name, role="participant", joined_at=utc_now()
        )
        added = await self._repo.add_participant(meeting_id, participant)
        if added is not None:  # one round trip for a first join
            self._metrics.joins.inc()
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
        (seen before, or earlier in the same batch). The processed ids are asked for once and
        recorded once, after every roster write of the batch; a failure before that raises
        (so the batch is redelivered) and applying it again gives the same rosters, as each
        write is "add unless there" or "remove if there", in the same order.
        """
        seen = await self._repo.processed.seen_among([event.id for event in events])
        outcomes: list[str] = []
        processed: list[str] = []
        for event in events:
            data = event.data
            if event.id in seen:
                outcomes.append("duplicate")
                continue
            seen.add(event.id)
            changed = False
            if isinstance(data, ParticipantJoined):
                entry = RosterEntry(
                    sid=data.sid,
                    user_id=data.user_id,
                    display_name=data.display_name,
                    replica_id=data.replica_id,
                    joined_at=data.joined_at,
                )
                changed = await self._repo.add_to_roster(data.meeting_id, entry)
            elif isinstance(data, ParticipantLeft):
                changed = await self._repo.remove_from_roster(data.meeting_id, data.sid)
            processed.append(event.id)
            outcomes.append("applied" if changed else "ignored")
        await self._repo.processed.record_all(processed)
        for event, outcome in zip(events, outcomes):
            kind = {ParticipantJoined: "joined", ParticipantLeft: "left"}.get(type(event.data), "other")
            self._metrics.roster_events.labels(kind, outcome).inc()
            log.debug("participant event %s (%s): %s", event.id, event.type, outcome)
        return outcomes
