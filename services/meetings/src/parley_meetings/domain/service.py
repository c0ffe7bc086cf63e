"""The meeting use cases. Routes call these; these call the repository (one hop).

Events are staged in the outbox inside the same write as the change they describe; the
relay is woken with ``notify`` afterwards.
"""

import logging
from collections.abc import Callable
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
        if await self._repo.add_participant(meeting_id, participant, outbox_entry(event, source=EVENT_SOURCE)):
            self._metrics.joins.inc()
            self._notify()
        meeting = await self.get(meeting_id)
        if meeting.status == "ended":
            raise MeetingHasEnded("the meeting has ended")
        # Added above, or a participant already (a concurrent end is caught just before).
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
        """Apply a ``participant.joined``/``participant.left`` event to the roster once.

        Returns the outcome: ``applied``, ``ignored`` (unknown meeting, ended meeting, sid
        already in or not in the roster, other event type) or ``duplicate`` (seen before).
        Raises on storage failure so the message is redelivered.
        """
        data = event.data
        kind = {ParticipantJoined: "joined", ParticipantLeft: "left"}.get(type(data), "other")
        if await self._repo.processed.seen(event.id):
            outcome = "duplicate"
        else:
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
            await self._repo.processed.record(event.id)
            outcome = "applied" if changed else "ignored"
        self._metrics.roster_events.labels(kind, outcome).inc()
        log.debug("participant event %s (%s): %s", event.id, event.type, outcome)
        return outcome
