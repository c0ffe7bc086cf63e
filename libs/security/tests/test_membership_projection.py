"""The membership projection and its HTTP fallback, with meetings faked by an httpx transport."""

from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import CollectorRegistry

from parley_events import MeetingCancelled, MeetingCreated, MeetingEnded, MeetingJoined, MeetingRescheduled, UserRegistered
from parley_security import MeetingsClient, MembershipDenied, MembershipUnavailable, Principal
from parley_security.membership_projection import MembershipProjection, ProjectedMembership

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def principal(user_id: str) -> Principal:
    return Principal(user_id=user_id, display_name=user_id.title(), token=f"token-{user_id}")


class Meetings:
    """meetings' membership endpoint: ``members`` per meeting, or down."""

    def __init__(self) -> None:
        self.members: dict[str, dict[str, str]] = {}
        self.down = False
        self.asked = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.asked += 1
        if self.down:
            raise httpx.ConnectError("connection refused")
        meeting_id = request.url.path.split("/")[3]
        user_id = request.headers["Authorization"].removeprefix("Bearer token-")
        if meeting_id not in self.members:
            return httpx.Response(404)
        role = self.members[meeting_id].get(user_id)
        if role is None:
            return httpx.Response(403)
        body = {"meeting_id": meeting_id, "user_id": user_id, "role": role, "status": "active"}
        return httpx.Response(200, json=body)


@pytest.fixture
def meetings() -> Meetings:
    return Meetings()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def source(meetings: Meetings, registry: CollectorRegistry) -> ProjectedMembership:
    http = httpx.AsyncClient(transport=httpx.MockTransport(meetings.handler), base_url="http://meetings.test")
    return ProjectedMembership(MembershipProjection(), MeetingsClient("http://meetings.test", http=http), registry)


def test_events_make_members_and_end_meetings_idempotently() -> None:
    projection = MembershipProjection()
    created = MeetingCreated(meeting_id="m1", host_id="alice", title="t", created_at=NOW)
    joined = MeetingJoined(meeting_id="m1", user_id="bob", display_name="Bob", joined_at=NOW)
    for event in (created, joined, joined, MeetingJoined(meeting_id="m1", user_id="alice", display_name="A", joined_at=NOW)):
        assert projection.apply(event)
    assert not projection.apply(UserRegistered(user_id="u", email="e@x", display_name="U"))
    assert projection.lookup("m1", "alice").role == "host"  # type: ignore[union-attr]
    assert projection.lookup("m1", "bob").role == "participant"  # type: ignore[union-attr]
    assert projection.lookup("m1", "carol") is None
    assert projection.lookup("m2", "alice") is None
    projection.apply(MeetingEnded(meeting_id="m1", ended_by="alice", ended_at=NOW))
    projection.apply(joined)  # a late copy re-published by the outbox
    assert projection.lookup("m1", "bob").status == "ended"  # type: ignore[union-attr]


def test_a_cancelled_meeting_is_ended_and_a_rescheduled_one_is_not() -> None:
    projection = MembershipProjection()
    projection.apply(MeetingCreated(meeting_id="m1", host_id="alice", title="t", created_at=NOW))
    projection.apply(MeetingCreated(meeting_id="m2", host_id="alice", title="t", created_at=NOW))
    moved = MeetingRescheduled(
        meeting_id="m2", scheduled_start=NOW, duration_minutes=30, time_zone="UTC", sequence=1, rescheduled_at=NOW
    )
    assert not projection.apply(moved)
    assert projection.apply(MeetingCancelled(meeting_id="m1", cancelled_by="alice", cancelled_at=NOW, sequence=1))
    assert projection.lookup("m1", "alice").status == "ended"  # type: ignore[union-attr]
    assert projection.lookup("m2", "alice").status == "active"  # type: ignore[union-attr]


async def test_a_known_member_is_answered_without_meetings_even_while_it_is_down(source, meetings, registry) -> None:
    source.projection.apply(MeetingCreated(meeting_id="m1", host_id="alice", title="t", created_at=NOW))
    source.projection.mark_warm()
    meetings.down = True
    membership = await source.membership_of("m1", principal("alice"))
    assert (membership.role, membership.status) == ("host", "active")
    assert meetings.asked == 0
    assert registry.get_sample_value("parley_membership_lookups_total", {"source": "projection"}) == 1
    assert registry.get_sample_value("parley_membership_projection_warm") == 1
    assert registry.get_sample_value("parley_membership_projection_meetings") == 1


async def test_an_unknown_membership_is_asked_of_meetings_and_remembered(source, meetings, registry) -> None:
    source.projection.mark_warm()
    meetings.members["m1"] = {"bob": "participant"}
    assert (await source.membership_of("m1", principal("bob"))).role == "participant"
    meetings.down = True
    assert (await source.membership_of("m1", principal("bob"))).role == "participant"
    assert meetings.asked == 1
    with pytest.raises(MembershipUnavailable):
        await source.membership_of("m1", principal("carol"))
    assert registry.get_sample_value("parley_membership_lookups_total", {"source": "meetings"}) == 1
    assert registry.get_sample_value("parley_membership_lookups_total", {"source": "unavailable"}) == 1


async def test_refusals_come_from_meetings_and_are_not_remembered(source, meetings) -> None:
    source.projection.mark_warm()
    meetings.members["m1"] = {"bob": "participant"}
    with pytest.raises(MembershipDenied) as not_found:
        await source.membership_of("m2", principal("bob"))
    assert not_found.value.reason == "not_found"
    with pytest.raises(MembershipDenied) as forbidden:
        await source.membership_of("m1", principal("carol"))
    assert forbidden.value.reason == "forbidden"
    meetings.members["m1"]["carol"] = "participant"  # carol joins a second later
    assert (await source.membership_of("m1", principal("carol"))).role == "participant"


async def test_a_cold_projection_asks_meetings_even_for_what_it_knows(source, meetings) -> None:
    source.projection.apply(MeetingCreated(meeting_id="m1", host_id="alice", title="t", created_at=NOW))
    meetings.down = True
    with pytest.raises(MembershipUnavailable):
        await source.membership_of("m1", principal("alice"))
    assert meetings.asked == 1
