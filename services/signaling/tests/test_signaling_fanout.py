"""Unit tests of the Kafka fan-out manager with fake Kafka clients: JSON only, directory rules."""

import asyncio
import json
import pickle
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import ConsumerStoppedError
from prometheus_client import CollectorRegistry

from parley_signaling.domain.directory import PeerEntry
from parley_signaling.domain.protocol import PeerLeftEvent
from parley_signaling.fanout import SHARED_PARTITION, DirectoryHeartbeat, KafkaFanoutManager, _decode, inbox_partition
from parley_signaling.liveness import ReplicaLiveness
from parley_signaling.metrics import SignalingMetrics
from parley_signaling.relay_order import RelayOrder
from parley_testing import FakeClock


@dataclass
class Record:
    value: bytes
    offset: int = 0
    timestamp: int = 0
    topic: str = "parley.signaling.fanout"
    partition: int = 0


class FakeConsumer:
    def __init__(self, values: list[bytes], batches: list[dict] | None = None) -> None:
        shared = TopicPartition("parley.signaling.fanout", 0)
        self._batches = batches if batches is not None else [{shared: [Record(v, offset=i) for i, v in enumerate(values)]}]
        self.end = len(values) + 2  # two more records on the partition than handed out

    def highwater(self, partition: Any) -> int:
        return self.end

    async def getmany(self, *partitions: Any, timeout_ms: int = 0) -> dict:
        if self._batches:
            return self._batches.pop(0)
        raise ConsumerStoppedError()


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.partitions: list[int | None] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None) -> asyncio.Future:
        assert isinstance(value, bytes)
        self.sent.append(json.loads(value))
        self.partitions.append(partition)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


class FakeServer:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, dict]] = []

    async def emit(self, event: str, data: Any, **kwargs: Any) -> None:
        self.emitted.append((event, data, kwargs))


def manager(replica_id: str = "r1", clock: FakeClock[float] | None = None) -> tuple[KafkaFanoutManager, FakeProducer, FakeServer]:
    m = KafkaFanoutManager(bootstrap_servers="unused:9092", replica_id=replica_id, metrics=SignalingMetrics(CollectorRegistry()))
    if clock is not None:
        m.liveness = ReplicaLiveness(replica_timeout_s=5.0, bus_timeout_s=2.5, clock=clock)
    producer, server = FakeProducer(), FakeServer()
    m._producer = producer  # noqa: SLF001
    m.server = server  # type: ignore[assignment]
    return m, producer, server


async def bus_up(m: KafkaFanoutManager) -> None:
    """This replica reads its own heartbeat back, sent just now."""
    beat = directory("heartbeat", m.replica_id, host=m.host_id, sent_at=m.liveness.now())
    await m._on_directory(beat)  # noqa: SLF001


def entry(sid: str, replica: str, meeting: str = "m1") -> dict:
    return asdict(PeerEntry(sid=sid, meeting_id=meeting, user_id=f"u-{sid}", display_name=sid, replica_id=replica))


def directory(method: str, replica: str, host: str = "other-host", **fields: Any) -> dict:
    return {"method": f"parley.directory.{method}", "host_id": host, "replica_id": replica, **fields}


def test_decode_accepts_json_objects_with_a_method_only() -> None:
    assert _decode(b'{"method": "emit", "data": [1]}') == {"method": "emit", "data": [1]}
    assert _decode(pickle.dumps({"method": "emit"})) is None
    assert _decode(b"[1, 2]") is None
    assert _decode(b'{"no": "method"}') is None
    assert _decode(b"") is None
    assert _decode(None) is None


async def test_publish_sends_json_and_listen_yields_decoded_base_messages_only() -> None:
    m, producer, _ = manager()
    await m._publish({"method": "emit", "event": "offer", "data": [{"a": 1}], "host_id": "x"})  # noqa: SLF001
    assert producer.sent == [{"method": "emit", "event": "offer", "data": [{"a": 1}], "host_id": "x"}]

    m._consumer = FakeConsumer(  # noqa: SLF001
        [
            json.dumps({"method": "emit", "event": "offer", "data": [{}], "host_id": "h2"}).encode(),
            pickle.dumps({"method": "emit"}),
            b"not json",
            json.dumps(directory("join", "r2", op_id="o", entry=entry("s2", "r2"))).encode(),
            json.dumps({"method": "no-such-method"}).encode(),
            json.dumps({"method": "disconnect", "sid": "s9", "namespace": "/", "host_id": "h2"}).encode(),
        ]
    )
    yielded = [message async for message in m._listen()]  # noqa: SLF001
    assert [message["method"] for message in yielded] == ["emit", "disconnect"]
    assert all(isinstance(message, dict) for message in yielded)
    assert m.directory.get("s2") is not None  # the directory message was applied, not yielded
    assert m._metrics.rooms.collect()[0].samples[0].value == 1  # noqa: SLF001 - room r2 (parley_signaling_rooms)
    lag = m._metrics.consumer_lag.lag.labels("parley.signaling.fanout", "0")  # noqa: SLF001
    assert lag._value.get() == 2  # noqa: SLF001 - behind by what the partition has beyond the batch


async def test_a_disconnecting_socket_is_counted_and_leaves_its_rooms_here_without_a_fanout_message() -> None:
    m, producer, _ = manager()
    m.basic_enter_room("s1", "/", None, eio_sid="e1")  # connected here (python-socketio's connect)
    m.basic_enter_room("s1", "/", "meeting-1")
    m.pre_disconnect("s1", "/")  # python-socketio's state while the disconnect handler runs
    disconnecting = m._metrics.disconnecting_sockets  # noqa: SLF001
    assert disconnecting.collect()[0].samples[0].value == 1
    await m.leave_room("s1", "/", "meeting-1")
    assert producer.sent == []
    assert "meeting-1" not in m.rooms["/"]
    await m.disconnect("s1", "/", ignore_queue=True)  # python-socketio's, after the handler
    assert disconnecting.collect()[0].samples[0].value == 0
    await m.leave_room("s-elsewhere", "/", "meeting-1")  # another replica's socket: published for it
    assert [message["method"] for message in producer.sent] == ["leave_room"]


async def test_a_leave_carries_peer_left_to_the_room_on_every_replica_in_one_message() -> None:
    m, producer, server = manager("r1")
    await m._on_directory(directory("join", "r1", host=m.host_id, op_id="o1", entry=entry("s1", "r1")))  # noqa: SLF001
    left = PeerLeftEvent(meeting_id="m1", sid="s1", user_id="u-s1", reason="disconnected")
    await m.announce_leave("s1", "m1", left)
    assert m.directory.get("s1") is None
    assert server.emitted == [("peer-left", left.model_dump(mode="json"), {"room": "m1", "ignore_queue": True})]
    assert [message["method"] for message in producer.sent] == ["parley.directory.leave"]
    assert producer.sent[0]["peer_left"] == left.model_dump(mode="json")

    other, _, other_server = manager("r2")  # another replica reads that leave
    await other._on_directory(directory("join", "r1", op_id="o1", entry=entry("s1", "r1")))  # noqa: SLF001
    await other._on_directory(producer.sent[0])  # noqa: SLF001
    assert other.directory.get("s1") is None
    assert other_server.emitted == server.emitted


async def test_a_leave_without_peer_left_tells_nobody() -> None:
    m, producer, server = manager("r1")
    await m.announce_leave("s1", "m1")
    assert server.emitted == []
    other, _, other_server = manager("r2")
    await other._on_directory(producer.sent[0])  # noqa: SLF001
    assert other_server.emitted == []


def test_each_replica_has_an_inbox_among_the_other_partitions() -> None:
    assert inbox_partition("signaling-1", 1) == SHARED_PARTITION  # a one-partition topic is all shared
    for partitions in (2, 9, 16):
        for replica in ("signaling-1", "signaling-2", "a-pod-7f9c"):
            assert 1 <= inbox_partition(replica, partitions) < partitions
    assert inbox_partition("signaling-1", 9) == inbox_partition("signaling-1", 9)  # the same on every replica
    # the production pods (maxReplicas 4) and the local stack's replicas have inboxes of their own
    assert len({inbox_partition(f"signaling-{i}", 9) for i in range(4)}) == 4


async def test_an_emit_to_another_replicas_sockets_goes_to_its_inbox_only() -> None:
    m, producer, _ = manager("r1")
    m._partitions = 9  # noqa: SLF001 - as learnt from Kafka at start
    await m.emit_to_replica("r2", "ice-candidate", {"from": "a", "candidate": None}, ["s2"])
    await m.emit_to_replica("r3", "peer-joined", {"sid": "a"}, ["s3", "s4"])
    assert producer.partitions == [inbox_partition("r2", 9), inbox_partition("r3", 9)]
    first, second = producer.sent
    # python-socketio's own emit message, as the receiving replica's base class reads it
    assert first == {
        "method": "emit", "event": "ice-candidate", "data": [{"from": "a", "candidate": None}], "binary": False,
        "namespace": "/", "room": "s2", "skip_sid": None, "callback": None, "host_id": m.host_id,
    }
    assert second["room"] == ["s3", "s4"]
    await m._publish({"method": "parley.room.hand"})  # noqa: SLF001 - everything else is shared
    assert producer.partitions[-1] == SHARED_PARTITION


async def test_of_one_fetch_the_shared_partition_is_handled_before_the_inbox() -> None:
    m, _, _ = manager("r1")
    inbox = TopicPartition("parley.signaling.fanout", 3)
    shared = TopicPartition("parley.signaling.fanout", 0)
    relay = {"method": "emit", "event": "offer", "data": [{}], "room": "s1", "host_id": "h2"}
    join = directory("join", "r2", op_id="o", entry=entry("p2", "r2"))
    seen: list[str] = []
    m._consumer = FakeConsumer(  # noqa: SLF001 - the inbox's records come first in the fetch's dict
        [], batches=[{inbox: [Record(json.dumps(relay).encode(), partition=3)], shared: [Record(json.dumps(join).encode())]}]
    )
    async for message in m._listen():  # noqa: SLF001
        seen.append("emit, with p2 known" if m.directory.get("p2") is not None else "emit before the join")
    assert seen == ["emit, with p2 known"]


async def test_own_join_is_applied_on_read_back_with_the_room_at_that_point() -> None:
    m, producer, _ = manager("r1")
    await m._on_directory(directory("join", "r2", op_id="x", entry=entry("a", "r2")))  # noqa: SLF001
    task = asyncio.create_task(m.announce_join(PeerEntry(**entry("b", "r1")), timeout_s=5))
    await asyncio.sleep(0)
    assert m.directory.get("b") is None  # not before it is read back
    sent = producer.sent[-1]
    assert sent["method"] == "parley.directory.join" and sent["host_id"] == m.host_id
    await m._on_directory(directory("join", "r2", op_id="y", entry=entry("c", "r2")))  # noqa: SLF001
    await m._on_directory(sent)  # noqa: SLF001 - read back
    confirmation = await task
    assert [p.sid for p in confirmation.peers] == ["a", "c"]
    assert confirmation.previous is None
    assert m.directory.get("b") is not None


async def test_hello_drops_the_replica_and_answers_with_a_snapshot() -> None:
    m, producer, server = manager("r1")
    await m._on_directory(directory("join", "r2", op_id="x", entry=entry("a", "r2")))  # noqa: SLF001
    m.directory.add(PeerEntry(**entry("mine", "r1")))
    await m._on_directory(directory("hello", "r2"))  # noqa: SLF001
    assert m.directory.get("a") is None
    assert server.emitted == [
        (
            "peer-left",
            {"meeting_id": "m1", "sid": "a", "user_id": "u-a", "reason": "disconnected"},
            {"room": "m1", "ignore_queue": True},
        )
    ]
    snapshot = producer.sent[-1]
    assert snapshot["method"] == "parley.directory.snapshot"
    assert snapshot["first"] and snapshot["last"]
    assert [e["sid"] for e in snapshot["entries"]] == ["mine"]


async def test_snapshot_replaces_a_replicas_entries_and_unknown_replicas_are_resynced() -> None:
    m, producer, server = manager("r1")
    await m._on_directory(directory("join", "r3", op_id="x", entry=entry("old", "r3")))  # noqa: SLF001
    assert producer.sent[-1] == directory("resync", "r1", host=m.host_id, target="r3")
    common = {"snapshot_id": "s", "entries": []}
    await m._on_directory(directory("snapshot", "r3", **{**common, "first": True, "last": False, "entries": [entry("n1", "r3")]}))  # noqa: SLF001
    assert m.directory.get("old") is not None  # nothing replaced before the last chunk
    await m._on_directory(directory("snapshot", "r3", **{**common, "first": False, "last": True, "entries": [entry("n2", "r3")]}))  # noqa: SLF001
    assert {e.sid for e in m.directory.entries_of("r3")} == {"n1", "n2"}
    # the room learns what the snapshot changed: old left, n1 and n2 are there
    assert [(e[0], e[1]["sid"]) for e in server.emitted] == [("peer-left", "old"), ("peer-joined", "n1"), ("peer-joined", "n2")]
    server.emitted.clear()
    await m._on_directory(directory("snapshot", "r3", **{**common, "first": True, "last": True, "entries": [entry("n1", "r3"), entry("n2", "r3")]}))  # noqa: SLF001
    assert server.emitted == []  # the same snapshot again changes nothing


async def test_gone_and_a_duplicate_replica_id() -> None:
    m, _, _ = manager("r1")
    await m._on_directory(directory("join", "r2", op_id="x", entry=entry("a", "r2")))  # noqa: SLF001
    await m._on_directory(directory("gone", "r2"))  # noqa: SLF001
    assert len(m.directory) == 0
    await m._on_directory(directory("join", "r1", host="impostor", op_id="x", entry=entry("z", "r1")))  # noqa: SLF001
    assert m.directory.get("z") is None
    await m._on_directory({"method": "parley.directory.join", "host_id": "h"})  # noqa: SLF001 - malformed: skipped


async def test_a_lost_replicas_sockets_are_reported_by_the_lowest_live_replica_only() -> None:
    reports: dict[str, list[tuple[str, list[str]]]] = {}
    managers = {}
    for replica in ("r1", "r2"):
        m, _, _ = manager(replica)

        async def lost(replica_id: str, entries: list[PeerEntry], me: str = replica) -> None:
            reports.setdefault(me, []).append((replica_id, [e.sid for e in entries]))

        m.on_replica_lost = lost
        managers[replica] = m
    for m in managers.values():
        for other in ("r1", "r2", "r3"):
            if other != m.replica_id:
                await m._on_directory(directory("heartbeat", other))  # noqa: SLF001
        await m._on_directory(directory("join", "r3", op_id="x", entry=entry("a", "r3")))  # noqa: SLF001
        await m._on_directory(directory("join", "r3", op_id="y", entry=entry("b", "r3", meeting="m2")))  # noqa: SLF001
    # r3 restarts: its hello reaches both; only r1 (lowest of r1, r2) reports a and b
    for m in managers.values():
        await m._on_directory(directory("hello", "r3"))  # noqa: SLF001
    assert reports == {"r1": [("r3", ["a", "b"])]}
    assert managers["r2"].reports_for("r3") is False and managers["r1"].reports_for("r3") is True
    # r1 is lost itself: r2 reports for it; a replica with nothing left reports nothing
    assert managers["r2"].reports_for("r1") is True
    await managers["r1"]._on_directory(directory("gone", "r3"))  # noqa: SLF001
    assert reports == {"r1": [("r3", ["a", "b"])]}


async def test_a_silent_replica_does_not_stop_another_lost_one_being_reported() -> None:
    clock = FakeClock(1000.0)
    m, _, _ = manager("r3", clock)
    await bus_up(m)
    for other in ("r1", "r2"):
        await m._on_directory(directory("heartbeat", other))  # noqa: SLF001
    assert m.reports_for("r1") is False  # r2 is alive and lower
    clock.now += 60  # r1 and r2 fall silent while r3 keeps hearing its own heartbeats
    await bus_up(m)
    assert m.reports_for("r1") is True


async def test_a_failing_report_keeps_the_directory_right() -> None:
    m, _, server = manager("r1")

    async def broken(replica_id: str, entries: list[PeerEntry]) -> None:
        raise RuntimeError("queue closed")

    m.on_replica_lost = broken
    await m._on_directory(directory("join", "r2", op_id="x", entry=entry("a", "r2")))  # noqa: SLF001
    await m._on_directory(directory("gone", "r2"))  # noqa: SLF001
    assert m.directory.get("a") is None
    assert [e[1]["sid"] for e in server.emitted if e[0] == "peer-left"] == ["a"]


async def test_a_replica_that_cannot_hear_the_bus_drops_nobody() -> None:
    clock = FakeClock(1000.0)
    m, _, server = manager("r1", clock)
    await bus_up(m)
    await m._on_directory(directory("join", "r2", op_id="x", entry=entry("a", "r2")))  # noqa: SLF001
    clock.now += 3  # Kafka is gone: neither r2 nor r1's own heartbeats come back
    await m.judge()
    assert m.liveness.bus_up is False
    clock.now += 60
    await m.judge()
    assert m.directory.get("a") is not None and server.emitted == []
    # Kafka is back: r2 gets a whole replica timeout, counted from now, to be heard again
    await bus_up(m)
    clock.now += 4
    await m.judge()
    assert m.directory.get("a") is not None
    await m._on_directory(directory("heartbeat", "r2"))  # noqa: SLF001
    clock.now += 4
    await bus_up(m)
    await m.judge()
    assert m.directory.get("a") is not None and server.emitted == []


async def test_a_replica_silent_while_the_bus_is_up_is_dropped_within_the_timeout() -> None:
    clock = FakeClock(1000.0)
    m, _, server = manager("r1", clock)
    reported: list[tuple[str, list[str]]] = []

    async def lost(replica_id: str, entries: list[PeerEntry]) -> None:
        reported.append((replica_id, [e.sid for e in entries]))

    m.on_replica_lost = lost
    await bus_up(m)
    await m._on_directory(directory("join", "r2", op_id="x", entry=entry("a", "r2")))  # noqa: SLF001
    for _ in range(5):  # r2 dies; r1 keeps reading its own heartbeats back every second
        clock.now += 1
        await bus_up(m)
        await m.judge()
    assert m.directory.get("a") is not None  # 5 s: not yet
    clock.now += 1
    await bus_up(m)
    await m.judge()
    assert m.directory.get("a") is None
    assert [(e[0], e[1]["sid"]) for e in server.emitted] == [("peer-left", "a")]
    assert reported == [("r2", ["a"])]


async def test_a_wrongly_dropped_replica_is_restored_with_peer_joined_and_participant_joined() -> None:
    clock = FakeClock(1000.0)
    m, producer, server = manager("r1", clock)
    restored: list[tuple[str, list[str]]] = []

    async def lost(replica_id: str, entries: list[PeerEntry]) -> None:
        pass

    async def back(replica_id: str, entries: list[PeerEntry]) -> None:
        restored.append((replica_id, [e.sid for e in entries]))

    m.on_replica_lost, m.on_replica_restored = lost, back
    await bus_up(m)
    await m._on_directory(directory("join", "r2", op_id="x", entry=entry("a", "r2")))  # noqa: SLF001
    clock.now += 6  # r2 was cut off from Kafka (or stalled) while r1 heard the bus
    await bus_up(m)
    await m.judge()
    assert m.directory.get("a") is None
    # r2 speaks again: r1 asks it for a snapshot, which brings "a" back, and a new "b"
    await m._on_directory(directory("heartbeat", "r2"))  # noqa: SLF001
    assert producer.sent[-1]["method"] == "parley.directory.resync" and producer.sent[-1]["target"] == "r2"
    snapshot = {"snapshot_id": "s", "first": True, "last": True, "entries": [entry("a", "r2"), entry("b", "r2")]}
    await m._on_directory(directory("snapshot", "r2", **snapshot))  # noqa: SLF001
    assert [(e[0], e[1]["sid"]) for e in server.emitted] == [("peer-left", "a"), ("peer-joined", "a"), ("peer-joined", "b")]
    assert server.emitted[1][1] == {"meeting_id": "m1", "sid": "a", "user_id": "u-a", "display_name": "a"}
    assert restored == [("r2", ["a"])]  # only what r1 had reported lost


async def test_undelivered_messages_are_counted_and_logged_once_per_bus_state(caplog) -> None:
    m, _, _ = manager("r1")
    loop = asyncio.get_running_loop()
    for _ in range(3):
        failed: asyncio.Future = loop.create_future()
        failed.set_exception(RuntimeError("Kafka away"))
        m._delivered(failed)  # noqa: SLF001
    assert m._metrics.fanout_undelivered._value.get() == 3  # noqa: SLF001
    assert len([r for r in caplog.records if "not delivered" in r.getMessage()]) == 1


# --- resumable participants -------------------------------------------------------------


def resumable(sid: str, replica: str, socket_sid: str | None = None, meeting: str = "m1") -> dict:
    return {**entry(sid, replica, meeting), "resumable": True, "socket_sid": socket_sid}


async def test_a_join_that_takes_over_this_replicas_participant_releases_it_here() -> None:
    m, _, server = manager("r1")
    released: list[PeerEntry] = []

    async def taken_over(previous: PeerEntry, entry: PeerEntry) -> None:
        assert entry.sid == previous.sid and entry.replica_id == "r2"
        released.append(previous)

    m.on_taken_over = taken_over
    mine = PeerEntry(**resumable("a", "r1"))
    m.directory.add(mine)
    await m._on_directory(directory("join", "r2", op_id="x", entry=resumable("a", "r2", socket_sid="a2")))  # noqa: SLF001
    assert released == [mine]
    moved = m.directory.get("a")
    assert moved is not None and moved.replica_id == "r2" and moved.socket == "a2"
    assert server.emitted == []  # no peer-left, no peer-joined: the participant stayed
    # a late leave of the old holder does not remove the participant that moved
    await m._on_directory(directory("leave", "r1", host=m.host_id, sid="a", meeting_id="m1"))  # noqa: SLF001
    assert m.directory.get("a") == moved


async def test_own_resumption_reports_the_entry_it_replaced_at_read_back() -> None:
    m, producer, _ = manager("r1")
    await m._on_directory(directory("join", "r2", op_id="x", entry=resumable("a", "r2")))  # noqa: SLF001
    task = asyncio.create_task(m.announce_join(PeerEntry(**resumable("a", "r1", socket_sid="a2")), timeout_s=5))
    await asyncio.sleep(0)
    await m._on_directory(producer.sent[-1])  # noqa: SLF001 - read back
    confirmation = await task
    assert confirmation.previous == PeerEntry(**resumable("a", "r2"))


async def test_expire_removes_only_entries_unchanged_since_and_reports_to_the_sender() -> None:
    m, producer, server = manager("r1")
    expired: list[tuple[str, str, list[str]]] = []

    async def on_expired(owner: str, reason: str, entries: list[PeerEntry]) -> None:
        expired.append((owner, reason, [e.sid for e in entries]))

    m.on_expired = on_expired
    held = PeerEntry(**resumable("a", "r1"))
    other = PeerEntry(**resumable("b", "r1"))
    m.directory.add(held)
    m.directory.add(other)
    await m.announce_expire("r1", "disconnected", [held, other])
    expire = producer.sent[-1]
    # b resumed on r2 before the expiry was read back: it stays
    await m._on_directory(directory("join", "r2", op_id="x", entry=resumable("b", "r2", socket_sid="b2")))  # noqa: SLF001
    await m._on_directory(expire)  # noqa: SLF001 - the expire, read back
    assert m.directory.get("a") is None and m.directory.get("b") is not None
    assert expired == [("r1", "disconnected", ["a"])]
    assert [(e, d["sid"]) for e, d, _ in server.emitted] == [("peer-left", "a")]
    # on another replica the same message removes the same entry and reports nothing
    m2, _, server2 = manager("r3")
    m2.on_expired = on_expired
    m2.directory.add(held)
    await m2._on_directory(expire)  # noqa: SLF001
    assert m2.directory.get("a") is None and len(expired) == 1
    assert [(e, d["sid"]) for e, d, _ in server2.emitted] == [("peer-left", "a")]


async def held_a_expires_after_the_window(m, producer, clock) -> None:
    """r2's resumable participant "a", held by r1 (the reporter) since the verdict, is not
    expired 9 s into the 10 s resume window and is expired (``replica_lost``) at 10.5 s."""
    assert m.directory.get("a") is not None
    clock.now += 9.0
    await bus_up(m)
    await m.judge()
    assert not [s for s in producer.sent if s["method"] == "parley.directory.expire"]
    clock.now += 1.5
    await bus_up(m)
    await m.judge()  # r1 is the reporter: it expires what did not resume
    expires = [s for s in producer.sent if s["method"] == "parley.directory.expire"]
    assert len(expires) == 1 and expires[0]["owner"] == "r2" and expires[0]["reason"] == "replica_lost"
    assert [e["sid"] for e in expires[0]["entries"]] == ["a"]


async def test_a_replica_that_left_keeps_its_resumable_participants_for_the_window() -> None:
    clock = FakeClock(1000.0)
    m, producer, server = manager("r1", clock)
    m.resume_window_s = 10.0
    await bus_up(m)
    await m._on_directory(directory("join", "r2", op_id="x", entry=resumable("a", "r2")))  # noqa: SLF001
    await m._on_directory(directory("join", "r2", op_id="y", entry=entry("plain", "r2")))  # noqa: SLF001
    await m._on_directory(directory("gone", "r2"))  # noqa: SLF001
    # the plain socket left at once; the resumable participant is held
    assert [d["sid"] for e, d, _ in server.emitted if e == "peer-left"] == ["plain"]
    await held_a_expires_after_the_window(m, producer, clock)


async def silent_r2_holding():
    """r1 hears the bus; r2 held a resumable participant "a" and a plain socket, then fell silent
    for 6 s (over the 5 s timeout): r1 dropped it."""
    clock = FakeClock(1000.0)
    m, producer, server = manager("r1", clock)
    m.resume_window_s = 10.0
    reported: list[list[str]] = []

    async def lost(replica_id: str, entries: list[PeerEntry]) -> None:
        reported.append([e.sid for e in entries])

    m.on_replica_lost = lost
    await bus_up(m)
    await m._on_directory(directory("join", "r2", op_id="x", entry=resumable("a", "r2")))  # noqa: SLF001
    await m._on_directory(directory("join", "r2", op_id="y", entry=entry("plain", "r2")))  # noqa: SLF001
    for _ in range(6):
        clock.now += 1
        await bus_up(m)
        await m.judge()
    return m, producer, server, clock, reported


async def test_a_silent_replica_keeps_its_resumable_participants_for_the_window() -> None:
    """A crashed replica's clients get the resume window a clean stop gives them: the plain
    socket leaves at the verdict, the resumable participant only if it has not resumed when
    the window (counted from the verdict) runs out."""
    m, producer, server, clock, reported = await silent_r2_holding()
    assert [d["sid"] for e, d, _ in server.emitted if e == "peer-left"] == ["plain"]
    assert reported == [["plain"]]
    await held_a_expires_after_the_window(m, producer, clock)


async def test_a_held_participant_that_resumes_elsewhere_is_not_expired() -> None:
    m, producer, server, clock, _ = await silent_r2_holding()
    await m._on_directory(directory("join", "r3", op_id="z", entry=resumable("a", "r3", socket_sid="a2")))  # noqa: SLF001
    clock.now += 11.0
    await bus_up(m)
    await m.judge()
    assert not [s for s in producer.sent if s["method"] == "parley.directory.expire"]
    assert m.directory.get("a").replica_id == "r3"
    assert [d["sid"] for e, d, _ in server.emitted if e == "peer-left"] == ["plain"]


async def test_a_silent_replica_heard_again_keeps_its_held_participants() -> None:
    """r2 was only cut off: once it speaks again its snapshot says what it holds, and the
    participants r1 held for it are neither expired nor told as left or joined again."""
    m, producer, server, clock, _ = await silent_r2_holding()
    await m._on_directory(directory("heartbeat", "r2"))  # noqa: SLF001
    snapshot = {"snapshot_id": "s", "first": True, "last": True, "entries": [resumable("a", "r2"), entry("plain", "r2")]}
    await m._on_directory(directory("snapshot", "r2", **snapshot))  # noqa: SLF001
    for _ in range(12):
        clock.now += 1
        await bus_up(m)
        await m._on_directory(directory("heartbeat", "r2"))  # noqa: SLF001
        await m.judge()
    assert not [s for s in producer.sent if s["method"] == "parley.directory.expire"]
    assert m.directory.get("a") is not None and m.directory.get("plain") is not None
    assert [(e, d["sid"]) for e, d, _ in server.emitted] == [("peer-left", "plain"), ("peer-joined", "plain")]


async def test_a_restarted_replica_keeps_no_participant() -> None:
    """A ``hello`` means the replica lost every socket and knows none of them to resume: all
    of its participants leave at once, resumable or not."""
    m, _, server = manager("r1")
    await m._on_directory(directory("join", "r2", op_id="x", entry=resumable("a", "r2")))  # noqa: SLF001
    await m._on_directory(directory("hello", "r2"))  # noqa: SLF001
    assert m.directory.get("a") is None
    assert [(e, d["sid"]) for e, d, _ in server.emitted] == [("peer-left", "a")]


@dataclass
class Metadata:
    partition: int
    offset: int


class AckingProducer(FakeProducer):
    """Kafka's acknowledgements come when the test says (:meth:`ack`), with offsets."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[asyncio.Future, int]] = []
        self.offsets: dict[int, int] = {}

    async def send(self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None) -> asyncio.Future:
        await super().send(topic, value, key=key, partition=partition)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.pending.append((future, partition or 0))
        return future

    def ack(self) -> None:
        for future, partition in self.pending:
            self.offsets[partition] = self.offsets.get(partition, -1) + 1
            future.set_result(Metadata(partition, self.offsets[partition]))
        self.pending.clear()


class FakeLinks:
    def __init__(self) -> None:
        self.frames: list[tuple[str, dict]] = []
        self.open = True
        self.lost: list[dict] = []

    def knows(self, replica_id: str) -> bool:
        return True

    async def send(self, replica_id: str, frame: dict) -> bool:
        if not self.open:
            return False
        self.frames.append((replica_id, frame))
        return True

    def take_lost(self, replica_id: str) -> list[dict]:
        lost, self.lost = self.lost, []
        return lost


async def test_a_relay_takes_the_link_once_kafka_has_acknowledged_every_ordered_send_before_it() -> None:
    m, _, _ = manager("r1")
    producer, links = AckingProducer(), FakeLinks()
    m._producer, m._links, m._partitions = producer, links, 9  # noqa: SLF001
    await m.emit_to_replica("r2", "offer", {"n": 1}, ["s2"])
    assert links.frames == [("r2", {"after": (-1, -1), "event": "offer", "data": {"n": 1}, "room": "s2"})]

    await m._publish({"method": "emit", "event": "peer-joined", "room": "m1"})  # noqa: SLF001 - not acked yet
    relay = asyncio.create_task(m.emit_to_replica("r2", "offer", {"n": 2}, ["s2", "s3"]))
    await asyncio.sleep(0.01)
    assert not relay.done() and len(links.frames) == 1  # it waits for the acknowledgement
    producer.ack()
    await asyncio.wait_for(relay, 1)
    assert links.frames[-1] == ("r2", {"after": (0, -1), "event": "offer", "data": {"n": 2}, "room": ["s2", "s3"]})

    await m._send(DirectoryHeartbeat(host_id=m.host_id, replica_id="r1"), ordered=False)  # noqa: SLF001
    await asyncio.wait_for(m.emit_to_replica("r2", "offer", {"n": 3}, ["s2"]), 0.01)  # heartbeats hold nothing
    assert len(links.frames) == 3 and producer.partitions == [SHARED_PARTITION, SHARED_PARTITION]


async def test_a_relay_takes_kafka_behind_messages_kafka_does_not_acknowledge_in_time() -> None:
    m, _, _ = manager("r1")
    producer, links = AckingProducer(), FakeLinks()
    m._producer, m._links, m._partitions = producer, links, 9  # noqa: SLF001
    await m._publish({"method": "emit", "event": "peer-joined", "room": "m1"})  # noqa: SLF001
    await m.emit_to_replica("r2", "offer", {"n": 1}, ["s2"])  # after ACK_WAIT_S
    assert links.frames == [] and producer.partitions == [SHARED_PARTITION, inbox_partition("r2", 9)]
    producer.ack()
    await asyncio.sleep(0)  # the acknowledgements' callbacks
    await m.emit_to_replica("r2", "offer", {"n": 2}, ["s2"])  # behind its own relay through Kafka
    assert links.frames == [("r2", {"after": (0, 0), "event": "offer", "data": {"n": 2}, "room": "s2"})]
    assert await asyncio.wait_for(m._order.settled(), 0.01)  # noqa: SLF001 - nothing in flight


async def test_the_relays_a_broken_link_lost_go_through_kafka_ahead_of_the_next_one() -> None:
    m, _, _ = manager("r1")
    producer, links = FakeProducer(), FakeLinks()
    m._producer, m._links, m._partitions = producer, links, 9  # noqa: SLF001
    links.open = False
    links.lost = [{"seq": 7, "after": [0, 0], "event": "offer", "data": {"n": 1}, "room": "s2"}]
    await m.emit_to_replica("r2", "ice-candidate", {"n": 2}, ["s2"])
    assert [(e["event"], e["data"], e.get("link_seq")) for e in producer.sent] == [
        ("offer", [{"n": 1}], 7), ("ice-candidate", [{"n": 2}], None)
    ]
    assert producer.partitions == [inbox_partition("r2", 9)] * 2 and producer.sent[0]["host_id"] == m.host_id

    links.lost = [{"seq": 9, "after": [0, 0], "event": "offer", "data": {"n": 3}, "room": ["s2", "s3"]}]
    m._resend_lost_soon("r2")  # noqa: SLF001 - the link's on_lost: no relay follows this time
    await asyncio.wait_for(asyncio.gather(*m._resending), 1)  # noqa: SLF001
    assert (producer.sent[-1]["room"], producer.sent[-1]["link_seq"]) == (["s2", "s3"], 9)
    assert m._metrics.link_relays.labels("resent")._value.get() == 2  # noqa: SLF001


async def test_the_listener_releases_a_held_link_relay_once_it_has_handled_the_records_before_it() -> None:
    m, _, _ = manager("r1")
    emitted: list[tuple[str, Any]] = []

    async def handle_emit(message: dict) -> None:
        emitted.append((message["event"], message["data"][0]))

    m._order = RelayOrder(handle_emit, m._metrics)  # noqa: SLF001
    m._order.start(3, {SHARED_PARTITION: 4, 3: 10})  # noqa: SLF001
    await m._order.on_frame("r2", "h2", {"seq": 1, "after": [5, 10], "event": "offer", "data": 1, "room": "s1"})  # noqa: SLF001
    await m._order.on_frame("r2", "h2", {"seq": 2, "after": [0, 0], "event": "ice-candidate", "data": 2, "room": "s1"})  # noqa: SLF001
    assert emitted == []

    shared = TopicPartition("parley.signaling.fanout", 0)
    joined = json.dumps({"method": "emit", "event": "peer-joined", "data": [0], "room": "m1", "host_id": "h2"})
    m._consumer = FakeConsumer([], batches=[{shared: [Record(joined.encode(), offset=5)]}])  # noqa: SLF001
    async for message in m._listen():  # noqa: SLF001 - the base class emits what is yielded
        await handle_emit(message)
    assert emitted == [("peer-joined", 0), ("offer", 1), ("ice-candidate", 2)]
    assert not m._order.holding  # noqa: SLF001


async def test_a_snapshot_keeps_the_joins_read_after_the_request_it_answers() -> None:
    """r2's hello at offset 10; r3's join of "late" at 11, before r3 read the hello; r3's
    snapshot (as it stood at 10) at 12: "late" stays, "early" (joined at 5, gone since) leaves."""
    m, _, server = manager("r1")
    shared = TopicPartition("parley.signaling.fanout", 0)
    records = [
        (5, directory("join", "r3", op_id="a", entry=entry("early", "r3"))),
        (10, directory("hello", "r2")),
        (11, directory("join", "r3", op_id="b", entry=entry("late", "r3"))),
        (12, directory("snapshot", "r3", snapshot_id="s", first=True, last=True, entries=[entry("kept", "r3")], as_of=10)),
    ]
    batch = {shared: [Record(json.dumps(message).encode(), offset=offset) for offset, message in records]}
    m._consumer = FakeConsumer([], batches=[batch])  # noqa: SLF001
    async for _ in m._listen():  # noqa: SLF001
        pass
    assert {e.sid for e in m.directory.entries_of("r3")} == {"kept", "late"}
    assert ("peer-left", "early") in [(e[0], e[1]["sid"]) for e in server.emitted]
    assert ("peer-left", "late") not in [(e[0], e[1]["sid"]) for e in server.emitted]


async def test_a_snapshot_answers_with_the_offset_of_the_request() -> None:
    m, producer, _ = manager("r1")
    shared = TopicPartition("parley.signaling.fanout", 0)
    hello = directory("hello", "r2")
    resync = directory("resync", "r3", target="r1")
    m._consumer = FakeConsumer([], batches=[{shared: [Record(json.dumps(hello).encode(), offset=7), Record(json.dumps(resync).encode(), offset=9)]}])  # noqa: SLF001
    async for _ in m._listen():  # noqa: SLF001
        pass
    assert [s["as_of"] for s in producer.sent if s["method"] == "parley.directory.snapshot"] == [7, 9]


async def test_the_offsets_of_joins_are_forgotten_once_their_entries_are_gone() -> None:
    m, _, _ = manager("r1", clock=FakeClock(1000.0))
    await m._on_directory(directory("join", "r3", op_id="a", entry=entry("p1", "r3")))  # noqa: SLF001
    await m._on_directory(directory("join", "r3", op_id="b", entry=entry("p2", "r3")))  # noqa: SLF001
    await m._on_directory(directory("leave", "r3", sid="p1", meeting_id="m1"))  # noqa: SLF001
    await m.judge()
    assert set(m._join_offsets) == {"p2"}  # noqa: SLF001
