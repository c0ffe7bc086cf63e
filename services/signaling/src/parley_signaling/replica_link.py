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
is handed to the listener's ``on_frame(replica_id, host_id, frame)``. Only the dialer writes.
A connection that sends a malformed frame is closed.

Trust: the same as the fan-out topic's. Any process that reaches the port can hand frames to
the replica, as any process that reaches Kafka can write the topic: in Kubernetes a
NetworkPolicy admits only signaling pods to it (deploy/k8s/base/networkpolicies.yaml).
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from parley_signaling import packet_json

log = logging.getLogger(__name__)

#: Largest frame accepted, in bytes: above any relay signaling accepts from a client.
MAX_FRAME_BYTES = 4 * 1024 * 1024
#: Bytes buffered for the kernel on one connection before a send waits for them to go.
HIGH_WATER_BYTES = 1024 * 1024
#: Seconds a dial, the hello, or a wait for the buffer to drain may take.
TIMEOUT_S = 2.0
#: Seconds before a replica that could not be dialled is dialled again.
REDIAL_S = 1.0

#: ``(replica_id, host_id, frame)`` of a frame read from a dialer.
OnFrame = Callable[[str, str, dict[str, Any]], Awaitable[None]]


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
        try:
            hello = await asyncio.wait_for(read_frame(reader), TIMEOUT_S)
            replica_id, host_id = hello.get("replica_id"), hello.get("host_id")
            if not isinstance(replica_id, str) or not isinstance(host_id, str):
                raise FrameError("hello without replica_id and host_id")
            log.info("replica link from %s (%s) open", replica_id, peer)
            while True:
                await self._on_frame(replica_id, host_id, await read_frame(reader))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the dialer went away
        except (FrameError, TimeoutError) as exc:
            log.warning("replica link from %s closed: %s", peer, exc or "no hello in time")
        finally:
            self._connections.pop(task, None)
            writer.close()


class _Link:
    """One dialled connection to one replica's :class:`LinkServer`."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.writer: asyncio.StreamWriter | None = None
        self.dialing: asyncio.Task[None] | None = None
        self.next_dial = 0.0

    def close(self) -> None:
        if self.dialing is not None:
            self.dialing.cancel()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class LinkDialer:
    """This replica's links to the others, dialled on first use. ``hello`` is the first frame
    on each. Until a link is open (or after it broke, until a new dial succeeds), :meth:`send`
    says False and the caller uses Kafka."""

    def __init__(self, hello: dict[str, Any], clock: Callable[[], float] = time.monotonic) -> None:
        self._hello = encode_frame(hello)
        self._links: dict[str, _Link] = {}
        self._clock = clock

    def learn(self, replica_id: str, address: str | None) -> None:
        """``replica_id`` listens on ``address`` (None: it has no link); a changed address
        closes the old link."""
        link = self._links.get(replica_id)
        if link is not None and link.address == address:
            return
        self.forget(replica_id)
        if address is not None:
            self._links[replica_id] = _Link(address)

    def forget(self, replica_id: str) -> None:
        link = self._links.pop(replica_id, None)
        if link is not None:
            link.close()

    def close(self) -> None:
        for replica_id in list(self._links):
            self.forget(replica_id)

    def knows(self, replica_id: str) -> bool:
        return replica_id in self._links

    async def send(self, replica_id: str, frame: dict[str, Any]) -> bool:
        """Write ``frame`` on the open link to ``replica_id``; False (nothing written) when there
        is none yet, which starts a dial when one is due. Waits while the link's buffer is over
        :data:`HIGH_WATER_BYTES`; a link that fails or stays full is closed (False)."""
        link = self._links.get(replica_id)
        if link is None:
            return False
        writer = link.writer
        if writer is None or writer.is_closing():
            link.writer = None
            if link.dialing is None and self._clock() >= link.next_dial:
                link.dialing = asyncio.create_task(self._dial(link))
            return False
        writer.write(encode_frame(frame))
        if writer.transport.get_write_buffer_size() > HIGH_WATER_BYTES:
            try:
                await asyncio.wait_for(writer.drain(), TIMEOUT_S)
            except (TimeoutError, ConnectionError) as exc:
                log.warning("replica link to %s (%s) closed: %r", replica_id, link.address, exc)
                link.close()
        return True

    async def _dial(self, link: _Link) -> None:
        host, _, port = link.address.rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), TIMEOUT_S)
            writer.write(self._hello)
            link.writer = writer
        except (OSError, TimeoutError, ValueError) as exc:
            link.next_dial = self._clock() + REDIAL_S
            log.warning("replica link to %s not open: %r; relays go through Kafka", link.address, exc)
        finally:
            link.dialing = None

