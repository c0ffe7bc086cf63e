"""The meeting use cases. Routes call these; these call the repository (one hop).

Events are staged in the outbox inside the same write as the change they describe; the
relay is woken with ``notify`` afterwards.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from cachetools import LRUCache

from parley_events import (
    Admission,
    MeetingCancelled,
    MeetingCreated,
    MeetingEnded,
    MeetingExpired,
    MeetingJoined,
    MeetingRescheduled,
    MeetingUpdated,
    ParticipantJoined,
    ParticipantLeft,
    ReceivedEvent,
    RecentIds,
    outbox_entry,
)
from parley_meetings.domain.errors import (
    GuestsNotAllowed,
    MeetingHasEnded,
    MeetingLocked,
    MeetingNotFound,
    NotAModerator,
    NotAParticipant,
    NotHost,
    NotOpenYet,
    NotScheduled,
    StartInPast,
)
from parley_meetings.domain.expiry import empty_room
from parley_meetings.domain.moderation import Moderation, refuse_barred, standing_in
from parley_meetings.domain.ids import new_meeting_id
from parley_meetings.domain.models import (
    DEFAULT_DURATION_MINUTES,
    JoinStatus,
    Meeting,
    MeetingSummary,
    Participant,
    Role,
    RosterEntry,
    Schedule,
    utc_now,
)
from parley_meetings.domain.summaries import SummaryCache
from parley_meetings.metrics import MeetingsMetrics
from parley_meetings.repository import MeetingRepository, RosterState

#: CloudEvents ``source`` of every event meetings publishes.
EVENT_SOURCE = "/parley/meetings"
#: How far in the past a new start may lie (the client's clock and the request's travel).
START_GRACE = timedelta(minutes=1)

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
        join_lead: timedelta = timedelta(minutes=15),
        empty_timeout: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._repo = repository
        self._metrics = metrics
        self._notify = notify
        self._summaries = summaries
        #: participants join a scheduled meeting from this long before its start
        self.join_lead = join_lead
        #: how long a room may stay empty before its meeting expires, unless the meeting says
        self.empty_timeout = empty_timeout
        self._clock = clock
        #: the lobby, co-hosts and removal (:mod:`parley_meetings.domain.moderation`)
        self.moderation = Moderation(repository, clock=clock, notify=notify, forget_summary=summaries.forget)
        #: each meeting's roster as this process last wrote it: the first guess of the next
        #: write (see :meth:`_apply_to_roster`)
        self._rosters: LRUCache[str, RosterState] = LRUCache(maxsize=ROSTERS_REMEMBERED)
        #: the ids of the participant events applied last (:meth:`apply_participant_events`)
        self._applied = RecentIds(capacity=EVENT_IDS_REMEMBERED)
        #: Awaited with ``(meeting_id, user_id, arrived)`` when a ``participant.left`` of
        #: ``user_id`` emptied the roster of a call's room, ``arrived`` the users who have
        #: been in it (the call may end then: :meth:`Calls.room_emptied`).
        self.on_room_emptied: Callable[[str, str, frozenset[str]], Awaitable[None]] | None = None

    async def create(
        self,
        *,
        host_id: str,
        host_name: str,
        title: str,
        schedule: Schedule | None,
        empty_timeout_seconds: int | None = None,
        allow_guests: bool = False,
        admission: Admission = "open",
    ) -> Meeting:
        """Create an active meeting hosted by ``host_id`` (its first participant) and stage
        ``meeting.created``; ``empty_timeout_seconds`` (None: :attr:`empty_timeout`) is how
        long its room may stay empty before it expires; ``allow_guests``: whether guests may
        join it (auth issues guest tokens for it); ``admission``: who joins without waiting
        (``open``, ``lobby``, ``locked``). Raises :class:`StartInPast` for a
        schedule that starts more than :data:`START_GRACE` ago."""
        now = self._clock()
        if schedule is not None:
            self._check_start(schedule, now)
        meeting = Meeting(
            meeting_id=new_meeting_id(),
            title=title,
            host_id=host_id,
            scheduled_start=schedule.start if schedule else None,
            duration_minutes=schedule.duration_minutes if schedule else None,
            time_zone=schedule.time_zone if schedule else None,
            created_at=now,
            empty_timeout_seconds=empty_timeout_seconds,
            allow_guests=allow_guests,
            admission=admission,
            participants=(
                Participant(user_id=host_id, display_name=host_name, role="host", joined_at=now),
            ),
        )
        event = MeetingCreated(
            meeting_id=meeting.meeting_id,
            host_id=host_id,
            title=title,
            scheduled_start=meeting.scheduled_start,
            duration_minutes=meeting.duration_minutes,
            time_zone=meeting.time_zone,
            created_at=now,
            allow_guests=allow_guests,
            admission=admission,
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

    async def page_for(self, user_id: str, limit: int, after: tuple[datetime, str] | None) -> list[Meeting]:
        """Up to ``limit`` of the user's meetings, newest first, after ``(created_at, meeting_id)``."""
        return await self._repo.page_for_user(user_id, limit, after)

    async def join(
        self, meeting_id: str, *, user_id: str, display_name: str, guest: bool = False
    ) -> tuple[Meeting, Role, JoinStatus]:
        """Make the user (a ``guest`` of this meeting: its guest token checked by the route)
        a participant and stage ``meeting.joined`` (joining twice is harmless and stages
        nothing): status ``joined``. In a meeting in ``lobby`` mode, someone who is not a
        participant yet waits in its lobby instead (``lobby.waiting`` staged once): status
        ``waiting``, until the host or a co-host admits them (:class:`Moderation`). The host
        and the participants (co-hosts among them) never wait.

        Raises :class:`MeetingNotFound`, :class:`MeetingHasEnded` when the meeting ended,
        :class:`GuestsNotAllowed` for a guest when the meeting does not allow guests (any
        more), :class:`NotOpenYet` before a scheduled meeting opens (:attr:`join_lead` before
        its start) to anyone but its host, :class:`NotAParticipant` to anyone but its two
        users while it is the private room of a direct call (until the call is escalated),
        :class:`RemovedFromMeeting` / :class:`LobbyDenied` to someone removed from it or
        denied from its lobby, and :class:`MeetingLocked` to someone new while it is locked.
        """
        summary = await self.summary(meeting_id)
        if guest and not summary.allow_guests:
            raise GuestsNotAllowed("the host does not allow guests in this meeting")
        if summary.call_id is not None:  # decided on the stored meeting: an escalation may be newer than the cache
            room = await self.get(meeting_id)
            if room.call_id is not None and room.role_of(user_id) is None:
                raise NotAParticipant("this is the private room of a direct call: only its two people join it")
        opens_at = summary.opens_at(self.join_lead)
        if opens_at is not None and user_id != summary.host_id and self._clock() < opens_at:
            raise NotOpenYet(f"the meeting opens at {opens_at.isoformat()}, {self._lead_words()} before it starts")
        participant = Participant(
            user_id=user_id, display_name=display_name, role="participant", joined_at=self._clock()
        )
        event = MeetingJoined(
            meeting_id=meeting_id,
            user_id=user_id,
            display_name=display_name,
            role="participant",
            joined_at=participant.joined_at,
        )
        entry = outbox_entry(event, source=EVENT_SOURCE)
        for _ in range(CALENDAR_WRITE_ATTEMPTS):
            added = await self._repo.add_participant(meeting_id, participant, entry)
            if added is not None:  # one round trip for a first join of an open meeting
                self._metrics.joins.inc()
                self._notify()
                return added, added.role_of(user_id) or "participant", "joined"
            meeting = await self.get(meeting_id)
            if meeting.status == "ended":
                raise MeetingHasEnded("the meeting has ended")
            place = standing_in(meeting, user_id)  # a participant already (or added by a concurrent join or an admission)
            if place is not None:
                return meeting, *place
            if meeting.admission == "locked":
                raise MeetingLocked("the host has locked this meeting: nobody new joins it")
            if meeting.admission == "lobby" and await self.moderation.knock(
                meeting, user_id=user_id, display_name=display_name, guest=guest
            ):
                return meeting, "participant", "waiting"
            # the meeting changed since it was read (opened, or another write came first): again
        raise RuntimeError(f"meeting {meeting_id!r} kept changing under {CALENDAR_WRITE_ATTEMPTS} join attempts")

    async def end(self, meeting_id: str, *, user_id: str) -> Meeting:
        """End the meeting (host only), clear its roster and stage ``meeting.ended``.

        Ending an ended meeting returns it unchanged and stages nothing. Raises
        :class:`MeetingNotFound` or :class:`NotHost` (and then changes nothing).
        """
        ended_at = self._clock()
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

    async def update(self, meeting_id: str, *, user_id: str, changes: dict[str, int | bool | str | None]) -> Meeting:
        """Change the active meeting's settings (host only) and stage ``meeting.updated`` with
        the settings after the change. ``changes`` may hold ``empty_timeout_seconds``: how
        long its room may stay empty before it expires (None: the service's default), counted
        from the next time the room empties (a deadline already stored keeps its time);
        ``allow_guests``: whether guests may join (a guest already in the room stays; a new
        guest token or join is refused); and ``admission`` (``open``, ``lobby``, ``locked``),
        which a co-host may change too (alone: any other setting is the host's). Who already
        waits in the lobby keeps waiting for a decision whatever the mode becomes. Empty
        ``changes`` change nothing. Raises :class:`MeetingNotFound`, :class:`NotHost`,
        :class:`NotAModerator` or :class:`MeetingHasEnded`."""
        changes = {k: v for k, v in changes.items() if k in SETTINGS}
        for _ in range(CALENDAR_WRITE_ATTEMPTS):
            meeting = await self._changer_of(meeting_id, user_id, admission_only=set(changes) <= {"admission"})
            if not changes:
                return meeting
            after = meeting.model_copy(update=changes)
            event = MeetingUpdated(
                meeting_id=meeting_id,
                allow_guests=after.allow_guests,
                empty_timeout_seconds=after.empty_timeout_seconds,
                admission=after.admission,
                updated_by=user_id,
                updated_at=self._clock(),
            )
            if await self._repo.change_settings(meeting, changes, outbox_entry(event, source=EVENT_SOURCE)):
                return await self._changed(meeting_id)
        raise RuntimeError(f"meeting {meeting_id!r} kept changing under {CALENDAR_WRITE_ATTEMPTS} attempts")

    def timeout_of(self, empty_timeout_seconds: int | None) -> timedelta:
        """The empty timeout of a meeting with this setting (None: :attr:`empty_timeout`)."""
        if empty_timeout_seconds is None:
            return self.empty_timeout
        return timedelta(seconds=empty_timeout_seconds)

    async def expire_due(self, limit: int = 100) -> int:
        """Expire active meetings whose empty room's deadline has passed (up to ``limit``, the
        earliest first): each ends (``end_reason`` ``expired``, roster cleared) with
        ``meeting.expired`` staged, in one write that only one replica wins and that a join
        since the read makes miss. Returns how many expired here."""
        now = self._clock()
        expired = 0
        for due in await self._repo.due(now, limit):
            event = MeetingExpired(
                meeting_id=due.meeting_id,
                empty_since=due.empty_since,
                empty_timeout_seconds=round(self.timeout_of(due.empty_timeout_seconds).total_seconds()),
                expired_at=now,
            )
            if await self._repo.expire(due, now, outbox_entry(event, source=EVENT_SOURCE)):
                self._summaries.forget(due.meeting_id)
                self._metrics.expired.inc()
                expired += 1
        if expired:
            self._notify()
        return expired

    async def reschedule(
        self,
        meeting_id: str,
        *,
        user_id: str,
        start: datetime,
        duration_minutes: int | None = None,
        time_zone: str | None = None,
    ) -> Meeting:
        """Move an active meeting to ``start`` (host only; schedules one that was not), with
        ``duration_minutes`` and ``time_zone`` when given (else the meeting's, else 60 minutes
        in UTC); raise its calendar ``sequence`` and stage ``meeting.rescheduled``.

        Raises :class:`MeetingNotFound`, :class:`NotHost`, :class:`MeetingHasEnded` or
        :class:`StartInPast`.
        """

        def change(meeting: Meeting) -> tuple[dict[str, Any], MeetingRescheduled]:
            current = meeting.schedule
            schedule = Schedule(
                start=start,
                duration_minutes=duration_minutes or (current.duration_minutes if current else DEFAULT_DURATION_MINUTES),
                time_zone=time_zone or (current.time_zone if current else "UTC"),
            )
            self._check_start(schedule, self._clock())
            event = MeetingRescheduled(
                meeting_id=meeting_id,
                scheduled_start=schedule.start,
                duration_minutes=schedule.duration_minutes,
                time_zone=schedule.time_zone,
                sequence=meeting.sequence + 1,
                rescheduled_at=self._clock(),
            )
            changes = {
                "scheduled_start": schedule.start,
                "duration_minutes": schedule.duration_minutes,
                "time_zone": schedule.time_zone,
            }
            return changes, event

        return await self._change_calendar(meeting_id, user_id, change)

    async def cancel(self, meeting_id: str, *, user_id: str) -> Meeting:
        """Cancel an active scheduled meeting (host only): it ends (``end_reason``
        ``cancelled``, roster cleared), its calendar ``sequence`` rises, and
        ``meeting.cancelled`` is staged.

        Raises :class:`MeetingNotFound`, :class:`NotHost`, :class:`MeetingHasEnded`, or
        :class:`NotScheduled` for a meeting without a schedule (end it instead).
        """

        def change(meeting: Meeting) -> tuple[dict[str, Any], MeetingCancelled]:
            if meeting.scheduled_start is None:
                raise NotScheduled("only a scheduled meeting can be cancelled; end this one instead")
            now = self._clock()
            event = MeetingCancelled(
                meeting_id=meeting_id, cancelled_by=user_id, cancelled_at=now, sequence=meeting.sequence + 1
            )
            return {"status": "ended", "end_reason": "cancelled", "ended_at": now, "roster": []}, event

        return await self._change_calendar(meeting_id, user_id, change)

    async def scheduled(self, meeting_id: str) -> Meeting:
        """A scheduled meeting (ended or not); raises :class:`MeetingNotFound` or :class:`NotScheduled`."""
        meeting = await self.get(meeting_id)
        if meeting.scheduled_start is None:
            raise NotScheduled("the meeting has no schedule, so it has no calendar invitation")
        return meeting

    async def upcoming_for(self, user_id: str) -> list[Meeting]:
        """The user's active scheduled meetings that have not finished yet, soonest first."""
        now = self._clock()
        found = [
            m for m in await self.list_for(user_id)
            if m.status == "active" and m.schedule is not None and m.schedule.end > now
        ]
        return sorted(found, key=lambda m: m.scheduled_start or now)

    async def _change_calendar(
        self,
        meeting_id: str,
        user_id: str,
        change: Callable[[Meeting], tuple[dict[str, Any], MeetingRescheduled | MeetingCancelled]],
    ) -> Meeting:
        """Write ``change(meeting)`` (the fields to set, and the event to stage) to the host's
        active meeting as one compare-and-set on its calendar ``sequence``; on a lost race,
        read the meeting again and ask ``change`` again. ``change`` may raise to refuse."""
        for _ in range(CALENDAR_WRITE_ATTEMPTS):
            meeting = await self._hosted_active(meeting_id, user_id)
            changes, event = change(meeting)
            if await self._repo.change_calendar(meeting, changes, outbox_entry(event, source=EVENT_SOURCE)):
                return await self._changed(meeting_id)
        raise RuntimeError(f"meeting {meeting_id!r} kept changing under {CALENDAR_WRITE_ATTEMPTS} attempts")

    async def _changer_of(self, meeting_id: str, user_id: str, *, admission_only: bool) -> Meeting:
        """The active meeting, if ``user_id`` may change these settings: its host, or for the
        admission mode alone a co-host too."""
        if not admission_only:
            return await self._hosted_active(meeting_id, user_id)
        meeting = await self.get(meeting_id)
        if meeting.role_of(user_id) not in ("host", "cohost"):
            raise NotAModerator("only the host or a co-host may change who joins")
        if meeting.status != "active":
            raise MeetingHasEnded("the meeting has ended")
        return meeting

    async def _hosted_active(self, meeting_id: str, user_id: str) -> Meeting:
        meeting = await self.get(meeting_id)
        if meeting.host_id != user_id:
            raise NotHost("only the host can change the meeting")
        if meeting.status != "active":
            raise MeetingHasEnded("the meeting has ended")
        return meeting

    async def _changed(self, meeting_id: str) -> Meeting:
        self._summaries.forget(meeting_id)
        self._notify()
        return await self.get(meeting_id)

    def _check_start(self, schedule: Schedule, now: datetime) -> None:
        if schedule.start < now - START_GRACE:
            raise StartInPast(f"the start {schedule.start.isoformat()} is in the past; choose a later time")

    def _lead_words(self) -> str:
        minutes = round(self.join_lead.total_seconds() / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"

    async def membership(self, meeting_id: str, *, user_id: str) -> tuple[Meeting, Role]:
        """The user's role in the meeting; raises :class:`MeetingNotFound`,
        :class:`RemovedFromMeeting` / :class:`LobbyDenied` (barred), or :class:`NotAParticipant`."""
        meeting = await self.get(meeting_id)
        role = meeting.role_of(user_id)
        if role is None:
            refuse_barred(meeting, user_id)
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
        (among the ids this process applied last, or earlier in the same batch). Per batch:
        each meeting's roster is written once (a compare-and-set, read and recomputed when
        another writer came first: :meth:`_apply_to_roster`); the ids are remembered after
        every roster write. A failure before that raises (the batch is redelivered).

        The processed ids are kept in memory only (:class:`parley_events.RecentIds`), not in
        the store: what comes again after a restart or a rebalance is a replay of the
        partition from its committed offset, in order; a join adds its sid unless there and a
        leave removes it if there, so whether a sid is on the roster after a run of events
        depends only on its last event in the run, and a replayed run ends as it ended the
        first time (tested from every offset). Asking
        the store for every event's id was a quarter of the store operations a joining socket
        caused (bench/README.md, "Store operations per socket").
        """
        outcomes: list[str] = ["duplicate"] * len(events)
        by_meeting: dict[str, list[int]] = {}
        fresh: set[str] = set()
        for index, event in enumerate(events):
            if event.id in self._applied or event.id in fresh:
                continue
            fresh.add(event.id)
            outcomes[index] = "ignored"
            if isinstance(event.data, ParticipantJoined | ParticipantLeft):
                by_meeting.setdefault(event.data.meeting_id, []).append(index)
        for meeting_id, indexes in by_meeting.items():
            for index, outcome in zip(indexes, await self._apply_to_roster(meeting_id, [events[i] for i in indexes])):
                outcomes[index] = outcome
        for event_id in fresh:
            self._applied.record(event_id)
        for event, outcome in zip(events, outcomes):
            kind = {ParticipantJoined: "joined", ParticipantLeft: "left"}.get(type(event.data), "other")
            self._metrics.roster_events.labels(kind, outcome).inc()
            log.debug("participant event %s (%s): %s", event.id, event.type, outcome)
        return outcomes

    async def _apply_to_roster(self, meeting_id: str, events: list[ReceivedEvent]) -> list[str]:
        """One meeting's events, in order, as one roster write; their outcomes.

        The first attempt starts from the roster this process wrote last, if it remembers
        one, and writes without reading: the compare-and-set on the revision finds out when
        another writer came in between (another replica after a rebalance, the meeting's
        end), and the next attempt reads the store. An event the remembered roster would
        ignore is not taken on its word either: that attempt reads the store first. So a
        steady stream of joins and leaves costs one store operation per meeting and batch.
        """
        remembered = self._rosters.pop(meeting_id, None)
        for _ in range(ROSTER_WRITE_ATTEMPTS):
            state = remembered or await self._repo.roster_state(meeting_id)
            if state is None or state.status != "active":
                return ["ignored"] * len(events)
            roster, outcomes = roster_after(state.roster, events)
            if remembered is not None and "ignored" in outcomes:
                remembered = None  # confirm against the store what the guess would not change
                continue
            remembered = None
            if "applied" not in outcomes:
                return outcomes
            applied = [event for event, outcome in zip(events, outcomes) if outcome == "applied"]
            empty = empty_room(roster, applied, self.timeout_of(state.empty_timeout_seconds), self._clock())
            arrived: list[str] = []  # a call's room: who joined for the first time
            if state.call_id:
                joined = {e.data.user_id for e in applied if isinstance(e.data, ParticipantJoined)}
                arrived = sorted(joined - state.arrived)
            if await self._repo.replace_roster(meeting_id, state, roster, empty, arrived):
                been_in = state.arrived | set(arrived)
                self._rosters[meeting_id] = RosterState(
                    status="active", roster=tuple(roster), rev=(state.rev or 0) + 1,
                    empty_timeout_seconds=state.empty_timeout_seconds, call_id=state.call_id, arrived=been_in,
                )
                left = applied[-1].data
                if not roster and state.call_id and self.on_room_emptied and isinstance(left, ParticipantLeft):
                    await self.on_room_emptied(meeting_id, left.user_id, been_in)
                return outcomes
        raise RuntimeError(f"the roster of {meeting_id!r} kept changing under {ROSTER_WRITE_ATTEMPTS} attempts")


#: The settings ``PATCH /api/meetings/{id}`` changes (:meth:`Meetings.update`).
SETTINGS = ("empty_timeout_seconds", "allow_guests", "admission")

#: compare-and-set attempts of a reschedule, cancellation or settings change (each reads the
#: meeting again)
CALENDAR_WRITE_ATTEMPTS = 10

#: meetings whose roster :class:`Meetings` remembers from its own last write (about 1 KiB each
#: with ten participants)
ROSTERS_REMEMBERED = 10_000

#: participant event ids :class:`Meetings` remembers as applied
EVENT_IDS_REMEMBERED = 10_000

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
