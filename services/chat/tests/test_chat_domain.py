"""Unit tests of the chat rules with a fake MeetingsClient and an in-memory repository."""

import pytest
from prometheus_client import CollectorRegistry

from parley_chat.api.schemas import PostMessageRequest
from parley_chat.domain.cursor import decode_cursor, encode_cursor
from parley_chat.domain.errors import (
    InvalidCursor,
    MeetingNotFound,
    MeetingsUnavailable,
    MessageIdConflict,
    NotAParticipant,
)
from parley_chat.domain.models import Message
from parley_chat.domain.service import Chat
from parley_chat.metrics import ChatMetrics
from parley_chat.relay import event_of
from parley_events import ChatMessagePosted, decode
from parley_security import Membership, MembershipDenied, MembershipUnavailable, Principal


class FakeMeetingsClient:
    """Answers like parley_security.MeetingsClient: members per meeting, or unavailable."""

    def __init__(self) -> None:
        self.members = {"m1": {"alice": "host", "bob": "participant"}}
        self.unavailable = False
        self.asked: list[tuple[str, str]] = []

    async def membership_of(self, meeting_id: str, principal: Principal) -> Membership:
        token = principal.token
        self.asked.append((meeting_id, token))
        if self.unavailable:
            raise MembershipUnavailable("meetings answered 502")
        if meeting_id not in self.members:
            raise MembershipDenied("not_found", "meeting not found")
        user_id = token.removeprefix("token-")
        role = self.members[meeting_id].get(user_id)
        if role is None:
            raise MembershipDenied("forbidden", "not a participant")
        return Membership(meeting_id=meeting_id, user_id=user_id, role=role, status="active")  # type: ignore[arg-type]


def principal(user_id: str) -> Principal:
    return Principal(user_id=user_id, display_name=user_id.title(), token=f"token-{user_id}")


@pytest.fixture
def meetings() -> FakeMeetingsClient:
    return FakeMeetingsClient()


@pytest.fixture
def published() -> list[Message]:
    return []


@pytest.fixture
def chat(repo, meetings: FakeMeetingsClient, published: list[Message]) -> Chat:
    return Chat(repo, meetings, ChatMetrics(CollectorRegistry()), publish=published.extend)  # type: ignore[arg-type]


async def test_post_stores_and_publishes_the_message_and_asks_with_the_users_token(chat, repo, meetings, published) -> None:
    message, created = await chat.post("m1", principal("bob"), message_id="abcdefgh", text="hi")
    assert created
    assert (message.sender_id, message.sender_name, message.text) == ("bob", "Bob", "hi")
    assert meetings.asked == [("m1", "token-bob")]
    assert repo.docs["m1:abcdefgh"] == message
    assert published == [message]
    event = decode(event_of(message).value)
    assert isinstance(event.data, ChatMessagePosted)
    assert event.data.model_dump() == message.model_dump()
    assert event.subject == "m1"
    assert event.id == decode(event_of(message).value).id  # the same id for every copy


async def test_retry_conflict_and_refusals(chat, repo, meetings, published) -> None:
    first, _ = await chat.post("m1", principal("bob"), message_id="abcdefgh", text="hi")
    again, created = await chat.post("m1", principal("bob"), message_id="abcdefgh", text="hi")
    assert (again, created) == (first, False)
    # a retry raises the head if its first attempt could not, and is handed to the relay again
    assert repo.covered == [first] and published == [first, first]
    with pytest.raises(MessageIdConflict):
        await chat.post("m1", principal("bob"), message_id="abcdefgh", text="changed")
    with pytest.raises(MessageIdConflict):
        await chat.post("m1", principal("alice"), message_id="abcdefgh", text="hi")
    with pytest.raises(NotAParticipant):
        await chat.post("m1", principal("mallory"), message_id="zzzzzzzz", text="hi")
    with pytest.raises(MeetingNotFound):
        await chat.post("m2", principal("bob"), message_id="zzzzzzzz", text="hi")
    meetings.unavailable = True
    with pytest.raises(MeetingsUnavailable):
        await chat.post("m1", principal("bob"), message_id="zzzzzzzz", text="hi")
    with pytest.raises(MeetingsUnavailable):
        await chat.history("m1", principal("bob"), limit=10, before=None)
    assert list(repo.docs) == ["m1:abcdefgh"]


async def test_history_pages_newest_first(chat) -> None:
    for i in range(5):
        await chat.post("m1", principal("alice"), message_id=f"message{i}", text=str(i))
    page = await chat.history("m1", principal("bob"), limit=2, before=None)
    ids = [m.message_id for m in page.messages]
    while page.next_cursor:
        page = await chat.history("m1", principal("bob"), limit=2, before=page.next_cursor)
        ids += [m.message_id for m in page.messages]
    everything = await chat.history("m1", principal("bob"), limit=100, before=None)
    assert ids == [m.message_id for m in everything.messages]
    assert sorted(ids) == [f"message{i}" for i in range(5)]
    assert everything.next_cursor is None
    with pytest.raises(NotAParticipant):
        await chat.history("m1", principal("mallory"), limit=10, before=None)


async def test_a_bad_cursor_is_refused_before_meetings_is_asked(chat, meetings) -> None:
    with pytest.raises(InvalidCursor):
        await chat.history("m1", principal("bob"), limit=10, before="%%%")
    assert meetings.asked == []


def test_cursor_round_trip_and_rejections() -> None:
    assert decode_cursor(encode_cursor(42, "m1:abc")) == (42, "m1:abc")
    assert decode_cursor("1893553445678.m1:abc") == (1893553445678, "m1:abc")  # a legacy posted_at cursor
    for bad in ("", "%%%", "W10", "eyJhIjoxfQ", "WyJ4IiwieCJd", "WzEsMl0", "1.", ".m1:abc"):
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)


async def test_a_legacy_posted_at_cursor_resumes_after_the_message_it_names(chat) -> None:
    for i in range(5):
        await chat.post("m1", principal("alice"), message_id=f"message{i}", text=str(i))
    page = await chat.history("m1", principal("bob"), limit=10, before="1893553445678.m1:message2")
    assert [m.message_id for m in page.messages] == ["message1", "message0"]


def test_post_request_validation() -> None:
    assert PostMessageRequest(message_id="A-b_c-123", text="ok").message_id == "A-b_c-123"
    for bad in (
        {"message_id": "short", "text": "x"},
        {"message_id": "a" * 65, "text": "x"},
        {"message_id": "a.b.c.d.e", "text": "x"},
        {"message_id": "abcdefgh", "text": ""},
        {"message_id": "abcdefgh", "text": " \n "},
        {"message_id": "abcdefgh", "text": "x" * 4001},
    ):
        with pytest.raises(ValueError):
            PostMessageRequest(**bad)
