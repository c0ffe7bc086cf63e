"""Unit tests of private notes: the rules with a fake meetings client and an in-memory repository."""

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from parley_chat.api.schemas import NotesOut, PutNotesRequest
from parley_chat.domain.errors import MeetingNotFound, MeetingsUnavailable, NotAParticipant
from parley_chat.domain.models import Notes
from parley_chat.domain.notes import NotesService
from parley_chat.metrics import ChatMetrics
from parley_chat.repository import notes_id
from parley_security import Membership, MembershipDenied, MembershipUnavailable, Principal


class FakeMeetings:
    def __init__(self) -> None:
        self.members = {"m1": {"alice", "bob"}}
        self.unavailable = False

    async def membership_of(self, meeting_id: str, principal: Principal) -> Membership:
        if self.unavailable:
            raise MembershipUnavailable("down")
        if meeting_id not in self.members:
            raise MembershipDenied("not_found", "no meeting")
        user_id = principal.token.removeprefix("token-")
        if user_id not in self.members[meeting_id]:
            raise MembershipDenied("forbidden", "not a participant")
        return Membership(meeting_id=meeting_id, user_id=user_id, role="participant", status="active")


class FakeNotesRepository:
    def __init__(self) -> None:
        self.docs: dict[str, Notes] = {}

    async def get(self, meeting_id: str, owner_id: str) -> Notes | None:
        return self.docs.get(notes_id(meeting_id, owner_id))

    async def put(self, notes: Notes) -> None:
        self.docs[notes_id(notes.meeting_id, notes.owner_id)] = notes


def principal(user_id: str) -> Principal:
    return Principal(user_id=user_id, display_name=user_id.title(), token=f"token-{user_id}")


@pytest.fixture
def meetings() -> FakeMeetings:
    return FakeMeetings()


@pytest.fixture
def repo() -> FakeNotesRepository:
    return FakeNotesRepository()


@pytest.fixture
def metrics() -> ChatMetrics:
    return ChatMetrics(CollectorRegistry())


@pytest.fixture
def service(repo: FakeNotesRepository, meetings: FakeMeetings, metrics: ChatMetrics) -> NotesService:
    return NotesService(repo, meetings, metrics)  # type: ignore[arg-type]


async def test_notes_are_empty_until_saved_then_read_back(service, repo, metrics) -> None:
    empty = await service.read("m1", principal("bob"))
    assert (empty.meeting_id, empty.owner_id, empty.text, empty.updated_at) == ("m1", "bob", "", None)
    saved = await service.save("m1", principal("bob"), "remember the milk")
    assert saved.updated_at is not None and saved.updated_at.utcoffset() is not None
    assert await service.read("m1", principal("bob")) == saved
    assert list(repo.docs) == ["m1:bob"]
    assert metrics.notes_saved._value.get() == 1  # noqa: SLF001


async def test_each_user_has_their_own_notes(service) -> None:
    await service.save("m1", principal("bob"), "bob's secret")
    alices = await service.read("m1", principal("alice"))
    assert (alices.text, alices.updated_at) == ("", None)
    await service.save("m1", principal("alice"), "alice's")
    assert (await service.read("m1", principal("bob"))).text == "bob's secret"


async def test_refusals_store_nothing(service, repo, meetings) -> None:
    with pytest.raises(NotAParticipant):
        await service.save("m1", principal("mallory"), "x")
    with pytest.raises(NotAParticipant):
        await service.read("m1", principal("mallory"))
    with pytest.raises(MeetingNotFound):
        await service.save("m2", principal("bob"), "x")
    meetings.unavailable = True
    with pytest.raises(MeetingsUnavailable):
        await service.save("m1", principal("bob"), "x")
    with pytest.raises(MeetingsUnavailable):
        await service.read("m1", principal("bob"))
    assert repo.docs == {}


def test_put_notes_request_validation() -> None:
    assert PutNotesRequest(text="").text == ""
    assert len(PutNotesRequest(text="é" * 20000).text) == 20000
    for bad in ({"text": "x" * 20001}, {}, {"text": None}, {"text": "ok", "owner_id": "alice"}):
        with pytest.raises(ValidationError):
            PutNotesRequest(**bad)


def test_notes_out_hides_the_owner() -> None:
    out = NotesOut.of(Notes(meeting_id="m1", owner_id="bob", text="t", updated_at=None))
    assert out.model_dump() == {"meeting_id": "m1", "text": "t", "updated_at": None}
