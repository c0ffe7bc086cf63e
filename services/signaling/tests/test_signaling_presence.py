"""Presence in signaling, unit level: user rooms, what is delivered to whom, the records a
socket's life publishes, and the replica-loss report (with fakes; the whole path runs in
tests/e2e/test_presence_replica_crash.py and tests/browser/test_contacts.py)."""

from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from parley_events import ContactAccepted, EventData, PresenceChanged, PresenceReplicaLost, PresenceSocket, UserUnblocked
from parley_signaling.fanout import KafkaFanoutManager
from parley_signaling.metrics import SignalingMetrics
from parley_signaling.presence import PresenceDelivery, SocketPresence
from parley_signaling.users import UserDelivery, user_room

from signaling_testkit import FakeSio

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class FakeQueue:
    def __init__(self) -> None:
        self.queued: list[EventData] = []

    def enqueue(self, data: EventData) -> None:
        self.queued.append(data)


async def test_a_socket_joins_its_users_room_and_delivery_reaches_each_user_once_locally() -> None:
    sio = FakeSio()
    users = UserDelivery(sio)  # type: ignore[arg-type]
    await users.register("s1", "u1")
    assert sio.rooms == [("s1", "user:u1")]
    await users.deliver(["u1", "u2", "u1"], "presence", {"x": 1})
    assert sio.emitted == [("presence", {"x": 1}, {"room": ["user:u1", "user:u2"], "ignore_queue": True})]
    await users.deliver([], "presence", {})
    assert len(sio.emitted) == 1
    assert user_room("abc") == "user:abc"


async def test_presence_changed_goes_to_the_watchers_only() -> None:
    sio = FakeSio()
    delivery = PresenceDelivery(UserDelivery(sio))  # type: ignore[arg-type]
    await delivery.presence_changed(
        PresenceChanged(user_id="bob", state="offline", last_seen=NOW, watchers=["ada", "cy"], changed_at=NOW)
    )
    ((event, payload, kwargs),) = sio.emitted
    assert event == "presence"
    assert payload == {"user_id": "bob", "state": "offline", "last_seen": "2026-01-01T00:00:00+00:00"}
    assert kwargs["room"] == ["user:ada", "user:cy"]


async def test_contact_changes_go_to_both_users_and_an_unblock_to_its_author_only() -> None:
    sio = FakeSio()
    delivery = PresenceDelivery(UserDelivery(sio))  # type: ignore[arg-type]
    await delivery.contact_changed(ContactAccepted(contact_id="a:b", user_id="b", other_user_id="a", at=NOW))
    await delivery.contact_changed(UserUnblocked(contact_id="a:b", user_id="a", other_user_id="b", at=NOW))
    (first, first_payload, first_kwargs), (second, _, second_kwargs) = sio.emitted
    assert (first, first_kwargs["room"]) == ("contacts-changed", ["user:b", "user:a"])
    assert first_payload == {"change": "accepted", "contact_id": "a:b", "user_id": "b", "other_user_id": "a"}
    assert second_kwargs["room"] == ["user:a"]


def test_socket_presence_records_name_the_replica_in_order() -> None:
    queue = FakeQueue()
    presence = SocketPresence(queue, "r1")  # type: ignore[arg-type]
    presence.changed("s1", "u1", "online")
    presence.changed("s1", "u1", "in_call", "m1")
    presence.changed("s1", "u1", "offline")
    presence.replica_lost("r2", "silent")
    sockets = [r for r in queue.queued if isinstance(r, PresenceSocket)]
    assert [(r.sid, r.state, r.meeting_id, r.replica_id) for r in sockets] == [
        ("s1", "online", None, "r1"),
        ("s1", "in_call", "m1", "r1"),
        ("s1", "offline", None, "r1"),
    ]
    (lost,) = [r for r in queue.queued if isinstance(r, PresenceReplicaLost)]
    assert (lost.replica_id, lost.reason) == ("r2", "silent")


async def test_a_restarted_replica_is_reported_dropped_once_even_with_no_socket_in_a_room() -> None:
    reports: dict[str, list[tuple[str, str]]] = {}
    managers = {}
    for replica in ("r1", "r2"):
        m = KafkaFanoutManager(bootstrap_servers="unused:9092", replica_id=replica, metrics=SignalingMetrics(CollectorRegistry()))
        m.server = FakeSio()  # type: ignore[assignment]

        async def dropped(replica_id: str, reason: str, me: str = replica) -> None:
            reports.setdefault(me, []).append((replica_id, reason))

        m.on_replica_dropped = dropped
        managers[replica] = m

    async def send(message: Any) -> None:
        return None

    for m in managers.values():
        m._send = send  # type: ignore[method-assign]  # noqa: SLF001
        for other in ("r1", "r2", "r3"):
            if other != m.replica_id:
                await m._on_directory({"method": "parley.directory.heartbeat", "host_id": "h", "replica_id": other})  # noqa: SLF001
        await m._on_directory({"method": "parley.directory.hello", "host_id": "h3", "replica_id": "r3"})  # noqa: SLF001
    assert reports == {"r1": [("r3", "restarted")]}
    # a clean stop (gone) is no loss: the replica took its sockets offline itself
    await managers["r1"]._on_directory({"method": "parley.directory.gone", "host_id": "h2", "replica_id": "r2"})  # noqa: SLF001
    assert reports == {"r1": [("r3", "restarted")]}


def test_a_guests_sockets_are_not_reported() -> None:
    queue = FakeQueue()
    presence = SocketPresence(queue, "r1")  # type: ignore[arg-type]
    presence.changed("s1", "guest-5f2a", "online")
    presence.changed("s1", "guest-5f2a", "in_call", "abcd-efgh-ijkl")
    presence.changed("s2", "u1", "online")
    assert [(e.user_id, e.state) for e in queue.queued] == [("u1", "online")]
