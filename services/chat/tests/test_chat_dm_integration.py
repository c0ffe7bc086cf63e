"""Direct messages (``/api/chat/conversations``) against the real FerretDB and Kafka of the test
stack: the contact projection from ``parley.contacts``, posting, history, unread counts, read
marks and their events on ``parley.dm``, and blocking."""

from datetime import UTC, datetime

import pytest

from parley_chat.messaging import contacts_group
from parley_events import ContactAccepted, DmConversationRead, DmMessagePosted, UserBlocked, encode
from parley_events.contact_pairs import contact_id_of
from parley_events.topics import CONTACTS, DM
from parley_testing import commit_group_at_end, eventually, sample_value, tail_topic

pytestmark = pytest.mark.integration


@pytest.fixture
async def settings(settings):
    """The contact projection reads only what is published from now on (before the app starts)."""
    await commit_group_at_end(settings.kafka_bootstrap_servers, contacts_group(settings), CONTACTS)
    return settings


@pytest.fixture
async def produce(stack):
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap_servers)
    await producer.start()

    async def send(data) -> None:
        event = encode(data, source="/parley/auth")
        await producer.send_and_wait(event.topic, event.value, key=event.key, headers=list(event.headers.items()))

    try:
        yield send
    finally:
        await producer.stop()


@pytest.fixture
def users(unique_name: str) -> tuple[str, str]:
    return f"{unique_name}a", f"{unique_name}b"


async def befriend(client, produce, a: str, b: str) -> None:
    """auth's ``contact.accepted`` for ``a`` and ``b``; wait until chat's projection has it."""
    await produce(ContactAccepted(contact_id=contact_id_of(a, b), user_id=b, other_user_id=a, at=datetime.now(UTC)))
    await eventually(lambda: client.app.state.conversations.pairs.may_reach(a, b))


async def dm(client, sender: str, recipient: str, message_id: str, text: str):
    return await client.http.post(
        f"/api/chat/conversations/{recipient}/messages", json={"message_id": message_id, "text": text},
        headers=client.auth(sender),
    )


async def conversations(client, user: str) -> list[dict]:
    response = await client.http.get("/api/chat/conversations", headers=client.auth(user))
    assert response.status_code == 200, response.text
    return response.json()["conversations"]


async def test_messages_between_contacts_are_kept_in_order_counted_unread_and_published(client, stack, produce, users) -> None:
    alice, bob = users
    conversation = contact_id_of(alice, bob)
    await befriend(client, produce, alice, bob)
    async with tail_topic(stack.kafka_bootstrap_servers, DM.name) as tail:
        for i in range(3):
            response = await dm(client, bob, alice, f"bob-msg-{i:04}", f"hello {i}")
            assert response.status_code == 201, response.text
        retry = await dm(client, bob, alice, "bob-msg-0001", "hello 1")
        assert retry.status_code == 200 and retry.json()["seq"] == 2
        posted = await tail.events(subject=conversation, count=3)

        assert [e.data.seq for e in posted] == [1, 2, 3]
        assert all(isinstance(e.data, DmMessagePosted) and e.data.recipient_id == alice for e in posted)
        assert [e.data.text for e in posted] == ["hello 0", "hello 1", "hello 2"]

        [listed] = await conversations(client, alice)
        assert (listed["peer_id"], listed["unread"], listed["read_seq"]) == (bob, 3, 0)
        assert listed["last_message"]["text"] == "hello 2" and listed["conversation_id"] == conversation
        assert (await conversations(client, bob))[0]["unread"] == 0

        history = await client.http.get(
            f"/api/chat/conversations/{bob}/messages", params={"limit": 2}, headers=client.auth(alice)
        )
        assert [m["seq"] for m in history.json()["messages"]] == [3, 2]
        older = await client.http.get(
            f"/api/chat/conversations/{bob}/messages", params={"before": history.json()["next_cursor"]},
            headers=client.auth(alice),
        )
        assert [m["text"] for m in older.json()["messages"]] == ["hello 0"] and older.json()["next_cursor"] is None

        read = await client.http.post(f"/api/chat/conversations/{bob}/read", json={}, headers=client.auth(alice))
        assert read.status_code == 200 and (read.json()["unread"], read.json()["read_seq"]) == (0, 3)
        marks = await tail.events(subject=conversation, count=1)
        assert isinstance(marks[0].data, DmConversationRead)
        assert (marks[0].data.user_id, marks[0].data.peer_id, marks[0].data.read_seq) == (alice, bob, 3)
    assert (await conversations(client, alice))[0]["unread"] == 0

    async def counted() -> bool:  # each relay counts in series of its own (the ack comes after the tail saw it)
        text = (await client.http.get("/metrics")).text
        published = {relay: sample_value(text, "parley_outbox_published_total", relay=relay)
                     for relay in ("dm-messages", "dm-reads", "chat-messages")}
        return published == {"dm-messages": 3, "dm-reads": 1, "chat-messages": 0}

    await eventually(counted)


async def test_only_contacts_may_message_and_a_block_stops_both_ways(client, produce, users) -> None:
    alice, bob = users
    refused = await dm(client, bob, alice, "bob-msg-0000", "hi")
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "not_a_contact"
    self_message = await dm(client, bob, bob, "bob-msg-0000", "hi")
    assert self_message.status_code == 400 and self_message.json()["detail"]["code"] == "cannot_message_self"
    assert (await client.http.get("/api/chat/conversations")).status_code == 401
    assert (await dm(client, bob, "no/such", "bob-msg-0000", "hi")).status_code in (404, 422)

    await befriend(client, produce, alice, bob)
    assert (await dm(client, bob, alice, "bob-msg-0001", "before")).status_code == 201
    await produce(UserBlocked(contact_id=contact_id_of(alice, bob), user_id=alice, other_user_id=bob, at=datetime.now(UTC)))

    async def blocked() -> bool:
        return not await client.app.state.conversations.pairs.may_reach(bob, alice)

    await eventually(blocked)
    for sender, recipient in ((bob, alice), (alice, bob)):
        response = await dm(client, sender, recipient, f"{sender}-after", "after the block")
        assert response.status_code == 403 and response.json()["detail"]["code"] == "not_a_contact"
    history = await client.http.get(f"/api/chat/conversations/{bob}/messages", headers=client.auth(alice))
    assert [m["text"] for m in history.json()["messages"]] == ["before"]


async def test_a_read_mark_with_oneself_is_400_and_one_without_a_conversation_stores_nothing(client, users) -> None:
    alice, nobody = users  # nobody: no user, no conversation
    inbox = client.app.state.conversations.inbox
    own = await client.http.post(f"/api/chat/conversations/{alice}/read", json={}, headers=client.auth(alice))
    assert own.status_code == 400 and own.json()["detail"]["code"] == "cannot_message_self", own.text
    history = await client.http.get(f"/api/chat/conversations/{nobody}/messages", headers=client.auth(alice))
    assert history.status_code == 200 and history.json() == {"messages": [], "next_cursor": None}
    read = await client.http.post(f"/api/chat/conversations/{nobody}/read", json={"seq": 3}, headers=client.auth(alice))
    assert read.status_code == 200, read.text
    assert read.json() == {"conversation_id": contact_id_of(alice, nobody), "peer_id": nobody, "last_message": None,
                           "read_seq": 0, "unread": 0}
    assert await inbox.count_documents({"user_id": {"$in": [alice, nobody]}}) == 0
    assert await conversations(client, alice) == []
