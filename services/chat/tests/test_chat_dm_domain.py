"""Unit tests of the direct-message rules with in-memory stores."""

from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from parley_chat.api.dm_schemas import MarkReadRequest
from parley_chat.conversations_repository import dm_event_of, peer_of
from parley_chat.domain.conversations import DirectMessages
from parley_chat.domain.errors import CannotMessageSelf, MessageIdConflict, NotAContact, TooManyMessages
from parley_chat.domain.models import Message
from parley_chat.domain.post_limit import PostLimit
from parley_chat.domain.service import Chat
from parley_chat.metrics import ChatMetrics
from parley_events import ContactAccepted, DmMessagePosted, UserBlocked, decode
from parley_events.contact_pairs import ContactPair, contact_id_of, pair_after
from parley_security import Membership, Principal

AB = contact_id_of("alice", "bob")


class FakePairs:
    def __init__(self) -> None:
        self.pairs: dict[str, ContactPair] = {}

    def befriend(self, a: str, b: str) -> None:
        event = ContactAccepted(contact_id=contact_id_of(a, b), user_id=b, other_user_id=a, at=datetime.now(UTC))
        self.pairs[event.contact_id] = pair_after(self.pairs.get(event.contact_id), event)

    def block(self, blocker: str, other: str) -> None:
        event = UserBlocked(contact_id=contact_id_of(blocker, other), user_id=blocker, other_user_id=other, at=datetime.now(UTC))
        self.pairs[event.contact_id] = pair_after(self.pairs.get(event.contact_id), event)

    async def may_reach(self, from_id: str, to_id: str) -> bool:
        pair = self.pairs.get(contact_id_of(from_id, to_id))
        return pair is not None and pair.may_reach(from_id, to_id)


class FakeConversations:
    """What :class:`DirectMessages` uses of :class:`ConversationRepository`."""

    def __init__(self, messages) -> None:
        self.messages = messages
        self.pairs = FakePairs()
        self.read: dict[tuple[str, str], int] = {}
        self.marks: list[tuple[str, int]] = []

    async def open(self, conversation_id: str, user_id: str) -> None:
        self.read.setdefault((conversation_id, user_id), 0)

    async def sides(self, user_id: str) -> list[dict]:
        return [{"conversation_id": c, "peer_id": peer_of(c, u), "read": r} for (c, u), r in self.read.items() if u == user_id]

    async def read_of(self, conversation_id: str, user_id: str) -> int:
        return self.read.get((conversation_id, user_id), 0)

    async def mark_read(self, conversation_id: str, user_id: str, seq: int, at: datetime, *, announce: bool = True) -> bool:
        key = (conversation_id, user_id)
        if key not in self.read or self.read[key] >= seq:
            return False
        self.read[key] = seq
        if announce:
            self.marks.append((user_id, seq))
        return True


def principal(user_id: str) -> Principal:
    return Principal(user_id=user_id, display_name=user_id.title(), token=f"token-{user_id}")


@pytest.fixture
def store(repo) -> FakeConversations:
    store = FakeConversations(repo)
    store.pairs.befriend("alice", "bob")
    return store


@pytest.fixture
def published() -> list[Message]:
    return []


@pytest.fixture
def dms(store, published) -> DirectMessages:
    return DirectMessages(store, ChatMetrics(CollectorRegistry()), publish=published.extend)  # type: ignore[arg-type]


async def test_a_message_is_stored_in_the_pairs_conversation_published_and_read_by_its_sender(dms, store, published) -> None:
    message, created = await dms.post(principal("bob"), "alice", message_id="m-000001", text="hi")
    assert created and message.meeting_id == AB == "alice:bob" and message.seq == 1
    assert published == [message]
    assert store.read == {(AB, "alice"): 0, (AB, "bob"): 1}  # both sides exist; the sender read it
    event = decode(dm_event_of(message).value)
    assert isinstance(event.data, DmMessagePosted)
    assert (event.data.conversation_id, event.data.sender_id, event.data.recipient_id, event.data.seq) == (AB, "bob", "alice", 1)
    assert event.subject == AB and event.id == decode(dm_event_of(message).value).id


async def test_posting_is_idempotent_by_message_id(dms, published) -> None:
    first, _ = await dms.post(principal("bob"), "alice", message_id="m-000001", text="hi")
    again, created = await dms.post(principal("bob"), "alice", message_id="m-000001", text="hi")
    assert (again, created) == (first, False) and published == [first, first]
    with pytest.raises(MessageIdConflict):
        await dms.post(principal("bob"), "alice", message_id="m-000001", text="other")


async def test_only_accepted_contacts_not_blocked_may_message(dms, store) -> None:
    with pytest.raises(NotAContact):
        await dms.post(principal("bob"), "carol", message_id="m-000001", text="hi")
    with pytest.raises(CannotMessageSelf):
        await dms.post(principal("bob"), "bob", message_id="m-000002", text="hi")
    await dms.post(principal("bob"), "alice", message_id="m-000003", text="before the block")
    store.pairs.block("alice", "bob")
    for sender, recipient in (("bob", "alice"), ("alice", "bob")):
        with pytest.raises(NotAContact):
            await dms.post(principal(sender), recipient, message_id="m-000004", text="after")
    # the history stays readable to both
    page = await dms.history(principal("alice"), "bob", limit=10, before=None)
    assert [m.text for m in page.messages] == ["before the block"]


async def test_unread_counts_the_peers_messages_after_the_read_mark(dms, store) -> None:
    for i in range(3):
        await dms.post(principal("bob"), "alice", message_id=f"b-00000{i}", text=f"b{i}")
    [conversation] = await dms.conversations(principal("alice"))
    assert (conversation.peer_id, conversation.unread, conversation.read_seq) == ("bob", 3, 0)
    assert conversation.last_message is not None and conversation.last_message.text == "b2"
    assert (await dms.conversations(principal("bob")))[0].unread == 0
    read = await dms.mark_read(principal("alice"), "bob", 2)
    assert (read.unread, read.read_seq) == (1, 2)
    read = await dms.mark_read(principal("alice"), "bob", 99)  # at most the newest
    assert (read.unread, read.read_seq) == (0, 3)
    await dms.post(principal("bob"), "alice", message_id="b-000009", text="more")
    await dms.post(principal("alice"), "bob", message_id="a-000001", text="answer")  # answering reads it
    assert (await dms.conversations(principal("alice")))[0].unread == 0
    assert (await dms.conversations(principal("bob")))[0].unread == 1
    assert store.marks == [("alice", 2), ("alice", 3)]  # opening announces; posting does not


async def test_a_read_mark_with_oneself_is_refused_and_one_without_messages_stores_nothing(dms, store) -> None:
    await dms.post(principal("bob"), "alice", message_id="b-000001", text="hi")
    before = dict(store.read)
    for seq in (None, 1):
        with pytest.raises(CannotMessageSelf):
            await dms.mark_read(principal("bob"), "bob", seq)
    # no conversation with carol (nor with a user that does not exist): as its history, an empty one
    assert not (await dms.history(principal("bob"), "carol", limit=10, before=None)).messages
    empty = await dms.mark_read(principal("bob"), "carol", 5)
    assert (empty.peer_id, empty.last_message, empty.read_seq, empty.unread) == ("carol", None, 0, 0)
    assert store.read == before and store.marks == []
    assert [c.peer_id for c in await dms.conversations(principal("bob"))] == ["alice"]


async def test_history_pages_by_cursor(dms) -> None:
    for i in range(5):
        await dms.post(principal("alice"), "bob", message_id=f"a-00000{i}", text=f"a{i}")
    first = await dms.history(principal("bob"), "alice", limit=2, before=None)
    assert [m.seq for m in first.messages] == [5, 4]
    second = await dms.history(principal("bob"), "alice", limit=10, before=first.next_cursor)
    assert [m.seq for m in second.messages] == [3, 2, 1] and second.next_cursor is None


@pytest.mark.parametrize("seq", ["3", 3.0, True, 0])
def test_a_read_mark_is_a_positive_json_integer(seq: object) -> None:
    assert MarkReadRequest.model_validate({"seq": 3}).seq == 3
    assert MarkReadRequest.model_validate({}).seq is None
    with pytest.raises(ValueError):
        MarkReadRequest.model_validate({"seq": seq})


async def test_direct_messages_and_meeting_chat_share_one_post_limit(store, repo) -> None:
    class EveryoneTakesPart:
        async def membership_of(self, meeting_id: str, principal: Principal) -> Membership:
            return Membership(meeting_id=meeting_id, user_id=principal.user_id, role="participant", status="active")

    limit = PostLimit("2/minute")
    metrics = ChatMetrics(CollectorRegistry())
    dms = DirectMessages(store, metrics, post_limit=limit)  # type: ignore[arg-type]
    chat = Chat(repo, EveryoneTakesPart(), metrics, post_limit=limit)  # type: ignore[arg-type]
    await chat.post("m1", principal("bob"), message_id="m-000001", text="in the meeting")
    await dms.post(principal("bob"), "alice", message_id="m-000002", text="and to alice")
    with pytest.raises(TooManyMessages) as refused:
        await dms.post(principal("bob"), "alice", message_id="m-000003", text="one too many")
    assert 1 <= refused.value.retry_after <= 60 and refused.value.headers == {"Retry-After": str(refused.value.retry_after)}
    with pytest.raises(TooManyMessages):
        await chat.post("m1", principal("bob"), message_id="m-000004", text="here too")
    await dms.post(principal("alice"), "bob", message_id="m-000005", text="alice has her own")
    assert metrics.dm_refusals.labels("too_many_messages")._value.get() == 1  # noqa: SLF001
    assert metrics.post_refusals.labels("too_many_messages")._value.get() == 1  # noqa: SLF001
