"""Direct messages in signaling, unit level: each ``dm.message.posted`` becomes one
``direct-message`` to every local socket of both users, each ``dm.conversation.read`` one
``direct-message-read`` to the reader's (with fakes; across replicas and a replica's crash in
tests/e2e/test_direct_message_replica_down.py)."""

from datetime import UTC, datetime

from parley_events import DM_EVENTS, DmConversationRead, DmMessagePosted
from parley_signaling.direct_messages import DirectMessageDelivery
from parley_signaling.messaging import CONSUMES
from parley_signaling.users import UserDelivery

from signaling_testkit import FakeSio

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_a_direct_message_reaches_every_local_socket_of_both_users() -> None:
    sio = FakeSio()
    posted = DmMessagePosted(conversation_id="ada:bob", message_id="m-000001", sender_id="ada", sender_name="Ada L",
                             recipient_id="bob", text="hi", posted_at=NOW, seq=3)
    await DirectMessageDelivery(UserDelivery(sio)).dm_event(posted)  # type: ignore[arg-type]
    ((event, payload, kwargs),) = sio.emitted
    assert event == "direct-message"
    assert payload == {
        "conversation_id": "ada:bob", "message_id": "m-000001", "sender_id": "ada", "sender_name": "Ada L",
        "recipient_id": "bob", "text": "hi", "posted_at": "2026-01-01T00:00:00Z", "seq": 3,
    }
    assert kwargs == {"room": ["user:bob", "user:ada"], "ignore_queue": True}


async def test_a_read_mark_reaches_the_readers_sockets_only() -> None:
    sio = FakeSio()
    read = DmConversationRead(conversation_id="ada:bob", user_id="bob", peer_id="ada", read_seq=3, at=NOW)
    await DirectMessageDelivery(UserDelivery(sio)).dm_event(read)  # type: ignore[arg-type]
    ((event, payload, kwargs),) = sio.emitted
    assert (event, payload["peer_id"], payload["read_seq"]) == ("direct-message-read", "ada", 3)
    assert kwargs["room"] == ["user:bob"]


def test_the_dm_channel_is_in_the_asyncapi_consumes() -> None:
    assert set(CONSUMES["dm"]) == set(DM_EVENTS)
