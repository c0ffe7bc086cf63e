"""The replica link: relays straight from one signaling replica to another over TCP.

A relay (an emit to given sockets of another replica: :meth:`KafkaFanoutManager.emit_to_replica`)
crosses Kafka in two hops, producer to broker and broker to the reading replica: about 10 ms
at the 99th percentile on a loaded 2-core machine for the bare round trip
(bench/README.md, "Relay across replicas"). The link is one TCP connection from each replica to
each other replica it relays to; Kafka stays the directory's bus and the relays' fallback
(docs/signaling.md, "Replica link"). Ordering across the two paths is the fan-out's business
(:mod:`parley_signaling.fanout`); this module only carries frames.

Frames, both directions alike: a 4-byte big-endian length, then that many bytes of one JSON
object (:mod:`parley_signaling.packet_json`), at most :data:`MAX_FRAME_BYTES`. The first frame
on a connection is the dialer's hello, ``{"replica_id": str, "host_id": str}``; every later one
the dialer writes carries ``seq`` (an int, increasing across all of the dialer's links) and is
handed to the listener's ``on_frame(replica_id, host_id, frame)``. The listener answers
``{"ack": seq}`` for the frames it has handled, at most :data:`ACK_DELAY_S` after one arrives.
A connection that sends a malformed frame is closed.

A link can break while both replicas live on. The frames written to it and not acknowledged
are then *lost*: the dialer keeps them, in order, and calls ``on_lost(replica_id)``; the
caller takes them (:meth:`LinkDialer.take_lost`) and sends them another way, ahead of its next
relay to that replica. Some of them may have arrived: the receiver drops what it has had by
``seq`` (:mod:`parley_signaling.relay_order`).

Trust: the same as the fan-out topic's. Any process that reaches the port can hand frames to
the replica, as any process that reaches Kafka can write the topic: in Kubernetes a
NetworkPolicy admits only signaling pods to it (deploy/k8s/base/networkpolicies.yaml).
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from parley_signaling import packet_json

log = logging.getLogger(__name__)

#: Largest frame accepted, in bytes: above any relay signaling accepts from a client.
MAX_FRAME_BYTES = 4 * 1024 * 1024
#: Bytes buffered for the kernel on one connection before a send waits for them to go.
HIGH_WATER_BYTES = 1024 * 1024
#: Seconds a dial, the hello, a wait for the buffer to drain, or an acknowledgement may take.
TIMEOUT_S = 2.0
#: Seconds before a replica that could not be dialled is dialled again.
REDIAL_S = 1.0
#: Seconds from a frame's arrival to the acknowledgement that covers it (one per interval).
ACK_DELAY_S = 0.02
#: Frames written to one link and not acknowledged, at most; a link past it counts as broken.
MAX_UNACKED = 10_000

#: ``(replica_id, host_id, frame)`` of a frame read from a dialer.
OnFrame = Callable[[str, str, dict[str, Any]], Awaitable[None]]
#: ``replica_id`` of a link that broke with frames not acknowledged (see the module's docstring).
OnLost = Callable[[str], None]


class FrameError(Exception):
    """A frame too large, not JSON, or not a JSON object."""


def encode_frame(obj: dict[str, Any]) -> bytes:
    body = packet_json.encode(obj)
    return len(body).to_bytes(4, "big") + body


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The next frame's object. Raises :class:`FrameError`, or ``asyncio.IncompleteReadError``
    at the end of the stream."""
    size = int.from_bytes(await reader.readexactly(4), "big")
    if size > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {size} bytes (at most {MAX_FRAME_BYTES})")
    try:
        frame = packet_json.loads(await reader.readexactly(size))
    except ValueError as exc:
        raise FrameError("frame is not JSON") from exc
    if not isinstance(frame, dict):
        raise FrameError("frame is not a JSON object")
    return frame


class LinkServer:
    """Accepts other replicas' links on ``host:port`` (port 0: any free one) and hands their
    frames, in each connection's order, to ``on_frame``."""

    def __init__(self, host: str, port: int, on_frame: OnFrame) -> None:
        self._host = host
        self._port = port
        self._on_frame = on_frame
        self._server: asyncio.Server | None = None
        #: The open connections' tasks and their writers.
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self) -> str:
        """Listen; returns the address other replicas dial, ``host:port``."""
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        port = self._server.sockets[0].getsockname()[1]
        return f"{self._host}:{port}"

    async def stop(self) -> None:
        """Stop listening and close every connection (their frames read so far are handled)."""
        if self._server is not None:
            self._server.close()
            for writer in self._connections.values():
                writer.close()  # the connection's reader ends: no task is cancelled midway
            if self._connections:
                await asyncio.wait(list(self._connections), timeout=TIMEOUT_S)
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        peer = writer.get_extra_info("peername")
        acks = _Acks(writer)
        try:
            hello = await asyncio.wait_for(read_frame(reader), TIMEOUT_S)
            replica_id, host_id = hello.get("replica_id"), hello.get("host_id")
            if not isinstance(replica_id, str) or not isinstance(host_id, str):
                raise FrameError("hello without replica_id and host_id")
            log.info("replica link from %s (%s) open", replica_id, peer)
            while True:
                frame = await read_frame(reader)
                await self._on_frame(replica_id, host_id, frame)
                acks.handled(frame.get("seq"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the dialer went away
        except (FrameError, TimeoutError) as exc:
            log.warning("replica link from %s closed: %s", peer, exc or "no hello in time")
        finally:
            acks.cancel()
            self._connections.pop(task, None)
            writer.close()


class _Acks:
    """The listener's side of one connection: ``{"ack": seq}`` for the last frame handled, one
    write per :data:`ACK_DELAY_S` at most."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._last = -1
        self._due: asyncio.TimerHandle | None = None

    def handled(self, seq: Any) -> None:
        if type(seq) is not int:
            return
        self._last = max(self._last, seq)
        if self._due is None:
            self._due = asyncio.get_running_loop().call_later(ACK_DELAY_S, self._write)

    def _write(self) -> None:
        self._due = None
        if not self._writer.is_closing():
            self._writer.write(encode_frame({"ack": self._last}))

    def cancel(self) -> None:
        if self._due is not None:
            self._due.cancel()


class _Link:
    """One dialled connection to one replica's :class:`LinkServer`."""

    def __init__(self, replica_id: str, address: str) -> None:
        self.replica_id = replica_id
        self.address = address
        self.writer: asyncio.StreamWriter | None = None
        self.reading: asyncio.Task[None] | None = None
        self.dialing: asyncio.Task[None] | None = None
        self.next_dial = 0.0
        #: Frames written and not acknowledged yet, in ``seq`` order, with when they were written.
        self.unacked: deque[tuple[float, dict[str, Any]]] = deque()
        #: Frames of a connection that broke, not acknowledged, for :meth:`LinkDialer.take_lost`.
        self.lost: list[dict[str, Any]] = []

    def acknowledge(self, seq: int) -> None:
        unacked = self.unacked
        while unacked and unacked[0][1]["seq"] <= seq:
            unacked.popleft()

    def close(self) -> None:
        """Close on purpose: what is not acknowledged is dropped with it."""
        if self.dialing is not None:
            self.dialing.cancel()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.reading is not None:
            self.reading.cancel()
        self.unacked.clear()
        self.lost.clear()


class LinkDialer:
    """This replica's links to the others, dialled on first use. ``hello`` is the first frame
    on each. Until a link is open (or after it broke, until a new dial succeeds), :meth:`send`
    says False and the caller uses Kafka. ``on_lost(replica_id)``: a link broke with frames
    not acknowledged (see the module's docstring)."""

    def __init__(
        self, hello: dict[str, Any], on_lost: OnLost = lambda _: None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._hello = encode_frame(hello)
        self._links: dict[str, _Link] = {}
        self._on_lost = on_lost
        self._clock = clock
        self._seq = 0
        self._watch: asyncio.Task[None] | None = None

    def learn(self, replica_id: str, address: str | None) -> None:
        """``replica_id`` listens on ``address`` (None: it has no link); a changed address
        closes the old link."""
        link = self._links.get(replica_id)
        if link is not None and link.address == address:
            return
        self.forget(replica_id)
        if address is not None:
            self._links[replica_id] = _Link(replica_id, address)

    def forget(self, replica_id: str) -> None:
        """Close the link to ``replica_id`` (gone, or elsewhere now), lost frames and all."""
        link = self._links.pop(replica_id, None)
        if link is not None:
            link.close()

    def close(self) -> None:
        for replica_id in list(self._links):
            self.forget(replica_id)
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def knows(self, replica_id: str) -> bool:
        return replica_id in self._links

    def take_lost(self, replica_id: str) -> list[dict[str, Any]]:
        """The frames of ``replica_id``'s broken link that were not acknowledged, in the order
        they were sent (each with its ``seq``); the caller sends them now, another way."""
        link = self._links.get(replica_id)
        if link is None or not link.lost:
            return []
        lost, link.lost = link.lost, []
        return lost

    async def send(self, replica_id: str, frame: dict[str, Any]) -> bool:
        """Write ``frame`` (``seq`` is added to it) on the open link to ``replica_id``; False
        (nothing written) when there is none yet, which starts a dial when one is due. Waits
        while the link's buffer is over :data:`HIGH_WATER_BYTES`; a link that fails, stays full,
        has :data:`MAX_UNACKED` frames not acknowledged or one for :data:`TIMEOUT_S` is broken
        (its frames are lost)."""
        link = self._links.get(replica_id)
        if link is None:
            return False
        writer = link.writer
        if writer is not None and (writer.is_closing() or len(link.unacked) >= MAX_UNACKED):
            self._break(link, "closed" if writer.is_closing() else f"{MAX_UNACKED} frames not acknowledged")
            writer = None
        if writer is None:
            if link.dialing is None and self._clock() >= link.next_dial:
                link.dialing = asyncio.create_task(self._dial(link))
            return False
        self._seq += 1
        frame["seq"] = self._seq
        writer.write(encode_frame(frame))
        link.unacked.append((self._clock(), frame))
        if writer.transport.get_write_buffer_size() > HIGH_WATER_BYTES:
            try:
                await asyncio.wait_for(writer.drain(), TIMEOUT_S)
            except (TimeoutError, ConnectionError) as exc:
                if link.writer is writer:
                    self._break(link, repr(exc))
        return True

    def _break(self, link: _Link, reason: str) -> None:
        """The connection failed: its frames not acknowledged are lost (see the module's docstring)."""
        writer, link.writer = link.writer, None
        if writer is not None:
            writer.close()
        link.lost.extend(frame for _, frame in link.unacked)
        link.unacked.clear()
        log.warning(
            "replica link to %s (%s) broke: %s; %d frames not acknowledged",
            link.replica_id, link.address, reason, len(link.lost),
        )
        if link.lost:
            self._on_lost(link.replica_id)

    async def _dial(self, link: _Link) -> None:
        host, _, port = link.address.rpartition(":")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), TIMEOUT_S)
            writer.write(self._hello)
            link.writer = writer
            link.reading = asyncio.create_task(self._read_acks(link, reader, writer))
            if self._watch is None:
                self._watch = asyncio.create_task(self._watch_acks())
        except (OSError, TimeoutError, ValueError) as exc:
            link.next_dial = self._clock() + REDIAL_S
            log.warning("replica link to %s not open: %r; relays go through Kafka", link.address, exc)
        finally:
            link.dialing = None

    async def _read_acks(self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Apply the listener's acknowledgements; the end of the stream breaks the link."""
        reason = "closed by the other replica"
        try:
            while True:
                ack = (await read_frame(reader)).get("ack")
                if type(ack) is int:
                    link.acknowledge(ack)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except FrameError as exc:
            reason = str(exc)
        if link.writer is writer:  # not closed on purpose, nor broken by a send already
            self._break(link, reason)

    async def _watch_acks(self) -> None:
        """Break a link whose oldest frame waits for its acknowledgement over :data:`TIMEOUT_S`
        (the other replica stalled, or the network drops the connection's packets)."""
        while True:
            await asyncio.sleep(TIMEOUT_S / 2)
            now = self._clock()
            for link in list(self._links.values()):
                if link.writer is not None and link.unacked and now - link.unacked[0][0] > TIMEOUT_S:
                    self._break(link, f"no acknowledgement in {TIMEOUT_S:g} s")
