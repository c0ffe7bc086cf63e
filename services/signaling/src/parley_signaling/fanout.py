"""Cross-replica socket.io fan-out over Kafka, and the replicated room directory.

:class:`KafkaFanoutManager` is a python-socketio :class:`socketio.AsyncPubSubManager` whose
channel is the Kafka topic ``parley.signaling.fanout``. Every replica reads it with its own
consumer (``assign()`` of the partitions below, no consumer group, no commits), starting at
the end when it starts. Messages are JSON objects (never pickle): ``_publish`` JSON-encodes
the base class's message dicts and ``_listen`` decodes them, as packets are
(:mod:`parley_signaling.packet_json`), and hands the base class decoded dicts only.

Partitions: every replica reads partition 0, the *shared* partition, which carries every
message but one kind, so its order is one total order that every replica sees. The exception
is an emit to given sockets of another replica (a relayed offer, answer or ICE candidate, a
``peer-joined``…: :meth:`KafkaFanoutManager.emit_to_replica`), which goes to that replica's
*inbox* partition only (:func:`inbox_partition`: one of partitions 1…n-1 by a hash of its
replica id), so that no other replica fetches and decodes it: the cost of a relay does not grow
with the number of replicas; and while a replica link to the receiver is open, the relay skips
Kafka altogether (:mod:`parley_signaling.replica_link`, in order with the sender's Kafka
messages by :mod:`parley_signaling.relay_order`). Each replica reads the shared partition and
its own inbox, and of one fetch it handles the shared partition's records first, so a ``join``
read there comes before the emits that followed it into an inbox. A topic with one partition
is all shared. Replicas whose ids hash to the same inbox read each other's relays, which their
base class then finds no local socket for.

Besides the base class's messages (``emit``, ``disconnect``, ``enter_room``, ...), replicas
exchange ``parley.directory.*`` messages that keep a :class:`RoomDirectory` of every socket in
a meeting room on any replica (docs/signaling.md, "Several replicas"):

* ``join`` / ``leave``: a local socket entered or left a room. A replica applies its own
  ``join`` when it reads it back, and answers the joining socket with the room as it stands at
  that point of the log: of two sockets joining at once, exactly one sees the other as a peer.
  A ``leave`` carries the room's ``peer-left``: the sender emits it to its own sockets at once,
  every other replica to its sockets in the room when it reads the ``leave``.
* ``hello``: a replica started (with no sockets); the others drop what they knew of it and
  answer with a ``snapshot`` of their local entries as they stood at the ``hello``'s offset
  (``as_of``; a reader keeps the sender's entries whose ``join`` it read after that offset).
  Before serving, the starting replica waits for the snapshots of the replicas it heard on the
  topic in the expiry window.
* ``resync``: asks one replica (``target``) for a ``snapshot``; sent on hearing from a replica
  this one does not know (for instance after it was dropped for silence).
* ``heartbeat``: every ``heartbeat_s`` seconds, with the sender's monotonic send time. A
  replica reading its own heartbeat back knows that it hears the bus; another replica is
  dropped only when it was silent for ``replica_timeout_s`` *while this one heard the bus*
  (:mod:`parley_signaling.liveness`), so a Kafka outage is never taken for a replica crash.
* ``gone``: a replica stops cleanly; the others drop its entries, except its resumable
  participants, which they hold for the resume window (their clients are moving to another
  replica): the reporter then ``expire``s those that did not resume. A replica dropped for
  silence (it crashed, or is cut off) has its resumable participants held the same way, from
  the verdict on.
* ``expire``: the participants listed (exactly as the directory holds them) leave, unless they
  have moved since (a resumption on another socket came first in the topic's order). A replica
  expires its own held participants, and the reporter those of a replica that left.

A ``join`` whose entry names a participant the directory already holds takes it over (a
resumption, or a move to another socket of its user): every replica replaces the entry, and the
replica that held it before releases its socket (``on_taken_over``), the joining replica
included, when it reads its own ``join`` back. A ``join`` that finds, in the topic's order,
another participant of the same user in the same room (two sockets of one user that joined at
the same moment, neither seeing the other) displaces it: every replica removes that entry, and
the replica that held it moves its socket out (``on_displaced``). So a user is at most one
participant of a room on every replica, whatever the timing (docs/signaling.md, "One
participant per user").

Dropping a replica's entries (all of them after a ``hello``; after silence or ``gone``, all
but the resumable participants held for the resume window, which leave by ``expire`` if they
do not resume) emits ``peer-left`` (reason ``disconnected``) to the local sockets of the
affected rooms. Those sockets are also handed to ``on_replica_lost`` on exactly one of the
remaining replicas, the reporter: the lowest replica id among the live ones this replica knows
(itself included, the lost one excluded). signaling publishes ``participant.left`` for them
there, so meetings' roster loses the sockets of a replica that crashed (docs/signaling.md).
For a replica dropped by ``hello`` or silence, the reporter also calls ``on_replica_dropped``
(whether or not it had sockets in rooms): signaling publishes ``presence.replica_lost``, so
all of that replica's sockets go offline.

Room-state features outside the directory (raised hands: :mod:`parley_signaling.gestures`)
exchange their own messages, ``parley.room.*``: a feature registers a handler for its method
in :attr:`KafkaFanoutManager.room_handlers` and sends with :meth:`~KafkaFanoutManager.publish_room_message`;
every replica (the sender included) hands each such message, in the topic's one order, to the
handler.

A replica dropped for silence that is heard again was alive after all (it was cut off, or
stalled): it is asked for a ``snapshot``, and the entries the snapshot brings back get
``peer-joined`` on every replica's local sockets of their rooms, and, on the replica that
reported them lost, ``on_replica_restored`` (signaling publishes ``participant.joined``
again), so rooms and the roster converge to the truth.
"""

import asyncio
import logging
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import ConsumerStoppedError, KafkaError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from socketio.async_pubsub_manager import AsyncPubSubManager

from parley_events import KafkaLogGate
from parley_events.topics import SIGNALING_FANOUT
from parley_observability import stop_task
from parley_signaling import packet_json
from parley_signaling.domain.directory import PeerEntry, RoomDirectory
from parley_signaling.domain.protocol import PeerJoinedEvent, PeerLeftEvent, dump
from parley_signaling.indexed_rooms import IndexedRooms
from parley_signaling.liveness import BusChange, ReplicaLiveness
from parley_signaling.local_emit import DirectLocalEmit
from parley_signaling.metrics import SignalingMetrics
from parley_signaling.relay_order import SHARED_PARTITION, RelayOrder
from parley_signaling.replica_link import LinkDialer, LinkServer

log = logging.getLogger(__name__)

#: Key of every fan-out record (the partition is always given explicitly).
FANOUT_KEY = b"parley-signaling"
#: Methods of python-socketio's pub/sub protocol that ``_listen`` hands to the base class.
BASE_METHODS = frozenset({"emit", "callback", "disconnect", "enter_room", "leave_room", "close_room"})
DIRECTORY_PREFIX = "parley.directory."
#: Methods of room-state messages handed to :attr:`KafkaFanoutManager.room_handlers`.
ROOM_PREFIX = "parley.room."
#: A room-state message's handler (awaited on every replica with the decoded dict).
RoomHandler = Callable[[dict[str, Any]], Awaitable[None]]
#: Milliseconds the producer waits to put more records in one produce request (aiokafka's
#: ``linger_ms``). Every request costs Kafka, and every reading replica, one fetch answer more:
#: in a bare round trip at 1,000 records/s (bench/kafka_round_trip.py), 1 ms cut the broker's
#: and the client's CPU per record by 30-40 % at the same p99 (bench/README.md, "Relay across
#: replicas").
PRODUCE_LINGER_MS = 1
#: Bytes of one produce batch (aiokafka's ``max_batch_size``, 16 KiB by default). aiokafka keeps
#: one open batch per partition, and a send that finds it full waits until it was sent, so in
#: a burst (a mass close's leaves, ~400 bytes each) each round trip to Kafka carried about 40
#: messages. Below the broker's 1 MiB ``message.max.bytes``.
PRODUCE_BATCH_BYTES = 512 * 1024
#: Entries per ``snapshot`` message.
SNAPSHOT_CHUNK = 200

OnConnected = Callable[[str, str], Awaitable[None]]
OnReplicaLost = Callable[[str, list[PeerEntry]], Awaitable[None]]
#: ``(replica_id, reason)``: a replica crashed, restarted or went silent (not a clean ``gone``).
OnReplicaDropped = Callable[[str, str], Awaitable[None]]
OnReplicaRestored = Callable[[str, list[PeerEntry]], Awaitable[None]]
OnTakenOver = Callable[[PeerEntry, PeerEntry], Awaitable[None]]
OnDisplaced = Callable[[PeerEntry, PeerEntry], Awaitable[None]]
OnExpired = Callable[[str, "ExpireReason", list[PeerEntry]], Awaitable[None]]
DropReason = Literal["silent", "restarted", "gone"]
ExpireReason = Literal["disconnected", "replica_lost"]


@dataclass(frozen=True)
class JoinConfirmation:
    """A ``join`` read back from the topic: the other entries of the room at that point, and
    the entry the directory held for the same participant just before (a resumption), if any."""

    peers: list[PeerEntry]
    previous: PeerEntry | None


class _DirectoryMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    host_id: str
    replica_id: str


class DirectoryJoin(_DirectoryMessage):
    method: Literal["parley.directory.join"] = "parley.directory.join"
    op_id: str
    entry: PeerEntry


class DirectoryLeave(_DirectoryMessage):
    method: Literal["parley.directory.leave"] = "parley.directory.leave"
    sid: str
    meeting_id: str
    #: The ``peer-left`` every replica emits to its sockets in the room on reading this; None:
    #: none (the room ended, or the participant never got in).
    peer_left: PeerLeftEvent | None = None


class DirectoryHello(_DirectoryMessage):
    method: Literal["parley.directory.hello"] = "parley.directory.hello"


class DirectoryResync(_DirectoryMessage):
    method: Literal["parley.directory.resync"] = "parley.directory.resync"
    target: str


class DirectorySnapshot(_DirectoryMessage):
    method: Literal["parley.directory.snapshot"] = "parley.directory.snapshot"
    snapshot_id: str
    first: bool
    last: bool
    entries: list[PeerEntry]
    #: The shared partition's offset of the ``hello`` or ``resync`` it answers: the sender's
    #: entries as they stood there (None: unknown, from an older replica).
    as_of: int | None = None


class DirectoryHeartbeat(_DirectoryMessage):
    method: Literal["parley.directory.heartbeat"] = "parley.directory.heartbeat"
    #: The sender's ``time.monotonic()`` at sending; only the sender reads it (its loop-back).
    sent_at: float | None = None
    #: ``host:port`` of the sender's replica link (:mod:`parley_signaling.replica_link`), if any.
    link: str | None = None


class DirectoryGone(_DirectoryMessage):
    method: Literal["parley.directory.gone"] = "parley.directory.gone"


class DirectoryExpire(_DirectoryMessage):
    method: Literal["parley.directory.expire"] = "parley.directory.expire"
    #: The replica whose entries these are (the sender's own, or a departed replica's).
    owner: str
    reason: ExpireReason
    entries: list[PeerEntry]


DirectoryMessage = Annotated[
    DirectoryJoin
    | DirectoryLeave
    | DirectoryHello
    | DirectoryResync
    | DirectorySnapshot
    | DirectoryHeartbeat
    | DirectoryGone
    | DirectoryExpire,
    Field(discriminator="method"),
]
_directory_message: TypeAdapter[Any] = TypeAdapter(DirectoryMessage)


def inbox_partition(replica_id: str, partitions: int) -> int:
    """The partition of the fan-out topic (of ``partitions`` partitions) that carries emits to
    ``replica_id``'s sockets: ``1 + crc32(replica_id) mod (partitions - 1)``, the same on every
    replica; :data:`SHARED_PARTITION` when the topic has a single partition."""
    if partitions <= 1:
        return SHARED_PARTITION
    return 1 + zlib.crc32(replica_id.encode()) % (partitions - 1)


class FanoutUnavailable(Exception):
    """The fan-out topic could not be written or read back in time."""


class KafkaFanoutManager(AsyncPubSubManager, DirectLocalEmit, IndexedRooms):
    """socket.io client manager sharing emits and the room directory through Kafka; its
    emits to local sockets go without a task per recipient (:class:`DirectLocalEmit`), and a
    disconnect finds the socket's rooms in an index (:class:`IndexedRooms`).

    Lifecycle: attach to a server (``AsyncServer(client_manager=...)``), then :meth:`start`
    inside the app's lifespan (it connects, positions at the end of the topic, starts the
    listener and says ``hello``), and :meth:`stop` on shutdown (says ``gone``).
    ``on_connected(sid, namespace)`` is awaited once a socket is fully connected.
    """

    name = "parley-kafka"

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        replica_id: str,
        metrics: SignalingMetrics,
        topic: str = SIGNALING_FANOUT.name,
        heartbeat_s: float = 1.0,
        replica_timeout_s: float = 5.0,
        resume_window_s: float = 10.0,
        link_host: str = "",
        link_port: int = 0,
    ) -> None:
        super().__init__(channel=topic, write_only=False, logger=log)
        self.replica_id = replica_id
        self.directory = RoomDirectory()
        self.on_connected: OnConnected | None = None
        #: Awaited with ``(replica_id, entries)`` when this replica reports a lost replica's sockets.
        self.on_replica_lost: OnReplicaLost | None = None
        #: Awaited with ``(replica_id, reason)`` when this replica reports a replica dropped for
        #: silence or a restart, with or without sockets in rooms (presence: all its sockets).
        self.on_replica_dropped: OnReplicaDropped | None = None
        #: Awaited with ``(replica_id, entries)`` when sockets this replica reported lost are back.
        self.on_replica_restored: OnReplicaRestored | None = None
        #: Awaited with ``(the entry this replica held, the new one)`` when another socket took the
        #: participant over.
        self.on_taken_over: OnTakenOver | None = None
        #: Awaited with ``(the entry this replica held, the join that displaced it)`` when a later
        #: join of the same user in the same room displaced a participant of this replica.
        self.on_displaced: OnDisplaced | None = None
        #: Awaited on the replica that sent an ``expire`` with ``(owner, reason, entries removed)``.
        self.on_expired: OnExpired | None = None
        #: Handlers of ``parley.room.*`` messages, by method (see the module's docstring).
        self.room_handlers: dict[str, RoomHandler] = {}
        self.resume_window_s = resume_window_s
        #: Replicas that said ``gone`` or went silent with resumable participants held: when
        #: those expire, and why the replica was dropped.
        self._departed: dict[str, tuple[float, DropReason]] = {}
        self._bootstrap_servers = bootstrap_servers
        self._metrics = metrics
        self._heartbeat_s = heartbeat_s
        #: The bus counts as lost after half the replica timeout without an own heartbeat back.
        self.liveness = ReplicaLiveness(replica_timeout_s=replica_timeout_s, bus_timeout_s=replica_timeout_s / 2)
        self._producer: AIOKafkaProducer | None = None
        #: Partitions of the fan-out topic (known once started).
        self._partitions = 1
        self._consumer: AIOKafkaConsumer | None = None
        self._send_lock = asyncio.Lock()
        self._pending_joins: dict[str, asyncio.Future[JoinConfirmation]] = {}
        self._snapshots: dict[str, list[PeerEntry]] = {}
        #: Entries of replicas this replica reported lost, by replica then sid, until they come back.
        self._reported_lost: dict[str, dict[str, PeerEntry]] = {}
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._started = False
        self._sync_timeout_s = 2 * replica_timeout_s
        self._awaiting_snapshots: set[str] = set()
        self._synced = asyncio.Event()
        self._undelivered_logged = False
        self._bus_ever_up = False
        self._log_gate = KafkaLogGate(metrics.kafka_log_records_held)
        # The replica link, and the order of relays across it and Kafka (docs/signaling.md).
        self._order = RelayOrder(self._handle_emit, metrics)
        self._link_server = LinkServer(link_host, link_port, self._order.on_frame) if link_host else None
        self._links = LinkDialer({"replica_id": replica_id, "host_id": self.host_id}, on_lost=self._resend_lost_soon)
        self._resending: set[asyncio.Task[None]] = set()
        #: ``host:port`` of this replica's link once it listens; None without one.
        self.link_address: str | None = None
        #: The shared partition's offset of the record being handled.
        self._reading = -1
        #: Other replicas' entries by sid: the shared partition's offset of their ``join``.
        self._join_offsets: dict[str, int] = {}
        #: The replicas heard on the topic when this one started, whose snapshots it awaited.
        self.started_with: frozenset[str] = frozenset()

        def local() -> int:
            return len(self.directory.entries_of(self.replica_id))

        metrics.directory_entries.labels("local").set_function(local)
        metrics.directory_entries.labels("remote").set_function(lambda: len(self.directory) - local())
        metrics.rooms.set_function(self.directory.room_count)
        metrics.disconnecting_sockets.set_function(lambda: sum(len(sids) for sids in self.pending_disconnect.values()))
        metrics.fanout_bus_up.set_function(lambda: self.liveness.bus_up)

    # --- lifecycle --------------------------------------------------------------------

    def initialize(self) -> None:
        """Not used: python-socketio calls it on the first connection; :meth:`start` starts."""

    async def start(self) -> None:
        """Connect to Kafka, start listening at the end of the topic, learn the other replicas' rooms.

        The replicas heard on the topic within the replica timeout are the live ones; after
        ``hello``, this waits (at most twice the replica timeout) until each has answered with
        its snapshot, so that the first ``join`` here already sees every room. Raises when
        Kafka or the topic is unavailable.
        """
        self._log_gate.attach()
        client_id = f"parley-signaling-fanout-{self.replica_id}"
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap_servers, client_id=client_id, acks=1, linger_ms=PRODUCE_LINGER_MS,
            max_batch_size=PRODUCE_BATCH_BYTES,
        )
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap_servers,
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        await producer.start()
        self._producer = producer
        await consumer.start()
        self._consumer = consumer
        partitions = await producer.partitions_for(self.channel)
        if not partitions:
            raise RuntimeError(f"fan-out topic {self.channel!r} has no partitions")
        self._partitions = len(partitions)
        shared = TopicPartition(self.channel, SHARED_PARTITION)
        inbox = TopicPartition(self.channel, inbox_partition(self.replica_id, self._partitions))
        consumer.assign(sorted({shared, inbox}))
        await consumer.position(inbox)  # the inbox is read from its end as it is now
        live = await self._recently_heard(consumer, [shared])
        self._order.start(inbox.partition, {tp.partition: await consumer.position(tp) - 1 for tp in {shared, inbox}})
        if self._link_server is not None:
            self.link_address = await self._link_server.start()
        self.server.manager_initialized = True
        AsyncPubSubManager.initialize(self)  # starts self._thread (reads _listen)
        self._started = True
        self.started_with = frozenset(live)
        self._awaiting_snapshots = set(live)
        if not live:
            self._synced.set()
        await self._send(DirectoryHello(host_id=self.host_id, replica_id=self.replica_id))
        self._heartbeat_task = asyncio.create_task(self._heartbeat_loop())
        try:
            await asyncio.wait_for(self._synced.wait(), self._sync_timeout_s)
        except TimeoutError:
            log.warning(
                "no directory snapshot from %s within %.1fs; starting without their rooms",
                sorted(self._awaiting_snapshots),
                self._sync_timeout_s,
            )

    async def _recently_heard(self, consumer: AIOKafkaConsumer, assignment: list[TopicPartition]) -> set[str]:
        """Replicas that spoke on the topic within the expiry window; leaves the consumer at the end.

        Reads the last replica timeout's worth of the topic (only to learn
        who is alive: nothing in it is applied), then positions every partition at the end as
        it was on entry, so that every record published from then on is read.
        """
        end = await consumer.end_offsets(assignment)
        window_ms = int(self.liveness.replica_timeout_s * 1000)
        now_ms = int(time.time() * 1000)
        since = await consumer.offsets_for_times({tp: now_ms - window_ms for tp in assignment})
        heard: dict[str, int] = {}
        for tp in assignment:
            found = since.get(tp)
            consumer.seek(tp, found.offset if found is not None else end[tp])
        try:
            async with asyncio.timeout(max(10.0, self._sync_timeout_s)):
                while [tp for tp in assignment if await consumer.position(tp) < end[tp]]:
                    batches = await consumer.getmany(*assignment, timeout_ms=200)
                    for tp, records in batches.items():
                        for record in records:
                            if record.offset >= end[tp]:
                                continue
                            message = _decode(record.value)
                            if message is None or not message["method"].startswith(DIRECTORY_PREFIX):
                                continue
                            replica = message.get("replica_id")
                            if not isinstance(replica, str) or replica == self.replica_id:
                                continue
                            if message["method"] == DirectoryGone.model_fields["method"].default:
                                heard.pop(replica, None)
                            else:
                                heard[replica] = record.timestamp
        except TimeoutError:
            log.warning("fan-out history not read in time; %d replicas heard so far", len(heard))
        for tp in assignment:  # records past the entry end are read again by the listener
            consumer.seek(tp, end[tp])
        for tp in assignment:
            await consumer.position(tp)
        now_ms = int(time.time() * 1000)
        for replica, timestamp in heard.items():
            self.liveness.heard(replica, ago_s=(now_ms - timestamp) / 1000)
        return set(heard)

    async def stop(self) -> None:
        """Say ``gone`` (best effort), stop listening, close the Kafka clients."""
        if self._started:
            try:
                await asyncio.wait_for(
                    self._send(DirectoryGone(host_id=self.host_id, replica_id=self.replica_id)), 2.0
                )
            except Exception:  # noqa: BLE001 - shutting down anyway
                log.warning("could not announce this replica's departure", exc_info=True)
        self._started = False
        tasks = [t for t in (self._heartbeat_task, getattr(self, "thread", None)) if t is not None]
        for task in tasks:
            await stop_task(task)
        self._links.close()
        for task in list(self._resending):
            await stop_task(task)
        if self._link_server is not None:
            await self._link_server.stop()
        for future in self._pending_joins.values():
            if not future.done():
                future.set_exception(FanoutUnavailable("fan-out stopped"))
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        self._log_gate.detach()

    async def check(self) -> None:
        """Readiness: started, listener alive, and Kafka answers; raises otherwise."""
        thread = getattr(self, "thread", None)
        if not self._started or self._producer is None or thread is None or thread.done():
            raise RuntimeError("fan-out listener not running")
        await self._producer.partitions_for(self.channel)

    # --- socket.io manager hooks ------------------------------------------------------

    async def connect(self, sid: str, namespace: str) -> Any:
        result = await super().connect(sid, namespace)
        if self.on_connected is not None:
            try:
                await self.on_connected(sid, namespace)
            except Exception:  # noqa: BLE001 - never break the connection path
                log.exception("on_connected failed for %s", sid)
        return result

    async def leave_room(self, sid: str, namespace: str, room: Any) -> None:
        """python-socketio's, except that a socket of this replica leaves here only, also while
        it is disconnecting. python-socketio publishes ``leave_room`` for the other replicas
        whenever ``is_connected`` is False, which it is for a socket between ``pre_disconnect``
        and ``disconnect`` (while the disconnect handler runs); no other replica holds the sid,
        so that was one fan-out message per dropped socket that every replica read and ignored
        (bench/README.md, "Sockets: a mass close's messages")."""
        if sid in self.rooms.get(namespace, {}).get(None, {}):
            self.basic_leave_room(sid, namespace, room)
            return
        await super().leave_room(sid, namespace, room)

    async def _publish(
        self, *messages: dict[str, Any], partition: int = SHARED_PARTITION, ordered: bool = True
    ) -> None:
        """Send messages (dicts) as JSON to ``partition``, contiguous there and ordered with every
        other send of this replica to that partition. ``ordered``: link relays sent after it
        wait for it (every send but a heartbeat)."""
        if self._producer is None:
            raise FanoutUnavailable("fan-out not started")
        unsent = len(messages) if ordered else 0
        self._order.sending(unsent)
        try:
            async with self._send_lock:
                for data in messages:
                    value = packet_json.encode(data)
                    delivery = await self._producer.send(self.channel, value, key=FANOUT_KEY, partition=partition)
                    if ordered:
                        unsent -= 1
                        delivery.add_done_callback(self._order.acknowledged)
                    delivery.add_done_callback(self._delivered)
                    self._metrics.fanout_messages.labels("sent", _kind(data.get("method"))).inc()
        finally:
            self._order.sending(-unsent)

    def _delivered(self, delivery: "asyncio.Future[Any]") -> None:
        """Count a message Kafka did not take; log the first of each bus state only."""
        if delivery.cancelled() or delivery.exception() is None:
            return
        self._metrics.fanout_undelivered.inc()
        if not self._undelivered_logged:
            self._undelivered_logged = True
            log.error(
                "fan-out message not delivered: %s (further ones are counted in "
                "parley_signaling_fanout_undelivered_total until the bus state changes)",
                delivery.exception(),
            )

    async def _listen(self) -> AsyncIterator[dict[str, Any]]:
        """Yield the base class's messages as decoded dicts; handle directory messages here."""
        while True:
            consumer = self._consumer
            if consumer is None:
                return
            try:
                batches = await consumer.getmany(timeout_ms=1000)
            except ConsumerStoppedError:
                return
            except KafkaError as exc:
                # The bus state (own heartbeats read back or not) says whether the bus is lost.
                log.debug("fan-out consumer error; retrying: %r", exc)
                await asyncio.sleep(1.0)
                continue
            taken_ms = time.time() * 1000
            # the shared partition first: a join comes before the emits that followed it
            for _, records in sorted(batches.items(), key=lambda batch: batch[0].partition):
                for record in records:
                    if record.partition == SHARED_PARTITION:
                        self._reading = record.offset
                    self._metrics.fanout_delay.observe(max(0.0, taken_ms - record.timestamp) / 1000)
                    message = _decode(record.value)
                    method = message["method"] if message is not None else ""
                    self._metrics.fanout_messages.labels("received", _kind(method)).inc()
                    if method.startswith(DIRECTORY_PREFIX):  # "" (not a message) matches nothing
                        try:
                            await self._on_directory(message)
                        except Exception:  # noqa: BLE001 - one bad message never stops the listener
                            log.exception("directory message %s failed", method)
                    elif method in BASE_METHODS:
                        if self._order.handle_now(message):  # not a link relay's second copy, nor held
                            yield message  # handled by the base class when the next one is asked for
                    elif (handler := self.room_handlers.get(method)) is not None:
                        try:
                            await handler(message)
                        except Exception:  # noqa: BLE001 - one bad message never stops the listener
                            log.exception("room message %s failed", method)
                    self._order.handled(record.partition, record.offset)
                    if self._order.holding:
                        await self._order.release()
                self._metrics.consumer_lag.observe(consumer, records)

    # --- the directory ----------------------------------------------------------------

    async def announce_join(self, entry: PeerEntry, timeout_s: float) -> JoinConfirmation:
        """Announce that participant ``entry.sid`` (on local socket ``entry.socket``) entered
        ``entry.meeting_id``'s room, or took over the entry of that participant (a resumption).

        Returns the other entries of that room as they stand when the announcement is read
        back from the topic, and the entry it replaced there. Raises
        :class:`FanoutUnavailable` after ``timeout_s`` seconds.
        """
        op_id = uuid.uuid4().hex
        future: asyncio.Future[JoinConfirmation] = asyncio.get_running_loop().create_future()
        self._pending_joins[op_id] = future
        try:
            await self._send(
                DirectoryJoin(host_id=self.host_id, replica_id=self.replica_id, op_id=op_id, entry=entry)
            )
            return await asyncio.wait_for(future, timeout_s)
        except (TimeoutError, KafkaError) as exc:
            raise FanoutUnavailable(f"join announcement not confirmed: {exc!r}") from exc
        finally:
            self._pending_joins.pop(op_id, None)

    async def announce_leave(self, sid: str, meeting_id: str, peer_left: PeerLeftEvent | None = None) -> None:
        """Announce that participant ``sid`` of this replica left ``meeting_id``'s room
        (applied at once here). ``peer_left``, if given, goes to the sockets left in the room:
        on this replica at once, on every other one when it reads the ``leave``, in the topic's
        order (one message for both: the directory's ``leave`` and the room's ``peer-left``).

        A failure to publish is logged, not raised: the leave has happened locally.
        """
        self._remove_if(self.replica_id, sid, meeting_id)
        if peer_left is not None:
            await self._emit_peer_left(peer_left)
        try:
            await self._send(
                DirectoryLeave(
                    host_id=self.host_id, replica_id=self.replica_id, sid=sid, meeting_id=meeting_id, peer_left=peer_left
                )
            )
        except Exception:  # noqa: BLE001 - other replicas catch up by heartbeat expiry or resync
            log.exception("could not announce that %s left %s", sid, meeting_id)

    async def announce_expire(self, owner: str, reason: ExpireReason, entries: list[PeerEntry]) -> None:
        """Ask every replica to remove ``entries`` (held participants that did not resume); each
        one is removed where the directory still holds it unchanged when the message is read
        back, and handed to ``on_expired`` on this replica. Raises :class:`KafkaError` or
        :class:`FanoutUnavailable` when it cannot be published."""
        await self._send(
            DirectoryExpire(host_id=self.host_id, replica_id=self.replica_id, owner=owner, reason=reason, entries=entries)
        )

    async def emit_to_replica(self, replica_id: str, event: str, data: Any, sockets: list[str]) -> None:
        """``event`` with ``data`` (one JSON value) to ``sockets``, all of them sockets of replica
        ``replica_id`` (another one): over the replica link when it is open, once Kafka has
        acknowledged this replica's ordered sends before it (:mod:`parley_signaling.relay_order`);
        else python-socketio's ``emit`` message on that replica's inbox partition, so only it
        reads it. Raises :class:`FanoutUnavailable` or :class:`KafkaError` when it cannot be
        published."""
        room = sockets[0] if len(sockets) == 1 else sockets
        inbox = inbox_partition(replica_id, self._partitions)
        if self._links.knows(replica_id) and await self._order.settled():
            frame = {"after": self._order.after(inbox), "event": event, "data": data, "room": room}
            if await self._links.send(replica_id, frame):
                self._metrics.link_relays.labels("sent").inc()
                return
        # the relays a broken link lost go first (taken and counted in before any await)
        await self._publish(*self._lost_relays(replica_id), self._emit_message(event, data, room), partition=inbox)

    def _emit_message(self, event: str, data: Any, room: str | list[str], link_seq: int | None = None) -> dict[str, Any]:
        """python-socketio's ``emit`` message; ``link_seq``: a link relay's ``seq``, sent again."""
        message = {
            "method": "emit",
            "event": event,
            "data": [data],
            "binary": False,
            "namespace": "/",
            "room": room,
            "skip_sid": None,
            "callback": None,
            "host_id": self.host_id,
        }
        if link_seq is not None:
            message["link_seq"] = link_seq
        return message

    def _lost_relays(self, replica_id: str) -> list[dict[str, Any]]:
        """The relays ``replica_id``'s broken link did not deliver, as ``emit`` messages."""
        lost = self._links.take_lost(replica_id)
        if lost:
            self._metrics.link_relays.labels("resent").inc(len(lost))
        return [self._emit_message(f["event"], f["data"], f["room"], link_seq=f["seq"]) for f in lost]

    def _resend_lost_soon(self, replica_id: str) -> None:
        """``on_lost`` of the links: send the lost relays through Kafka now, unless the next
        relay to that replica takes them first."""
        task = asyncio.get_running_loop().create_task(self._resend_lost(replica_id))
        self._resending.add(task)
        task.add_done_callback(self._resending.discard)

    async def _resend_lost(self, replica_id: str) -> None:
        lost = self._lost_relays(replica_id)
        if not lost:
            return  # a relay to that replica took them first
        try:
            await self._publish(*lost, partition=inbox_partition(replica_id, self._partitions))
        except Exception:  # noqa: BLE001 - the bus is down too: lost, as any relay through it then
            log.exception("%d relays to replica %s that its link lost could not be sent again", len(lost), replica_id)

    async def publish_room_message(self, message: dict[str, Any]) -> None:
        """Send a ``parley.room.*`` message (``method`` is its key) to every replica's handler,
        this one's included. Raises :class:`FanoutUnavailable` or :class:`KafkaError` when it
        cannot be published."""
        if not str(message.get("method", "")).startswith(ROOM_PREFIX):
            raise ValueError("a room message's method starts with " + ROOM_PREFIX)
        await self._publish(message)

    async def _send(self, message: BaseModel, *, ordered: bool = True) -> None:
        await self._publish(message.model_dump(mode="json"), ordered=ordered)

    async def _on_directory(self, raw: dict[str, Any]) -> None:
        try:
            message = _directory_message.validate_python(raw)
        except ValidationError as exc:
            log.warning("malformed directory message skipped: %s", exc)
            return
        if isinstance(message, DirectoryExpire):
            if message.host_id != self.host_id:
                self.liveness.heard(message.replica_id)
            await self._on_expire(message, own=message.host_id == self.host_id)
            return
        if message.host_id == self.host_id:
            await self._on_own(message)
            return
        if message.replica_id == self.replica_id:
            log.error(
                "another process announces itself as replica %r: replica ids must be unique",
                self.replica_id,
            )
            return
        await self._on_remote(message)

    async def _on_expire(self, message: DirectoryExpire, *, own: bool) -> None:
        """Remove the listed entries still held unchanged; ``peer-left`` to the local sockets of
        their rooms; the sender hands what it removed to ``on_expired``."""
        removed = [entry for entry in message.entries if self.directory.get(entry.sid) == entry]
        for entry in removed:
            self.directory.remove(entry.sid)
        await self._emit_peers_left(removed)
        if own and removed and self.on_expired is not None:
            try:
                await self.on_expired(message.owner, message.reason, removed)
            except Exception:  # noqa: BLE001 - the directory is already right
                log.exception("reporting %d expired participants failed", len(removed))

    async def _on_own(self, message: Any) -> None:
        if isinstance(message, DirectoryHeartbeat):
            if message.sent_at is not None:
                self._bus_changed(self.liveness.loopback(message.sent_at))
        elif isinstance(message, DirectoryJoin):
            previous = await self._apply_join(message.entry)
            future = self._pending_joins.get(message.op_id)
            if future is not None and not future.done():
                peers = self.directory.peers(message.entry.meeting_id, exclude=message.entry.sid)
                future.set_result(JoinConfirmation(peers=peers, previous=previous))
        elif isinstance(message, DirectoryLeave):
            self._remove_if(message.replica_id, message.sid, message.meeting_id)

    async def _on_remote(self, message: Any) -> None:
        replica = message.replica_id
        known = self.liveness.knows(replica)
        self.liveness.heard(replica)
        departed = self._departed.get(replica)
        if not known and departed is not None and departed[1] == "silent":
            del self._departed[replica]  # alive after all: its snapshot tells what it holds
        if isinstance(message, DirectoryHeartbeat):
            self._links.learn(replica, message.link)
        elif isinstance(message, DirectoryJoin):
            if message.entry.replica_id == replica:
                self._join_offsets[message.entry.sid] = self._reading
                await self._apply_join(message.entry)
        elif isinstance(message, DirectoryLeave):
            self._remove_if(replica, message.sid, message.meeting_id)
            if message.peer_left is not None:
                await self._emit_peer_left(message.peer_left)
        elif isinstance(message, DirectoryHello):
            self._departed.pop(replica, None)
            await self._drop_replica(replica, "restarted")
            self._reported_lost.pop(replica, None)  # it restarted: those sockets are gone for good
            self.liveness.heard(replica)
            await self._send_snapshot(as_of=self._reading)
            return
        elif isinstance(message, DirectoryResync):
            if message.target == self.replica_id:
                await self._send_snapshot(as_of=self._reading)
        elif isinstance(message, DirectorySnapshot):
            await self._on_snapshot(message)
            return
        elif isinstance(message, DirectoryGone):
            await self._drop_replica(replica, "gone")
            self._reported_lost.pop(replica, None)
            self.liveness.forget(replica)
            self._awaiting_snapshots.discard(replica)
            if not self._awaiting_snapshots:
                self._synced.set()
            return
        if not known:
            await self._send(DirectoryResync(host_id=self.host_id, replica_id=self.replica_id, target=replica))

    async def _apply_join(self, entry: PeerEntry) -> PeerEntry | None:
        """Apply a ``join`` read in the topic's order, this replica's or another's: add ``entry``;
        release this replica's socket of the participant it takes over (``on_taken_over``) and
        move out this replica's participant of the same user in that room that it displaces
        (``on_displaced``). Returns the entry it replaced (same participant id), if any."""
        previous = self.directory.get(entry.sid)
        rival = next(
            (p for p in self.directory.peers(entry.meeting_id, exclude=entry.sid) if p.user_id == entry.user_id), None
        )
        if rival is not None:
            self.directory.remove(rival.sid)
        self.directory.add(entry)
        if previous is not None and previous.replica_id == self.replica_id and previous.socket != entry.socket:
            await self._taken_over(previous, entry)
        if rival is not None and rival.replica_id == self.replica_id and self.on_displaced is not None:
            try:
                await self.on_displaced(rival, entry)
            except Exception:  # noqa: BLE001 - the directory is already right
                log.exception("moving out participant %s, displaced by %s, failed", rival.sid, entry.sid)
        return previous

    def _remove_if(self, replica_id: str, sid: str, meeting_id: str) -> None:
        entry = self.directory.get(sid)
        if entry is not None and entry.replica_id == replica_id and entry.meeting_id == meeting_id:
            self.directory.remove(sid)

    async def _on_snapshot(self, message: DirectorySnapshot) -> None:
        replica = message.replica_id
        if message.first:
            self._snapshots[replica] = []
        staged = self._snapshots.setdefault(replica, [])
        staged.extend(entry for entry in message.entries if entry.replica_id == replica)
        if message.last:
            entries = self._snapshots.pop(replica)
            if message.as_of is not None:
                # joins read after the request the snapshot answers are newer than it: kept
                joined_at = self._join_offsets
                newer = [e for e in self.directory.entries_of(replica) if joined_at.get(e.sid, -1) > message.as_of]
                entries = list({entry.sid: entry for entry in [*entries, *newer]}.values())
            added = [entry for entry in entries if self.directory.get(entry.sid) != entry]
            replaced = self.directory.replace_replica(replica, entries)
            self._awaiting_snapshots.discard(replica)
            if not self._awaiting_snapshots:
                self._synced.set()
            await self._emit_peers_left(replaced.removed)
            await self._emit_peers_joined(added)
            await self._report_restored(replica, added)

    async def _report_restored(self, replica_id: str, added: list[PeerEntry]) -> None:
        """Hand the entries this replica had reported lost and a snapshot brought back to
        ``on_replica_restored``; forget the rest of what was reported for that replica."""
        reported = self._reported_lost.pop(replica_id, {})
        restored = [entry for entry in added if reported.get(entry.sid) == entry]
        if not restored:
            return
        self._metrics.restored_entries.inc(len(restored))
        log.warning(
            "replica %s is alive after all: %d of its sockets reported lost are back", replica_id, len(restored)
        )
        if self.on_replica_restored is not None:
            try:
                await self.on_replica_restored(replica_id, restored)
            except Exception:  # noqa: BLE001 - the directory is already right
                log.exception("reporting the %d restored sockets of replica %s failed", len(restored), replica_id)

    async def _send_snapshot(self, *, as_of: int) -> None:
        """This replica's entries, as they stand when the request at shared offset ``as_of`` is read."""
        entries = self.directory.entries_of(self.replica_id)
        chunks = [entries[i : i + SNAPSHOT_CHUNK] for i in range(0, len(entries), SNAPSHOT_CHUNK)] or [[]]
        snapshot_id = uuid.uuid4().hex
        messages = [
            DirectorySnapshot(
                host_id=self.host_id,
                replica_id=self.replica_id,
                snapshot_id=snapshot_id,
                first=index == 0,
                last=index == len(chunks) - 1,
                entries=chunk,
                as_of=as_of,
            ).model_dump(mode="json")
            for index, chunk in enumerate(chunks)
        ]
        if self._producer is not None:
            await self._publish(*messages)  # the chunks stay contiguous in the topic

    async def _taken_over(self, previous: PeerEntry, entry: PeerEntry) -> None:
        if self.on_taken_over is not None:
            try:
                await self.on_taken_over(previous, entry)
            except Exception:  # noqa: BLE001 - the directory is already right
                log.exception("releasing participant %s after its resumption elsewhere failed", previous.sid)

    async def _drop_replica(self, replica_id: str, reason: DropReason) -> None:
        """Drop a replica's entries. A replica that said ``gone`` or went silent keeps its
        resumable ones for the resume window (:meth:`_expire_departed`); a restarted one keeps
        none (it lost their sockets, and does not know them to resume them)."""
        self._snapshots.pop(replica_id, None)
        self._links.forget(replica_id)
        entries = self.directory.drop_replica(replica_id, keep_resumable=reason != "restarted")
        if reason != "restarted" and self.directory.entries_of(replica_id):
            self._departed[replica_id] = (self.liveness.now() + self.resume_window_s, reason)
        self._metrics.replicas_dropped.labels(reason).inc()
        await self._emit_peers_left(entries)
        if reason != "gone" and self.on_replica_dropped is not None and self.reports_for(replica_id):
            try:
                await self.on_replica_dropped(replica_id, reason)
            except Exception:  # noqa: BLE001 - the directory is already right
                log.exception("reporting the loss of replica %s failed", replica_id)
        if entries and self.on_replica_lost is not None and self.reports_for(replica_id):
            self._reported_lost.setdefault(replica_id, {}).update((entry.sid, entry) for entry in entries)
            try:
                await self.on_replica_lost(replica_id, entries)
            except Exception:  # noqa: BLE001 - the directory is already right
                log.exception("reporting the %d sockets of lost replica %s failed", len(entries), replica_id)

    def reports_for(self, lost_replica_id: str) -> bool:
        """Whether this replica is the one that reports ``lost_replica_id``'s sockets: the lowest
        id among itself and the replicas it holds alive (:meth:`ReplicaLiveness.alive`),
        ``lost_replica_id`` excluded (two replicas that crash together do not wait on each other)."""
        live = (self.liveness.alive() | {self.replica_id}) - {lost_replica_id}
        return min(live) == self.replica_id

    async def _emit_peers_left(self, entries: list[PeerEntry]) -> None:
        for entry in entries:
            await self._emit_peer_left(
                PeerLeftEvent(meeting_id=entry.meeting_id, sid=entry.sid, user_id=entry.user_id, reason="disconnected")
            )

    async def _emit_peer_left(self, event: PeerLeftEvent) -> None:
        """``peer-left`` to this replica's sockets in the event's room (logged if it fails: the
        leave has happened; a peer that misses it sees the connection fail)."""
        try:
            await self.server.emit("peer-left", dump(event), room=event.meeting_id, ignore_queue=True)
        except Exception:  # noqa: BLE001
            log.exception("peer-left of %s in %s not sent", event.sid, event.meeting_id)

    async def _emit_peers_joined(self, entries: list[PeerEntry]) -> None:
        """``peer-joined`` to this replica's sockets in each entry's room (a snapshot brought it)."""
        for entry in entries:
            event = PeerJoinedEvent(
                meeting_id=entry.meeting_id, sid=entry.sid, user_id=entry.user_id, display_name=entry.display_name
            )
            await self.server.emit("peer-joined", dump(event), room=entry.meeting_id, ignore_queue=True)

    def _bus_changed(self, change: BusChange | None) -> None:
        """Log and count a change of the bus state (once per change)."""
        if change is None:
            return
        self._undelivered_logged = False
        if change.up:
            self._log_gate.reset()
        if change.up and not self._bus_ever_up:
            self._bus_ever_up = True
            log.info("fan-out bus up: own heartbeats read back %.1fs after start", change.after_s)
            return
        self._metrics.fanout_bus_changes.labels("back" if change.up else "lost").inc()
        if change.up:
            log.warning("fan-out bus back: own heartbeats read back again after %.1fs without", change.after_s)
        else:
            log.error(
                "fan-out bus lost: no heartbeat of this replica came back from Kafka for %.1fs; other "
                "replicas are not judged by their silence until it is back (up for %.1fs before)",
                self.liveness.bus_timeout_s,
                change.after_s,
            )

    async def judge(self) -> None:
        """Judge the bus, then drop every replica silent for the replica timeout while it was up
        (:class:`ReplicaLiveness`); run once per heartbeat interval."""
        self._bus_changed(self.liveness.check_bus())
        await self._expire_departed()
        if len(self._join_offsets) > len(self.directory):  # forget the offsets of entries gone
            held = self.directory.get
            self._join_offsets = {sid: at for sid, at in self._join_offsets.items() if held(sid) is not None}
        for replica, silent_s in self.liveness.silent():
            log.warning("replica %s silent for %.1fs while the bus is up: dropping its sockets", replica, silent_s)
            self.liveness.forget(replica)
            try:
                await self._drop_replica(replica, "silent")
            except Exception:  # noqa: BLE001
                log.exception("dropping replica %s failed", replica)

    async def _expire_departed(self) -> None:
        """The reporter expires the participants of a replica that left or went silent which did
        not resume within the window (and tries again a window later if that is not read back)."""
        now = self.liveness.now()
        for replica, (deadline, reason) in list(self._departed.items()):
            entries = self.directory.entries_of(replica)
            if not entries:
                del self._departed[replica]
            elif now >= deadline and self.reports_for(replica):
                self._departed[replica] = (now + self.resume_window_s, reason)
                try:
                    await self.announce_expire(replica, "replica_lost", entries)
                except Exception as exc:  # noqa: BLE001 - tried again next window
                    log.warning("expiring the participants of departed replica %s failed: %r", replica, exc)

    async def _heartbeat_loop(self) -> None:
        """Every ``heartbeat_s``: :meth:`judge`, then beat.

        The heartbeat's send is bounded by one interval, so a Kafka client that blocks (its
        buffer full while Kafka is away) never stops the judging.
        """
        while True:
            await self.judge()
            beat = DirectoryHeartbeat(
                host_id=self.host_id, replica_id=self.replica_id, sent_at=self.liveness.now(), link=self.link_address
            )
            try:
                await asyncio.wait_for(self._send(beat, ordered=False), self._heartbeat_s)
            except Exception as exc:  # noqa: BLE001 - keep beating; the bus state tells the outage
                log.debug("heartbeat not sent: %r", exc)
            await asyncio.sleep(self._heartbeat_s)


def _decode(value: bytes | None) -> dict[str, Any] | None:
    """A fan-out record as a dict with a string ``method``; None for anything else."""
    if not value:
        return None
    try:
        message = packet_json.loads(value)
    except ValueError:  # orjson.JSONDecodeError, bad UTF-8 included
        log.warning("non-JSON fan-out record skipped")
        return None
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        log.warning("fan-out record without a method skipped")
        return None
    return message


def _kind(method: object) -> str:
    if method in BASE_METHODS:
        return "emit" if method == "emit" else "other"
    if isinstance(method, str) and method.startswith(DIRECTORY_PREFIX):
        return "directory"
    if isinstance(method, str) and method.startswith(ROOM_PREFIX):
        return "room"
    return "other"
