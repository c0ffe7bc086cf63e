"""Unit tests of the meeting rules, with an in-memory repository."""

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from parley_events import MeetingCreated, MeetingEnded, MeetingJoined, ParticipantJoined, ParticipantLeft, ReceivedEvent, decode
from parley_meetings.api.schemas import CreateMeetingRequest, MeetingOut
from parley_meetings.domain.errors import MeetingHasEnded, MeetingNotFound, NotAParticipant, NotHost
from parley_meetings.domain.ids import new_meeting_id
from parley_meetings.domain.models import Meeting, MeetingSummary, Participant, RosterEntry
from parley_meetings.domain.service import Meetings
from parley_meetings.domain.summaries import SummaryCache
from parley_meetings.repository import RosterState
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
        self.roster_writes = 0
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

    async def roster_state(self, meeting_id: str) -> RosterState | None:
        m = self.meetings.get(meeting_id)
        return RosterState(status=m.status, roster=m.roster, rev=self.roster_revs.get(meeting_id)) if m else None

    async def replace_roster(self, meeting_id: str, seen: RosterState, roster) -> bool:
        m = self.meetings.get(meeting_id)
        if not m or m.status != "active" or self.roster_revs.get(meeting_id) != seen.rev:
            return False
        self.meetings[meeting_id] = m.model_copy(update={"roster": tuple(roster)})
        self.roster_revs[meeting_id] = (seen.rev or 0) + 1
        self.roster_writes += 1
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
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", scheduled_start=None)
    assert m.participants[0].user_id == "alice" and m.participants[0].role == "host"
    assert m.created_at.microsecond % 1000 == 0  # BSON keeps milliseconds
    [event] = staged(repo, m.meeting_id)
    assert isinstance(event.data, MeetingCreated)
    assert (event.data.meeting_id, event.data.host_id, event.data.title) == (m.meeting_id, "alice", "Sync")
    assert event.subject == m.meeting_id
    assert notified == [1]


async def test_join_is_idempotent_stages_meeting_joined_once_and_is_refused_once_ended(meetings, repo) -> None:
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", scheduled_start=None)
    for _ in range(2):
        joined, role = await meetings.join(m.meeting_id, user_id="bob", display_name="Bob")
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
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", scheduled_start=None)
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
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", scheduled_start=None)
    assert (await meetings.membership(m.meeting_id, user_id="alice"))[1] == "host"
    with pytest.raises(NotAParticipant):
        await meetings.membership(m.meeting_id, user_id="mallory")
    with pytest.raises(NotAParticipant):
        await meetings.roster(m.meeting_id, user_id="mallory")
    with pytest.raises(MeetingNotFound):
        await meetings.membership("nope", user_id="alice")


async def test_participant_events_apply_once(meetings) -> None:
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", scheduled_start=None)
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
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", scheduled_start=None)
    now = datetime.now(UTC)

    def join(sid: str) -> ParticipantJoined:
        return ParticipantJoined(meeting_id=m.meeting_id, user_id="bob", display_name="Bob", sid=sid, replica_id="r", joined_at=now)

    def leave(sid: str) -> ParticipantLeft:
        return ParticipantLeft(meeting_id=m.meeting_id, user_id="bob", sid=sid, replica_id="r", reason="left", left_at=now)

    batch = [received(join("s1"), "j1"), received(join("s2"), "j2"), received(leave("s1"), "l1"),
             received(join("s1"), "j1"), received(leave("s3"), "l3")]
    assert await meetings.apply_participant_events(batch) == ["applied", "applied", "applied", "duplicate", "ignored"]
    assert [e.sid for e in (await meetings.get(m.meeting_id)).roster] == ["s2"]
    assert repo.processed.ids == {"j1", "j2", "l1", "l3"}
    assert repo.roster_writes == 1  # one write for the meeting's whole batch
    again = await meetings.apply_participant_events(batch)  # a redelivered batch changes nothing
    assert again == ["duplicate"] * 5
    assert [e.sid for e in (await meetings.get(m.meeting_id)).roster] == ["s2"]


async def test_a_roster_write_that_lost_a_race_is_recomputed_and_an_ended_meeting_ignores_events(meetings, repo) -> None:
    m = await meetings.create(host_id="alice", host_name="Alice", title="Sync", scheduled_start=None)
    now = datetime.now(UTC)
    join = ParticipantJoined(meeting_id=m.meeting_id, user_id="bob", display_name="Bob", sid="s1", replica_id="r", joined_at=now)
    other = join.model_copy(update={"sid": "s9"})
    real_replace = repo.replace_roster
    raced = []

    async def replace_after_a_concurrent_write(meeting_id, seen, roster):
        if not raced:  # another writer adds s9 between this read and this write
            raced.append(1)
            await real_replace(meeting_id, seen, [*seen.roster, RosterEntry(**{**join.model_dump(), "sid": "s9"})])
        return await real_replace(meeting_id, seen, roster)

    repo.replace_roster = replace_after_a_concurrent_write
    assert await meetings.apply_participant_events([received(join, "j1"), received(other, "j9")]) == ["applied", "ignored"]
    assert [e.sid for e in (await meetings.get(m.meeting_id)).roster] == ["s9", "s1"]
    await meetings.end(m.meeting_id, user_id="alice")
    late = join.model_copy(update={"sid": "s2"})
    assert await meetings.apply_participant_events([received(late, "j2")]) == ["ignored"]
    assert (await meetings.get(m.meeting_id)).roster == ()


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


def test_invite_url_uses_the_public_base_url() -> None:
    m = Meeting(meeting_id="abcd-efgh-ijkl", title="t", host_id="a", created_at=datetime.now(UTC))
    assert MeetingOut.of(m, "https://parley.example/").invite_url == "https://parley.example/m/abcd-efgh-ijkl"


async def test_summaries_are_read_once_and_forgotten_on_an_event_or_an_end(meetings, repo) -> None:
    meeting = await meetings.create(host_id="h", host_name="H", title="t", scheduled_start=None)
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


async def test_a_summary_read_before_an_invalidation_is_not_kept_after_it() -> None:
    loaded = asyncio.Event()
    release = asyncio.Event()
    reads = []

    async def load(meeting_id: str) -> MeetingSummary:
        reads.append(meeting_id)
        loaded.set()
        await release.wait()
        return MeetingSummary(meeting_id=meeting_id, title="t", host_id="h", created_at=datetime.now(UTC))

    cache = SummaryCache(load, size=10, ttl_s=60)
    reading = asyncio.create_task(cache.get("m"))
    await loaded.wait()
    cache.forget("m")  # the meeting ended on another replica while the store read ran
    release.set()
    await reading
    await cache.get("m")
    assert reads == ["m", "m"]
