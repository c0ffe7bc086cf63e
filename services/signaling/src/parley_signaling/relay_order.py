"""One sender's order across the fan-out topic and the replica link (docs/signaling.md,
"Replica link").

A replica writes to Kafka (the fan-out's shared partition and the other replicas' inboxes) and
to its links. A reader must see one sender's messages in the order it sent them, whichever
path each took:

* **Sender.** A relay takes the link once Kafka has acknowledged every *ordered* message this
  replica sent before it (every message but a heartbeat), waiting :data:`ACK_WAIT_S` for
  that at most; it carries ``after``: the offsets of this replica's last acknowledged messages
  in the shared partition and in the receiver's inbox (-1: none).
* **Receiver.** A link relay is emitted once this replica has handled its own records up to
  ``after`` in both partitions; until then it is held, and the same sender's later link
  relays behind it.
* **A broken link.** The relays written to it and not acknowledged go through Kafka ahead of
  the sender's next relay to that replica (:meth:`LinkDialer.take_lost
  <parley_signaling.replica_link.LinkDialer.take_lost>`), with their link ``seq`` as
  ``link_seq``. The receiver takes each ``seq`` of a sending process once, by whichever path
  comes first, and after the relays of that sender it holds (:meth:`~RelayOrder.handle_now`).

:class:`RelayOrder` keeps both sides' offsets for the fan-out manager
(:mod:`parley_signaling.fanout`), which feeds it: the acknowledgements of its sends
(:meth:`~RelayOrder.acknowledged`), the records its listener handled
(:meth:`~RelayOrder.handled`), the frames its link server reads (:meth:`~RelayOrder.on_frame`).
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from parley_signaling.metrics import SignalingMetrics

log = logging.getLogger(__name__)

#: Seconds a relay to another replica waits for Kafka to acknowledge this replica's messages
#: sent before it, so that it can take the replica link; then it takes Kafka behind them.
ACK_WAIT_S = 0.05
#: The fan-out's partition every replica reads (``parley_signaling.fanout.SHARED_PARTITION``).
SHARED_PARTITION = 0

#: python-socketio's handling of an ``emit`` message (``AsyncPubSubManager._handle_emit``).
HandleEmit = Callable[[dict[str, Any]], Awaitable[None]]


class RelayOrder:
    """The offsets and held relays that keep one sender's order (see the module's docstring)."""

    def __init__(self, handle_emit: HandleEmit, metrics: SignalingMetrics) -> None:
        self._handle_emit = handle_emit
        self._metrics = metrics
        # sender
        self._in_flight = 0
        self._settled = asyncio.Event()
        self._settled.set()
        #: By partition: the offset of this replica's last acknowledged ordered send there.
        self._acked: dict[int, int] = {}
        # receiver
        self._inbox = SHARED_PARTITION
        #: By partition: the offset of the last record this replica has handled there.
        self._handled: dict[int, int] = {}
        #: By sending host: link relays waiting for their records, in arrival order.
        self._held: dict[str, deque[tuple[int, int, dict[str, Any]]]] = {}
        #: By sending host: the highest link ``seq`` taken from it, by either path (one int
        #: per sending process since this one started).
        self._taken: dict[str, int] = {}

    # --- sender ---------------------------------------------------------------------------

    def sending(self, count: int) -> None:
        """``count`` ordered sends begin (negative: that many will never be acknowledged)."""
        self._in_flight += count
        if self._in_flight:
            self._settled.clear()
        else:
            self._settled.set()

    def acknowledged(self, delivery: "asyncio.Future[Any]") -> None:
        """An ordered send's delivery future is done (aiokafka's ``RecordMetadata`` on success)."""
        self.sending(-1)
        if not delivery.cancelled() and delivery.exception() is None:
            metadata = delivery.result()
            if metadata is not None:
                self._acked[metadata.partition] = max(self._acked.get(metadata.partition, -1), metadata.offset)

    async def settled(self) -> bool:
        """Whether Kafka has acknowledged every ordered send so far, waiting :data:`ACK_WAIT_S`."""
        if self._settled.is_set():
            return True
        try:
            await asyncio.wait_for(self._settled.wait(), ACK_WAIT_S)
        except TimeoutError:
            return False
        return True

    def after(self, inbox: int) -> tuple[int, int]:
        """``after`` of a link relay to the replica whose inbox is partition ``inbox``."""
        return self._acked.get(SHARED_PARTITION, -1), self._acked.get(inbox, -1)

    # --- receiver -------------------------------------------------------------------------

    def start(self, inbox: int, handled: dict[int, int]) -> None:
        """This replica's inbox partition, and the offsets before the first record it reads."""
        self._inbox = inbox
        self._handled = dict(handled)

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def handled(self, partition: int, offset: int) -> None:
        self._handled[partition] = offset

    async def on_frame(self, replica_id: str, host_id: str, frame: dict[str, Any]) -> None:
        """A relay ``{seq, after, event, data, room}`` from ``replica_id`` (process ``host_id``)
        over the link: emitted to this replica's sockets now, or held (see the module's
        docstring); skipped as a ``duplicate`` when its resent copy came first. A frame without
        those fields is counted as ``malformed`` and skipped."""
        seq, after, event, room = frame.get("seq"), frame.get("after"), frame.get("event"), frame.get("room")
        if not (
            type(seq) is int
            and isinstance(after, list)
            and len(after) == 2
            and all(type(offset) is int for offset in after)
            and isinstance(event, str)
            and (isinstance(room, str) or (isinstance(room, list) and all(isinstance(sid, str) for sid in room)))
        ):
            self._metrics.link_relays.labels("malformed").inc()
            log.warning("malformed relay from replica %s over the link skipped", replica_id)
            return
        if not self._take(host_id, seq):
            return
        message = {"method": "emit", "event": event, "data": [frame.get("data")], "namespace": "/", "room": room}
        self._metrics.link_relays.labels("received").inc()
        held = self._held.get(host_id)
        if held is None and self._has_handled(after[0], after[1]):
            await self._emit(message)
            return
        self._metrics.link_relays.labels("held").inc()
        self._held.setdefault(host_id, deque()).append((after[0], after[1], message))

    def handle_now(self, message: dict[str, Any]) -> bool:
        """Whether the listener hands an ``emit`` message read from Kafka to python-socketio
        now. False for a link relay sent again (``link_seq``) whose copy over the link came
        first (skipped), and for one whose sender has link relays held here: it waits behind
        them and :meth:`release` emits it."""
        seq = message.get("link_seq")
        if seq is None:
            return True
        host_id = message.get("host_id")
        if type(seq) is not int or not isinstance(host_id, str):
            self._metrics.link_relays.labels("malformed").inc()
            return False
        if not self._take(host_id, seq):
            return False
        held = self._held.get(host_id)
        if held:
            self._metrics.link_relays.labels("held").inc()
            held.append((-1, -1, message))
            return False
        return True

    def _take(self, host_id: str, seq: int) -> bool:
        """Take ``seq`` from ``host_id`` unless a copy of it (or of a later one) came first."""
        if seq <= self._taken.get(host_id, -1):
            self._metrics.link_relays.labels("duplicate").inc()
            return False
        self._taken[host_id] = seq
        return True

    async def release(self) -> None:
        """Emit the held link relays whose records are handled now, each sender's in order."""
        for host_id, held in list(self._held.items()):
            while held and self._has_handled(held[0][0], held[0][1]):
                _, _, message = held.popleft()
                await self._emit(message)
            if not held:
                del self._held[host_id]

    def _has_handled(self, shared: int, inbox: int) -> bool:
        handled = self._handled
        return handled.get(SHARED_PARTITION, -1) >= shared and handled.get(self._inbox, -1) >= inbox

    async def _emit(self, message: dict[str, Any]) -> None:
        try:
            await self._handle_emit(message)
        except Exception:  # noqa: BLE001 - neither the link nor the listener may stop for it
            log.exception("relay %s over the replica link failed", message["event"])
