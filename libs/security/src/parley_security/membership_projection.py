"""Who takes part in which meeting, learned from meetings' events (a local projection).

Chat and signaling need "is this user a participant of this meeting, and has it ended?" on
every post, history read and socket join. Asking meetings over HTTP each time made joins fail
for as long as meetings was down and cost signaling ~29% of its CPU per connect+join. Instead
every replica keeps this projection of the ``parley.meetings`` topic (docs/events.md):

- ``meeting.created`` (host), ``meeting.joined`` and ``lobby.admitted`` (a participant),
  ``meeting.role_changed`` (co-host or participant again), ``meeting.participant_removed``
  (no member any more), ``meeting.ended``, ``meeting.cancelled`` and ``meeting.expired`` (the
  status) are applied in topic order; applying is idempotent (sets, and a status that only
  moves from ``active`` to ``ended``), so a re-published event changes nothing. A removed
  member is forgotten: a later join of theirs is asked of meetings, which refuses it.
- **Warm-up.** Every replica reads every partition from the beginning with no consumer group
  (nothing committed: each replica needs the whole projection, and a restart rebuilds it from
  the topic). The projection is *warm* once it has processed every record that was on the
  topic when its partitions were assigned (their end offsets then); until then it answers
  nothing and every question goes to meetings.
- **Not (yet) known.** A member the warm projection does not know (the ``meeting.joined`` of a
  ``POST /join`` a moment ago may still be in the outbox or on its way; or the meeting is
  older than the topic's retention) is asked of meetings over HTTP, once, with the user's own
  token (:class:`~parley_security.MeetingsClient`); a positive answer is recorded. A refusal
  is not cached (the user may join a second later). While meetings is down such a question
  is ``unavailable``; a known member's never is.
- Ended meetings stay (chat stays open after a meeting; signaling refuses the join with
  ``meeting_ended``). Memory: one small entry per meeting of the topic's retention (7 days).

Metrics: ``parley_membership_lookups_total{source}`` (``projection``, ``meetings``,
``denied``, ``unavailable``), ``parley_membership_projection_meetings`` and
``parley_membership_projection_warm`` (docs/metrics.md).
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from faststream.kafka.fastapi import KafkaRouter
from prometheus_client import CollectorRegistry, Counter, Gauge

from parley_events import (
    FEED_BATCHES,
    MEETING_CLOSED,
    ConsumedMessage,
    EventDecodeError,
    EventData,
    LobbyAdmitted,
    MeetingCreated,
    MeetingJoined,
    MeetingRoleChanged,
    ParticipantRemoved,
    decoded_record,
    records_of,
)
from parley_events.topics import MEETINGS
from parley_observability.tasks import stop_task
from parley_security.jwt import Principal
from parley_security.membership import Membership, MembershipDenied, MembershipUnavailable, MeetingsClient

log = logging.getLogger(__name__)

Role = Literal["host", "cohost", "participant"]

#: The events the projection applies (for a service's AsyncAPI ``CONSUMES``).
PROJECTED_EVENTS: tuple[type[EventData], ...] = (
    MeetingCreated,
    MeetingJoined,
    LobbyAdmitted,
    MeetingRoleChanged,
    ParticipantRemoved,
    *MEETING_CLOSED,
)


@dataclass
class _Meeting:
    status: Literal["active", "ended"] = "active"
    members: dict[str, Role] = field(default_factory=dict)


class MembershipProjection:
    """The meetings of the topic, their members (user id -> role) and their status."""

    def __init__(self) -> None:
        self._meetings: dict[str, _Meeting] = {}
        self._warm = asyncio.Event()

    @property
    def warm(self) -> bool:
        """True once every record on the topic at start-up was applied."""
        return self._warm.is_set()

    def mark_warm(self) -> None:
        self._warm.set()

    async def wait_warm(self) -> None:
        await self._warm.wait()

    def __len__(self) -> int:
        return len(self._meetings)

    def apply(self, data: EventData) -> bool:
        """Apply one meetings event; False for an event of another type (ignored)."""
        if isinstance(data, MeetingCreated):
            self._meeting(data.meeting_id).members[data.host_id] = "host"
        elif isinstance(data, MeetingJoined | LobbyAdmitted):
            members = self._meeting(data.meeting_id).members
            # the host's (or a co-host's) role is never downgraded by a join
            members.setdefault(data.user_id, data.role if isinstance(data, MeetingJoined) else "participant")
        elif isinstance(data, MeetingRoleChanged):
            members = self._meeting(data.meeting_id).members
            if members.get(data.user_id) != "host":
                members[data.user_id] = data.role
        elif isinstance(data, ParticipantRemoved):
            self._meeting(data.meeting_id).members.pop(data.user_id, None)
        elif isinstance(data, MEETING_CLOSED):
            self._meeting(data.meeting_id).status = "ended"
        else:
            return False
        return True

    def learn(self, membership: Membership) -> None:
        """Record a membership meetings answered over HTTP (the status only moves to ended)."""
        meeting = self._meeting(membership.meeting_id)
        meeting.members.setdefault(membership.user_id, membership.role)
        if membership.status == "ended":
            meeting.status = "ended"

    def lookup(self, meeting_id: str, user_id: str) -> Membership | None:
        """The user's membership if the projection knows it, else None (ask meetings)."""
        meeting = self._meetings.get(meeting_id)
        role = meeting.members.get(user_id) if meeting is not None else None
        if meeting is None or role is None:
            return None
        return Membership(meeting_id=meeting_id, user_id=user_id, role=role, status=meeting.status)

    def _meeting(self, meeting_id: str) -> _Meeting:
        meeting = self._meetings.get(meeting_id)
        if meeting is None:
            meeting = self._meetings[meeting_id] = _Meeting()
        return meeting


class ProjectedMembership:
    """Membership answers: the warm projection's when it knows, else meetings' over HTTP.

    :meth:`membership_of` raises :class:`MembershipDenied` (``not_found`` or ``forbidden``,
    from meetings) or :class:`MembershipUnavailable` (meetings could not be asked about a
    membership the projection does not know).
    """

    def __init__(self, projection: MembershipProjection, meetings: MeetingsClient, registry: CollectorRegistry) -> None:
        self.projection = projection
        self._meetings = meetings
        self.lookups = Counter(
            "parley_membership_lookups_total",
            "Membership questions (chat posts and reads, signaling joins) by who answered: projection, "
            "meetings (HTTP, not in the projection yet), denied (meetings refused) or unavailable.",
            ("source",),
            registry=registry,
        )
        Gauge(
            "parley_membership_projection_meetings",
            "Meetings in this process's membership projection.",
            registry=registry,
        ).set_function(lambda: len(projection))
        Gauge(
            "parley_membership_projection_warm",
            "1 once the membership projection has applied every meetings event on the topic at start-up.",
            registry=registry,
        ).set_function(lambda: 1 if projection.warm else 0)

    async def membership_of(self, meeting_id: str, principal: Principal) -> Membership:
        """``principal``'s membership of ``meeting_id`` (see the class doc for errors)."""
        if self.projection.warm:
            known = self.projection.lookup(meeting_id, principal.user_id)
            if known is not None:
                self.lookups.labels("projection").inc()
                return known
        try:
            membership = await self._meetings.membership(meeting_id, principal.token)
        except MembershipDenied:
            self.lookups.labels("denied").inc()
            raise
        except MembershipUnavailable:
            self.lookups.labels("unavailable").inc()
            raise
        self.lookups.labels("meetings").inc()
        if membership.user_id == principal.user_id:
            self.projection.learn(membership)
        return membership

    async def aclose(self) -> None:
        await self._meetings.aclose()


#: AsyncAPI channel title of the projection's subscriber.
MEMBERSHIP_CHANNEL = "meetings-membership"


class ProjectionFeed:
    """Feeds a :class:`MembershipProjection` from ``parley.meetings`` through ``router``.

    Registers a subscriber with no consumer group from the earliest offset; :meth:`start`
    (once the broker runs) starts the warm-up watch, :meth:`stop` ends it.
    """

    def __init__(self, router: KafkaRouter, projection: MembershipProjection) -> None:
        self._projection = projection
        self._next: dict[int, int] = {}  # partition -> offset after the last applied record
        self._task: asyncio.Task[None] | None = None
        self._subscriber = router.subscriber(
            MEETINGS.name,
            group_id=None,
            auto_offset_reset="earliest",
            **FEED_BATCHES,  # and so the warm-up reads the topic's 7 days in batches too
            title=MEMBERSHIP_CHANNEL,
            description="meeting.created / joined / role_changed / participant_removed / ended / cancelled / expired, "
            "lobby.admitted -> the membership projection "
            "(every replica reads the whole topic, no consumer group).",
        )
        self._subscriber(self._on_records)

    async def _on_records(self, message: ConsumedMessage) -> None:
        for record in records_of(message):
            try:
                event = decoded_record(record)
            except EventDecodeError as exc:
                log.warning("malformed meetings event skipped: %s", exc)
            else:
                self._projection.apply(event.data)
            self._next[record.partition] = record.offset + 1

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch_warm_up(), name="membership-warm-up")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None

    async def _watch_warm_up(self) -> None:
        """Mark the projection warm once every record present at assignment was applied."""
        targets = await self._end_offsets()
        while any(self._next.get(partition, 0) < end for partition, end in targets.items()):
            await asyncio.sleep(0.05)
        self._projection.mark_warm()
        log.info("membership projection warm: %d meetings", len(self._projection))

    async def _end_offsets(self) -> dict[int, int]:
        """The end offsets of the assigned partitions that hold records (retried until Kafka answers)."""
        while True:
            consumer = self._subscriber.consumer
            assignment: Sequence = consumer.assignment() if consumer is not None else ()
            if assignment:
                try:
                    parts = list(assignment)
                    ends = await consumer.end_offsets(parts)
                    begins = await consumer.beginning_offsets(parts)
                except Exception as exc:  # noqa: BLE001 - Kafka not answering yet: try again
                    log.info("membership projection: end offsets not known yet (%s)", exc)
                else:
                    return {tp.partition: ends[tp] for tp in parts if ends[tp] > begins[tp]}
            await asyncio.sleep(0.5)
