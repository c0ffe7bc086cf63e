"""Unit tests of the meeting rules, with an in-memory repository."""

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from parley_events import MeetingCreated, MeetingEnded, MeetingExpired, MeetingJoined, MeetingUpdated, ParticipantJoined, ParticipantLeft, ReceivedEvent, decode
from parley_meetings.api.schemas import CreateMeetingRequest, MeetingOut, RescheduleRequest
from parley_meetings.domain.errors import (
    GuestsNotAllowed,
    MeetingHasEnded,
    MeetingNotFound,
    NotAParticipant,
    NotHost,
    NotOpenYet,
    NotScheduled,
    StartInPast,
)
from parley_meetings.domain.ids import new_meeting_id
from parley_meetings.domain.models import Meeting, MeetingSummary, Participant, RosterEntry, Schedule
from parley_meetings.domain.service import Meetings
from parley_meetings.domain.summaries import SummaryCache
from parley_meetings.repository import DueMeeting, EmptyRoom, RosterState
from parley_meetings.metrics import MeetingsMetrics


class FakeProcessed:
    def __init__(self) -> None:
        self.ids: set[str] = set()

    async def seen(self, event_id: str) -> bool:
        return event_id in self.ids

    async def record(self, event_id: str) -> None:
        self.ids.add(event_id)

    async def seen_among(self, event_ids: list[str]) -> set[str]:
        return self.ids & set(event_ids)

    async def record_all(self, event_ids: list[str]) -> None:
        self.ids.update(event_ids)


class FakeRepository:
    """The repository's contract, in memory; ``outbox`` keeps the staged events per meeting."""

    def __init__(self) -> None:
        self.meetings: dict[str, Meeting] = {}
        self.outbox: dict[str, list[dict[str, Any]]] = {}
        self.processed = FakeProcessed()
        self.roster_revs: dict[str, int] = {}
        self.arrived: dict[str, frozenset[str]] = {}
        self.roster_writes = 0
        self.roster_reads = 0
        self.summary_reads = 0

    async def insert(self, meeting: Meeting, outbox: list[dict[str, Any]]) -> None:
        self.meetings[meeting.meeting_id] = meeting
        self.outbox[meeting.meeting_id] = list(outbox)

    async def get(self, meeting_id: str) -> Meeting | None:
        return self.meetings.get(meeting_id)

    async def summary(self, meeting_id: str) -> MeetingSummary | None:
        self.summary_reads += 1
        found = self.meetings.get(meeting_id)
        return found.summary() if found else None

    async def list_for_user(self, user_id: str) -> list[Meeting]:
        mine = [m for m in self.meetings.values() if m.role_of(user_id)]
        return sorted(mine, key=lambda m: m.created_at, reverse=True)

    async def add_participant(self, meeting_id: str, participant: Participant, outbox: dict[str, Any]) -> Meeting | None:
        m = self.meetings.get(meeting_id)
        if not m or m.status != "active" or any(p.user_id == participant.user_id for p in m.participants):
            return None
        self.meetings[meeting_id] = m.model_copy(update={"participants": (*m.participants, participant)})
        self.outbox[meeting_id].append(outbox)
        return self.meetings[meeting_id]

    async def end(self, meeting_id: str, host_id: str, ended_at: datetime, outbox: dict[str, Any]) -> bool:
        m = self.meetings.get(meeting_id)
        if not m or m.host_id != host_id or m.status != "active":
            return False
        self.meetings[meeting_id] = m.model_copy(update={"status": "ended", "ended_at": ended_at, "roster": ()})
        self.outbox[meeting_id].append(outbox)
        return True

    async def change_calendar(self, seen: Meeting, changes: dict[str, Any], outbox: dict[str, Any]) -> bool:
        m = self.meetings.get(seen.meeting_id)
        if not m or m.host_id != seen.host_id or m.status != "active" or m.sequence != seen.sequence:
            return False
        fields = {k: tuple(v) if k == "roster" else v for k, v in changes.items()}
        self.meetings[seen.meeting_id] = m.model_copy(update={**fields, "sequence": seen.sequence + 1})
        self.outbox[seen.meeting_id].append(outbox)
        return True

    async def roster_state(self, meeting_id: str) -> RosterState | None:
        self.roster_reads += 1
        m = self.meetings.get(meeting_id)
        if not m:
            return None
        return RosterState(
            status=m.status, roster=m.roster, rev=self.roster_revs.get(meeting_id),
            empty_timeout_seconds=m.empty_timeout_seconds, call_id=m.call_id,
            arrived=self.arrived.get(meeting_id, frozenset()),
        )

    async def replace_roster(self, meeting_id: str, seen: RosterState, roster, empty: EmptyRoom | None = None,
                             arrived=()) -> bool:
        m = self.meetings.get(meeting_id)
        if (not m or m.status != "active" or self.roster_revs.get(meeting_id) != seen.rev
                or m.empty_timeout_seconds != seen.empty_timeout_seconds):
            return False
        self.meetings[meeting_id] = m.model_copy(update={
            "roster": tuple(roster),
            "empty_since": empty.since if empty else None,
            "expires_at": empty.expires_at if empty else None,
        })
        self.roster_revs[meeting_id] = (seen.rev or 0) + 1
        self.arrived[meeting_id] = self.arrived.get(meeting_id, frozenset()) | set(arrived)
        self.roster_writes += 1
        return True

    async def due(self, now: datetime, limit: int) -> list[DueMeeting]:
        found = sorted(
            (m for m in self.meetings.values() if m.status == "active" and m.expires_at and m.expires_at <= now),
            key=lambda m: m.expires_at,
        )
        return [DueMeeting(m.meeting_id, m.empty_since or m.expires_at, m.expires_at, m.empty_timeout_seconds)
                for m in found[:limit]]

    async def expire(self, due: DueMeeting, expired_at: datetime, outbox: dict[str, Any]) -> bool:
        m = self.meetings.get(due.meeting_id)
        if not m or m.status != "active" or m.expires_at != due.expires_at:
            return False
        self.meetings[due.meeting_id] = m.model_copy(update={
            "status": "ended", "end_reason": "expired", "ended_at": expired_at, "roster": (), "expires_at": None,
        })
        self.outbox[due.meeting_id].append(outbox)
        return True

    async def change_settings(self, seen: Meeting, changes: dict[str, Any], outbox: dict[str, Any]) -> bool:
        m = self.meetings.get(seen.meeting_id)
        settings = ("empty_timeout_seconds", "allow_guests")
        if not m or m.host_id != seen.host_id or m.status != "active":
            return False
        if any(getattr(m, name) != getattr(seen, name) for name in settings):
            return False
        self.meetings[seen.meeting_id] = m.model_copy(update=changes)
        self.outbox[seen.meeting_id].append(outbox)
        return True


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def notified() -> list[int]:
    return []


@pytest.fixture
def meetings(repo: FakeRepository, notified: list[int]) -> Meetings:
    summaries = SummaryCache(repo.summary, size=100, ttl_s=60)
    return Meetings(repo, MeetingsMetrics(CollectorRegistry()), notify=lambda: notified.append(1), summaries=summaries)  # type: ignore[arg-type]


def staged(repo: FakeRepository, meeting_id: str) -> list[ReceivedEvent]:
    return [decode(bytes(e["value"])) for e in repo.outbox[meeting_id]]


def received(data: Any, event_id: str = "e1") -> ReceivedEvent:
    return ReceivedEvent(id=event_id, type=data.event_type, source="/t", subject=data.meeting_id, time=None, data=data)


async def test_create_makes_the_creator_host_and_stages_meeting_created(meetings, repo, notified) -> None:
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", schedule=None)
    assert m.participants[0].user_id == "alice" and m.participants[0].role == "host"
    assert m.created_at.microsecond % 1000 == 0  # BSON keeps milliseconds
    [event] = staged(repo, m.meeting_id)
    assert isinstance(event.data, MeetingCreated)
    assert (event.data.meeting_id, event.data.host_id, event.data.title) == (m.meeting_id, "alice", "Sync")
    assert event.subject == m.meeting_id
    assert notified == [1]


async def test_join_is_idempotent_stages_meeting_joined_once_and_is_refused_once_ended(meetings, repo) -> None:
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", schedule=None)
    for _ in range(2):
        joined, role, _ = await meetings.join(m.meeting_id, user_id="bob", display_name="Bob")
        assert role == "participant"
    assert [p.user_id for p in joined.participants] == ["alice", "bob"]
    assert (await meetings.join(m.meeting_id, user_id="alice", display_name="Alice"))[1] == "host"
    events = staged(repo, m.meeting_id)
    assert [type(e.data) for e in events] == [MeetingCreated, MeetingJoined]
    assert (events[1].data.user_id, events[1].data.role, events[1].data.display_name) == ("bob", "participant", "Bob")
    await meetings.end(m.meeting_id, user_id="alice")
    with pytest.raises(MeetingHasEnded):
        await meetings.join(m.meeting_id, user_id="carol", display_name="Carol")
    with pytest.raises(MeetingNotFound):
        await meetings.join("nope", user_id="carol", display_name="Carol")


async def test_only_the_host_ends_and_ending_twice_stages_one_event(meetings, repo) -> None:
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", schedule=None)
    await meetings.join(m.meeting_id, user_id="bob", display_name="Bob")
    before = repo.meetings[m.meeting_id]
    with pytest.raises(NotHost):
        await meetings.end(m.meeting_id, user_id="bob")
    assert repo.meetings[m.meeting_id] == before
    assert len(repo.outbox[m.meeting_id]) == 2  # created, joined

    ended = await meetings.end(m.meeting_id, user_id="alice")
    again = await meetings.end(m.meeting_id, user_id="alice")
    assert ended.status == "ended" and ended.ended_at is not None
    assert again == ended
    events = staged(repo, m.meeting_id)
    assert [type(e.data) for e in events] == [MeetingCreated, MeetingJoined, MeetingEnded]
    assert events[2].data.ended_by == "alice"
    with pytest.raises(NotHost):
        await meetings.end(m.meeting_id, user_id="bob")
    with pytest.raises(MeetingNotFound):
        await meetings.end("nope", user_id="alice")


async def test_membership_and_roster_are_for_participants(meetings) -> None:
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", schedule=None)
    assert (await meetings.membership(m.meeting_id, user_id="alice"))[1] == "host"
    with pytest.raises(NotAParticipant):
        await meetings.membership(m.meeting_id, user_id="mallory")
    with pytest.raises(NotAParticipant):
        await meetings.roster(m.meeting_id, user_id="mallory")
    with pytest.raises(MeetingNotFound):
        await meetings.membership("nope", user_id="alice")


async def test_participant_events_apply_once(meetings) -> None:
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", schedule=None)
    now = datetime.now(UTC)
    join = ParticipantJoined(meeting_id=m.meeting_id, user_id="alice", display_name="Alice", sid="s1", replica_id="r", joined_at=now)
    leave = ParticipantLeft(meeting_id=m.meeting_id, user_id="alice", sid="s1", replica_id="r", reason="left", left_at=now)
    assert await meetings.apply_participant_event(received(join, "j1")) == "applied"
    assert [e.sid for e in (await meetings.get(m.meeting_id)).roster] == ["s1"]
    assert await meetings.apply_participant_event(received(join, "j1")) == "duplicate"
    assert await meetings.apply_participant_event(received(leave, "l1")) == "applied"
    assert await meetings.apply_participant_event(received(join, "j1")) == "duplicate"
    assert (await meetings.get(m.meeting_id)).roster == ()
    assert await meetings.apply_participant_event(received(leave, "l2")) == "ignored"
    other = join.model_copy(update={"meeting_id": "nope"})
    assert await meetings.apply_participant_event(received(other, "j2")) == "ignored"


async def test_a_batch_of_participant_events_applies_in_order_each_once(meetings, repo) -> None:
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", schedule=None)
    now = datetime.now(UTC)

    def join(sid: str) -> ParticipantJoined:
        return ParticipantJoined(meeting_id=m.meeting_id, user_id="bob", display_name="Bob", sid=sid, replica_id="r", joined_at=now)

    def leave(sid: str) -> ParticipantLeft:
        return ParticipantLeft(meeting_id=m.meeting_id, user_id="bob", sid=sid, replica_id="r", reason="left", left_at=now)

    batch = [received(join("s1"), "j1"), received(join("s2"), "j2"), received(leave("s1"), "l1"),
             received(join("s1"), "j1"), received(leave("s3"), "l3")]
    assert await meetings.apply_participant_events(batch) == ["applied", "applied", "applied", "duplicate", "ignored"]
    assert [e.sid for e in (await meetings.get(m.meeting_id)).roster] == ["s2"]
    assert repo.processed.ids == set()  # the store is not asked: the ids are kept in memory
    assert repo.roster_writes == 1  # one write for the meeting's whole batch
    again = await meetings.apply_participant_events(batch)  # a redelivered batch changes nothing
    assert again == ["duplicate"] * 5
    assert [e.sid for e in (await meetings.get(m.meeting_id)).roster] == ["s2"]


async def test_a_roster_write_that_lost_a_race_is_recomputed_and_an_ended_meeting_ignores_events(meetings, repo) -> None:
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", schedule=None)
    now = datetime.now(UTC)
    join = ParticipantJoined(meeting_id=m.meeting_id, user_id="bob", display_name="Bob", sid="s1", replica_id="r", joined_at=now)
    other = join.model_copy(update={"sid": "s9"})
    real_replace = repo.replace_roster
    raced = []

    async def replace_after_a_concurrent_write(meeting_id, seen, roster, empty=None, arrived=()):
        if not raced:  # another writer adds s9 between this read and this write
            raced.append(1)
            await real_replace(meeting_id, seen, [*seen.roster, RosterEntry(**{**join.model_dump(), "sid": "s9"})])
        return await real_replace(meeting_id, seen, roster, empty, arrived)

    repo.replace_roster = replace_after_a_concurrent_write
    assert await meetings.apply_participant_events([received(join, "j1"), received(other, "j9")]) == ["applied", "ignored"]
    assert [e.sid for e in (await meetings.get(m.meeting_id)).roster] == ["s9", "s1"]
    await meetings.end(m.meeting_id, user_id="alice")
    late = join.model_copy(update={"sid": "s2"})
    assert await meetings.apply_participant_events([received(late, "j2")]) == ["ignored"]
    assert (await meetings.get(m.meeting_id)).roster == ()


async def test_a_meeting_s_next_roster_write_starts_from_the_last_one_without_a_read(clocked, repo) -> None:
    meetings, _ = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=None)
    await meetings.apply_participant_events([joined(m.meeting_id, "s1", NOW, "e1")])
    assert (repo.roster_reads, repo.roster_writes) == (1, 1)
    await meetings.apply_participant_events([joined(m.meeting_id, "s2", NOW, "e2")])
    await meetings.apply_participant_events([left(m.meeting_id, "s1", NOW, "e3"), joined(m.meeting_id, "s3", NOW, "e4")])
    assert (repo.roster_reads, repo.roster_writes) == (1, 3)
    assert [e.sid for e in repo.meetings[m.meeting_id].roster] == ["s2", "s3"]


async def test_a_call_room_records_who_arrived_and_reports_its_emptying_with_them(clocked, repo) -> None:
    """In a call's room each roster write adds who joined to ``arrived`` (from memory too), and
    the leave that empties it is reported with them; an ordinary meeting records and reports
    nothing (:meth:`Calls.room_emptied` decides whether the call ends)."""
    meetings, _ = clocked
    emptied: list[tuple[str, str, frozenset[str]]] = []

    async def on_room_emptied(meeting_id: str, user_id: str, arrived: frozenset[str]) -> None:
        emptied.append((meeting_id, user_id, arrived))

    meetings.on_room_emptied = on_room_emptied
    room = await meetings.create(host_id="h", host_name="H", title="call", schedule=None)
    repo.meetings[room.meeting_id] = room.model_copy(update={"call_id": "c1"})
    plain = await meetings.create(host_id="h", host_name="H", title="t", schedule=None)
    for m in (room, plain):
        await meetings.apply_participant_events([joined(m.meeting_id, "s1", NOW, f"{m.meeting_id}-1")])
        await meetings.apply_participant_events([left(m.meeting_id, "s1", NOW, f"{m.meeting_id}-2")])
    assert emptied == [(room.meeting_id, "u-s1", frozenset({"u-s1"}))]
    again = [joined(room.meeting_id, "s2", NOW, "r3"), left(room.meeting_id, "s2", NOW, "r4")]
    await meetings.apply_participant_events(again)
    assert emptied[-1] == (room.meeting_id, "u-s2", frozenset({"u-s1", "u-s2"}))
    assert repo.arrived[room.meeting_id] == {"u-s1", "u-s2"} and not repo.arrived[plain.meeting_id]


async def test_a_roster_another_writer_changed_since_this_process_wrote_it_is_read_again(clocked, repo) -> None:
    """Another replica (after a rebalance) adds s9 and removes s2 behind this process's back:
    the join's write from the remembered roster misses on the revision, and the leave of s9,
    which the remembered roster would ignore, is checked against the store."""
    meetings, _ = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=None)
    await meetings.apply_participant_events([joined(m.meeting_id, "s1", NOW, "e1"), joined(m.meeting_id, "s2", NOW, "e2")])
    other = Meetings(repo, MeetingsMetrics(CollectorRegistry()), summaries=SummaryCache(repo.summary, size=100, ttl_s=60))
    await other.apply_participant_events([joined(m.meeting_id, "s9", NOW, "e3"), left(m.meeting_id, "s2", NOW, "e4")])
    reads = repo.roster_reads

    assert await meetings.apply_participant_events([joined(m.meeting_id, "s3", NOW, "e5")]) == ["applied"]
    assert [e.sid for e in repo.meetings[m.meeting_id].roster] == ["s1", "s9", "s3"]
    assert repo.roster_reads == reads + 1  # the write from memory missed; the store was read once

    await other.apply_participant_events([joined(m.meeting_id, "s8", NOW, "e6")])  # its memory is stale now
    assert await other.apply_participant_events([left(m.meeting_id, "s3", NOW, "e7")]) == ["applied"]
    assert [e.sid for e in repo.meetings[m.meeting_id].roster] == ["s1", "s9", "s8"]
    assert await meetings.apply_participant_events([left(m.meeting_id, "s8", NOW, "e8")]) == ["applied"]
    assert [e.sid for e in repo.meetings[m.meeting_id].roster] == ["s1", "s9"]


async def test_a_roster_write_from_memory_misses_when_the_empty_timeout_changed(clocked, repo) -> None:
    meetings, now = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=None, empty_timeout_seconds=60)
    await meetings.apply_participant_events([joined(m.meeting_id, "s1", NOW, "e1")])
    await meetings.update(m.meeting_id, user_id="h", changes={"empty_timeout_seconds": 600})
    await meetings.apply_participant_events([left(m.meeting_id, "s1", NOW, "e2")])
    assert repo.meetings[m.meeting_id].expires_at == NOW + timedelta(seconds=600)


async def test_a_replay_from_any_offset_in_a_new_process_ends_with_the_same_roster(clocked, repo) -> None:
    """After a restart or a rebalance, Kafka replays a partition from its committed offset, in
    order, to a process that remembers none of the ids: the roster ends as it did."""
    meetings, _ = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=None)
    mid = m.meeting_id
    later = NOW + timedelta(seconds=30)
    # s1 comes back: its replica was reported lost, then reported it as joined again
    run = [joined(mid, "s1", NOW, "e1"), joined(mid, "s2", NOW, "e2"), left(mid, "s1", NOW, "e3"),
           joined(mid, "s3", NOW, "e4"), left(mid, "s3", NOW, "e5"), joined(mid, "s1", later, "e6")]
    for event in run:
        await meetings.apply_participant_events([event])
    final = repo.meetings[mid].roster
    assert [(e.sid, e.joined_at) for e in final] == [("s2", NOW), ("s1", later)]
    for start in range(len(run)):
        restarted = Meetings(repo, MeetingsMetrics(CollectorRegistry()), summaries=SummaryCache(repo.summary, size=100, ttl_s=60))
        await restarted.apply_participant_events(run[start:])
        assert repo.meetings[mid].roster == final, start
        for event in run[start:]:  # one record at a time, as small batches would
            await restarted.apply_participant_events([event])
        assert repo.meetings[mid].roster == final, start


async def test_a_batch_that_failed_is_applied_when_it_comes_again(meetings, repo) -> None:
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=None)
    batch = [joined(m.meeting_id, "s1", NOW, "e1")]
    real_replace = repo.replace_roster

    async def unavailable(*args, **kwargs):
        raise ConnectionError("the store went away")

    repo.replace_roster = unavailable
    with pytest.raises(ConnectionError):
        await meetings.apply_participant_events(batch)
    repo.replace_roster = real_replace
    assert await meetings.apply_participant_events(batch) == ["applied"]
    assert await meetings.apply_participant_events(batch) == ["duplicate"]


def test_meeting_ids_are_short_url_safe_and_distinct() -> None:
    ids = {new_meeting_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[a-z]{4}-[a-z]{4}-[a-z]{4}", i) for i in ids)


def test_create_request_validation() -> None:
    body = CreateMeetingRequest(title=" x ", scheduled_start="2030-01-01T10:00:00+01:00")
    assert body.title == "x"
    assert body.scheduled_start == datetime(2030, 1, 1, 9, tzinfo=UTC)
    for bad in ({"title": ""}, {"title": "x" * 201}, {"title": "x", "scheduled_start": "2030-01-01T10:00:00"}):
        with pytest.raises(ValueError):
            CreateMeetingRequest(**bad)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scheduled_start", "1900000000"),  # a Unix time as a digit string
        ("scheduled_start", 1900000000),
        ("scheduled_start", "2030-05-04T09:30Z"),  # no seconds
        ("scheduled_start", "2030-05-04 09:30:00Z"),  # no T
        ("scheduled_start", "2030-05-04T09:30:00+0200"),  # offset without a colon
        ("scheduled_start", "2999-12-31T23:59:59-14:00"),  # the year 3000 in UTC
        ("scheduled_start", "2000-01-01T00:30:00+01:00"),  # 1999 in UTC
        ("time_zone", "localtime"),  # a file of the host's zone data, not an IANA name
        ("time_zone", "posixrules"),
        ("time_zone", "europe/paris"),
    ],
)
def test_schedules_take_rfc_3339_starts_in_range_and_iana_zone_names_only(field: str, value: object) -> None:
    body = {"scheduled_start": "2030-05-04T09:30:00+02:00", "time_zone": "Europe/Paris", field: value}
    for request in (CreateMeetingRequest, RescheduleRequest):
        with pytest.raises(ValidationError) as refused:
            request.model_validate({"title": "t", **body} if request is CreateMeetingRequest else body)
        assert [error["loc"] for error in refused.value.errors()] == [(field,)]


def test_schedules_take_every_rfc_3339_form_with_seconds_and_an_offset() -> None:
    for written, utc in (
        ("2030-05-04T09:30:00+02:00", datetime(2030, 5, 4, 7, 30, tzinfo=UTC)),
        ("2030-05-04T09:30:00.250Z", datetime(2030, 5, 4, 9, 30, 0, 250000, tzinfo=UTC)),
        ("2030-05-04t09:30:00z", datetime(2030, 5, 4, 9, 30, tzinfo=UTC)),  # RFC 3339 letters are case-insensitive
        ("2999-12-31T23:59:59+14:00", datetime(2999, 12, 31, 9, 59, 59, tzinfo=UTC)),
    ):
        assert RescheduleRequest(scheduled_start=written, time_zone="US/Eastern").scheduled_start == utc


def test_invite_url_uses_the_public_base_url() -> None:
    m = Meeting(meeting_id="abcd-efgh-ijkl", title="t", host_id="a", created_at=datetime.now(UTC))
    assert MeetingOut.of(m, "https://parley.example/").invite_url == "https://parley.example/m/abcd-efgh-ijkl"


async def test_summaries_are_read_once_and_forgotten_on_an_event_or_an_end(meetings, repo) -> None:
    meeting = await meetings.create(host_id="h", host_name="H", title="t", schedule=None)
    first = await meetings.summary(meeting.meeting_id)
    again = await meetings.summary(meeting.meeting_id)
    assert first == again == meeting.summary() and repo.summary_reads == 1
    meetings.forget_summary(meeting.meeting_id)  # an event of the meeting arrived
    await meetings.summary(meeting.meeting_id)
    assert repo.summary_reads == 2
    await meetings.end(meeting.meeting_id, user_id="h")  # this replica's own write: at once
    ended = await meetings.summary(meeting.meeting_id)
    assert ended.status == "ended" and repo.summary_reads == 3
    with pytest.raises(MeetingNotFound):
        await meetings.summary("no-such-meeting")
    with pytest.raises(MeetingNotFound):  # not cached: it may be created on another replica
        await meetings.summary("no-such-meeting")
    assert repo.summary_reads == 5


class GatedLoad:
    """A store read that waits for ``release``; counts its calls."""

    def __init__(self, found: bool = True) -> None:
        self.reads: list[str] = []
        self.release = asyncio.Event()
        self.found = found

    async def __call__(self, meeting_id: str) -> MeetingSummary | None:
        self.reads.append(meeting_id)
        number = len(self.reads)
        await self.release.wait()
        if not self.found:
            return None
        return MeetingSummary(meeting_id=meeting_id, title=f"read {number}", host_id="h",
                              created_at=datetime.now(UTC))

    async def started(self) -> None:
        """Until the first read waits in the store."""
        while not self.reads:
            await asyncio.sleep(0)


async def test_a_summary_read_before_an_invalidation_is_not_kept_after_it() -> None:
    load = GatedLoad()
    cache = SummaryCache(load, size=10, ttl_s=60)
    reading = asyncio.create_task(cache.get("m"))
    await load.started()
    cache.forget("m")  # the meeting ended on another replica while the store read ran
    load.release.set()
    await reading
    await cache.get("m")
    assert load.reads == ["m", "m"]


async def test_concurrent_misses_of_one_meeting_share_one_store_read() -> None:
    load = GatedLoad()
    cache = SummaryCache(load, size=10, ttl_s=60)
    readers = [asyncio.create_task(cache.get("m")) for _ in range(50)]
    other = asyncio.create_task(cache.get("n"))
    await asyncio.sleep(0)
    load.release.set()
    summaries = await asyncio.gather(*readers, other)
    assert sorted(load.reads) == ["m", "n"]
    assert {s.title for s in summaries[:50]} == {summaries[0].title}
    await cache.get("m")  # kept
    assert len(load.reads) == 2


async def test_a_missing_meeting_fails_every_waiting_read_and_is_read_again_next_time() -> None:
    load = GatedLoad(found=False)
    cache = SummaryCache(load, size=10, ttl_s=60)
    readers = [asyncio.create_task(cache.get("m")) for _ in range(3)]
    await asyncio.sleep(0)
    load.release.set()
    results = await asyncio.gather(*readers, return_exceptions=True)
    assert all(isinstance(r, MeetingNotFound) for r in results) and load.reads == ["m"]
    with pytest.raises(MeetingNotFound):
        await cache.get("m")
    assert load.reads == ["m", "m"]


async def test_a_reader_that_goes_away_does_not_cancel_the_shared_read() -> None:
    load = GatedLoad()
    cache = SummaryCache(load, size=10, ttl_s=60)
    first = asyncio.create_task(cache.get("m"))
    second = asyncio.create_task(cache.get("m"))
    await asyncio.sleep(0)
    first.cancel()  # its client hung up
    await asyncio.sleep(0)
    load.release.set()
    assert (await second).meeting_id == "m" and first.cancelled()
    assert load.reads == ["m"]


async def test_a_read_after_an_invalidation_does_not_join_the_read_before_it() -> None:
    load = GatedLoad()
    cache = SummaryCache(load, size=10, ttl_s=60)
    before = asyncio.create_task(cache.get("m"))
    await load.started()
    cache.forget("m")  # a write of the meeting was acknowledged meanwhile
    after = asyncio.create_task(cache.get("m"))
    await asyncio.sleep(0)
    load.release.set()
    assert (await before).title == "read 1"
    assert (await after).title == "read 2" and load.reads == ["m", "m"]


# --- scheduling ------------------------------------------------------------------------------

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clocked(repo: FakeRepository) -> tuple[Meetings, list[datetime]]:
    """Meetings whose clock reads ``now[0]`` (NOW until a test moves it); joins open 15 minutes early."""
    now = [NOW]
    summaries = SummaryCache(repo.summary, size=100, ttl_s=60)
    service = Meetings(
        repo, MeetingsMetrics(CollectorRegistry()), summaries=summaries,  # type: ignore[arg-type]
        join_lead=timedelta(minutes=15), clock=lambda: now[0],
    )
    return service, now


def at(minutes: int) -> Schedule:
    return Schedule(start=NOW + timedelta(minutes=minutes), duration_minutes=30, time_zone="Europe/Paris")


async def test_a_start_in_the_past_is_refused_and_nothing_is_stored(clocked, repo) -> None:
    meetings, _ = clocked
    with pytest.raises(StartInPast):
        await meetings.create(host_id="h", host_name="H", title="t", schedule=at(-2))
    assert repo.meetings == {}
    # within the grace (the client's clock, the request's travel) it is accepted
    await meetings.create(host_id="h", host_name="H", title="t", schedule=at(0))


async def test_participants_join_from_the_lead_before_the_start_and_the_host_at_any_time(clocked, repo) -> None:
    meetings, now = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=at(60))
    with pytest.raises(NotOpenYet, match="opens at 2030-01-01T12:45:00"):
        await meetings.join(m.meeting_id, user_id="p", display_name="P")
    assert [e.data.__class__.__name__ for e in staged(repo, m.meeting_id)] == ["MeetingCreated"]
    await meetings.join(m.meeting_id, user_id="h", display_name="H")  # the host
    now[0] = NOW + timedelta(minutes=45)
    _, role, _ = await meetings.join(m.meeting_id, user_id="p", display_name="P")
    assert role == "participant"


async def test_reschedule_moves_the_meeting_raises_the_sequence_and_stages_meeting_rescheduled(clocked, repo) -> None:
    meetings, _ = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=at(60))
    assert m.sequence == 0
    moved = await meetings.reschedule(m.meeting_id, user_id="h", start=NOW + timedelta(days=1), duration_minutes=90)
    again = await meetings.reschedule(m.meeting_id, user_id="h", start=NOW + timedelta(days=2))
    assert (moved.sequence, again.sequence) == (1, 2)
    assert again.schedule == Schedule(start=NOW + timedelta(days=2), duration_minutes=90, time_zone="Europe/Paris")
    events = [e.data for e in staged(repo, m.meeting_id)][1:]
    assert [(e.event_type, e.sequence, e.duration_minutes) for e in events] == [
        ("parley.meetings.meeting.rescheduled.v1", 1, 90),
        ("parley.meetings.meeting.rescheduled.v1", 2, 90),
    ]
    # the join window follows the new start
    with pytest.raises(NotOpenYet):
        await meetings.join(m.meeting_id, user_id="p", display_name="P")


async def test_only_the_host_reschedules_or_cancels_and_never_into_the_past(clocked, repo) -> None:
    meetings, _ = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=at(60))
    with pytest.raises(NotHost):
        await meetings.reschedule(m.meeting_id, user_id="p", start=NOW + timedelta(days=1))
    with pytest.raises(NotHost):
        await meetings.cancel(m.meeting_id, user_id="p")
    with pytest.raises(StartInPast):
        await meetings.reschedule(m.meeting_id, user_id="h", start=NOW - timedelta(hours=1))
    assert repo.meetings[m.meeting_id].sequence == 0 and len(repo.outbox[m.meeting_id]) == 1


async def test_cancel_ends_a_scheduled_meeting_once_and_nobody_joins_it(clocked, repo) -> None:
    meetings, now = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=at(10))
    cancelled = await meetings.cancel(m.meeting_id, user_id="h")
    assert (cancelled.status, cancelled.end_reason, cancelled.sequence) == ("ended", "cancelled", 1)
    event = staged(repo, m.meeting_id)[-1].data
    assert (event.event_type, event.cancelled_by, event.sequence) == ("parley.meetings.meeting.cancelled.v1", "h", 1)
    with pytest.raises(MeetingHasEnded):
        await meetings.cancel(m.meeting_id, user_id="h")
    with pytest.raises(MeetingHasEnded):
        await meetings.reschedule(m.meeting_id, user_id="h", start=NOW + timedelta(days=1))
    with pytest.raises(MeetingHasEnded):
        await meetings.join(m.meeting_id, user_id="p", display_name="P")
    unscheduled = await meetings.create(host_id="h", host_name="H", title="t", schedule=None)
    with pytest.raises(NotScheduled):
        await meetings.cancel(unscheduled.meeting_id, user_id="h")


async def test_upcoming_lists_active_scheduled_meetings_not_yet_over_soonest_first(clocked, repo) -> None:
    meetings, now = clocked
    later = await meetings.create(host_id="h", host_name="H", title="later", schedule=at(120))
    soon = await meetings.create(host_id="h", host_name="H", title="soon", schedule=at(5))
    await meetings.create(host_id="h", host_name="H", title="unscheduled", schedule=None)
    gone = await meetings.create(host_id="h", host_name="H", title="cancelled", schedule=at(60))
    await meetings.cancel(gone.meeting_id, user_id="h")
    assert [m.title for m in await meetings.upcoming_for("h")] == ["soon", "later"]
    now[0] = NOW + timedelta(minutes=40)  # "soon" (30 minutes from 12:05) is over
    assert [m.meeting_id for m in await meetings.upcoming_for("h")] == [later.meeting_id]
    assert soon.meeting_id not in [m.meeting_id for m in await meetings.upcoming_for("h")]


# --- expiry of empty meetings -----------------------------------------------------------------


def joined(meeting_id: str, sid: str, at_: datetime, event_id: str) -> ReceivedEvent:
    data = ParticipantJoined(meeting_id=meeting_id, user_id="u-" + sid, display_name="U", sid=sid, replica_id="r1", joined_at=at_)
    return received(data, event_id)


def left(meeting_id: str, sid: str, at_: datetime, event_id: str) -> ReceivedEvent:
    data = ParticipantLeft(meeting_id=meeting_id, user_id="u-" + sid, sid=sid, replica_id="r1", reason="left", left_at=at_)
    return received(data, event_id)


async def test_an_emptied_room_stores_a_deadline_a_join_clears_it_and_the_sweep_expires_it_once(clocked, repo) -> None:
    meetings, now = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=None, empty_timeout_seconds=60)
    await meetings.apply_participant_events([joined(m.meeting_id, "s1", NOW, "e1")])
    assert repo.meetings[m.meeting_id].expires_at is None
    now[0] = NOW + timedelta(seconds=12)  # the leave is applied a little after it happened
    await meetings.apply_participant_events([left(m.meeting_id, "s1", NOW + timedelta(seconds=10), "e2")])
    stored = repo.meetings[m.meeting_id]
    assert (stored.empty_since, stored.expires_at) == (NOW + timedelta(seconds=10), NOW + timedelta(seconds=70))

    now[0] = NOW + timedelta(seconds=69)
    assert await meetings.expire_due() == 0  # not yet due
    await meetings.apply_participant_events([joined(m.meeting_id, "s2", now[0], "e3")])
    assert repo.meetings[m.meeting_id].expires_at is None  # someone came back: no deadline
    now[0] = NOW + timedelta(minutes=10)
    assert await meetings.expire_due() == 0 and repo.meetings[m.meeting_id].status == "active"

    await meetings.apply_participant_events([left(m.meeting_id, "s2", now[0], "e4")])
    now[0] += timedelta(seconds=60)
    assert await meetings.expire_due() == 1
    assert await meetings.expire_due() == 0  # expired once
    expired = repo.meetings[m.meeting_id]
    assert (expired.status, expired.end_reason, expired.ended_at, expired.expires_at) == ("ended", "expired", now[0], None)
    event = staged(repo, m.meeting_id)[-1].data
    assert isinstance(event, MeetingExpired)
    assert (event.empty_since, event.empty_timeout_seconds, event.expired_at) == (now[0] - timedelta(seconds=60), 60, now[0])


async def test_the_default_timeout_applies_and_a_meeting_nobody_joined_never_expires(clocked, repo) -> None:
    meetings, now = clocked
    meetings.empty_timeout = timedelta(minutes=5)
    idle = await meetings.create(host_id="h", host_name="H", title="idle", schedule=None)
    used = await meetings.create(host_id="h", host_name="H", title="used", schedule=None)
    await meetings.apply_participant_events([joined(used.meeting_id, "s1", NOW, "e1"), left(used.meeting_id, "s1", NOW, "e2")])
    assert repo.meetings[used.meeting_id].expires_at == NOW + timedelta(minutes=5)
    now[0] = NOW + timedelta(hours=1)
    assert await meetings.expire_due() == 1
    assert repo.meetings[used.meeting_id].end_reason == "expired"
    assert repo.meetings[idle.meeting_id].status == "active"


async def test_a_deadline_that_changed_after_the_read_is_not_expired(clocked, repo) -> None:
    """The write is conditional on the deadline read: a join (or another replica's expiry)
    between the sweep's read and its write wins."""
    meetings, now = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=None, empty_timeout_seconds=5)
    await meetings.apply_participant_events([joined(m.meeting_id, "s1", NOW, "e1"), left(m.meeting_id, "s1", NOW, "e2")])
    now[0] = NOW + timedelta(seconds=30)
    [due] = await repo.due(now[0], 10)
    await meetings.apply_participant_events([joined(m.meeting_id, "s2", now[0], "e3")])
    assert not await repo.expire(due, now[0], {})
    assert repo.meetings[m.meeting_id].status == "active"


async def test_only_the_host_sets_the_empty_timeout(clocked, repo) -> None:
    meetings, _ = clocked
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=None)
    await meetings.join(m.meeting_id, user_id="g", display_name="G")
    with pytest.raises(NotHost):
        await meetings.update(m.meeting_id, user_id="g", changes={"empty_timeout_seconds": 30})
    assert (await meetings.update(m.meeting_id, user_id="h", changes={"empty_timeout_seconds": 30})).empty_timeout_seconds == 30
    assert (await meetings.update(m.meeting_id, user_id="h", changes={})).empty_timeout_seconds == 30
    assert (await meetings.update(m.meeting_id, user_id="h", changes={"empty_timeout_seconds": None})).empty_timeout_seconds is None
    await meetings.end(m.meeting_id, user_id="h")
    with pytest.raises(MeetingHasEnded):
        await meetings.update(m.meeting_id, user_id="h", changes={"empty_timeout_seconds": 30})


def test_the_empty_timeout_is_an_integer_from_5_seconds_to_a_day() -> None:
    assert CreateMeetingRequest(title="t", empty_timeout_seconds=5).empty_timeout_seconds == 5
    for bad in (4, 86401, "60", 60.5, True):
        with pytest.raises(ValueError):
            CreateMeetingRequest.model_validate({"title": "t", "empty_timeout_seconds": bad})


async def test_allow_guests_travels_in_the_events_and_a_guest_joins_only_while_allowed(meetings, repo) -> None:
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=None, allow_guests=True)
    created = staged(repo, m.meeting_id)[0].data
    assert isinstance(created, MeetingCreated) and created.allow_guests
    _, role, _ = await meetings.join(m.meeting_id, user_id="guest-g1", display_name="Grace", guest=True)
    assert role == "participant"
    changed = await meetings.update(m.meeting_id, user_id="h", changes={"allow_guests": False})
    assert not changed.allow_guests
    updated = staged(repo, m.meeting_id)[-1].data
    assert isinstance(updated, MeetingUpdated)
    assert (updated.allow_guests, updated.empty_timeout_seconds, updated.updated_by) == (False, None, "h")
    with pytest.raises(GuestsNotAllowed):
        await meetings.join(m.meeting_id, user_id="guest-g2", display_name="Gus", guest=True)
    await meetings.join(m.meeting_id, user_id="u2", display_name="User")  # users still join


async def test_an_update_states_every_setting_after_it(meetings, repo) -> None:
    m = await meetings.create(host_id="h", host_name="H", title="t", schedule=None, allow_guests=True)
    await meetings.update(m.meeting_id, user_id="h", changes={"empty_timeout_seconds": 30})
    updated = staged(repo, m.meeting_id)[-1].data
    assert (updated.allow_guests, updated.empty_timeout_seconds) == (True, 30)
    await meetings.update(m.meeting_id, user_id="h", changes={})
    assert len(staged(repo, m.meeting_id)) == 2  # created, one update: nothing for no change


@pytest.mark.parametrize("bad", ["45", 45.0, 45.5, True])
def test_duration_minutes_is_a_json_integer(bad: object) -> None:
    body = {"title": "t", "scheduled_start": "2999-05-04T09:30:00+02:00"}
    assert CreateMeetingRequest.model_validate({**body, "duration_minutes": 45}).duration_minutes == 45
    for model in (CreateMeetingRequest, RescheduleRequest):
        with pytest.raises(ValueError):
            model.model_validate({**body, "duration_minutes": bad})


def test_allow_guests_is_a_json_boolean() -> None:
    assert CreateMeetingRequest(title="t").allow_guests is False
    for bad in ("true", 1, None):
        with pytest.raises(ValueError):
            CreateMeetingRequest.model_validate({"title": "t", "allow_guests": bad})
