"""Signaling's Engine.IO transport: python-engineio's ``AsyncServer`` with Parley's corrections.

python-socketio builds its Engine.IO server from ``_engineio_server_class()`` and hands it
every keyword argument it does not know itself, so :class:`SocketServer` (a
``socketio.AsyncServer``) swaps in :class:`EngineServer`, which changes six things
(docs/signaling.md, "Transport"; python-engineio 4.15.1 is the newest release):

* **Session ids name their replica.** ``sid_prefix`` (``PARLEY_SIGNALING_SID_PREFIX``, e.g.
  ``s1_``) starts every Engine.IO and socket.io session id this replica makes, so a proxy can
  send every long-polling request and WebSocket upgrade of a session to the replica that owns
  it from the ``sid`` query parameter alone (Traefik: ``QueryRegexp(`sid`, `^s1_`)``), for
  clients without a cookie jar too.
* **A session closed for a client error is let go at once.** python-engineio answers a
  long-polling POST that carries a packet a client may not send (``0``, ``2``, ``6``, …) or a
  body over ``maxPayload`` by closing the session with ``disconnect(sid)``, which waits until
  the client has fetched the CLOSE packet with a GET. A client that never sends that GET
  leaves the POST unanswered and the session, its queue and the request task in memory for
  ever. Here ``disconnect(sid)`` queues the CLOSE packet (a GET already waiting still gets it)
  and forgets the session without waiting, so the POST is answered 400 at once. Over
  WebSocket, the connection is closed once the CLOSE packet is written: python-engineio left
  it open, read by its task, until the client closed it or was silent for
  ``ping_interval + ping_timeout`` (45 s).
* **What waits for a client is bounded.** python-engineio queues every packet for a socket
  whose client does not read, without bound. Here a socket's queue holds at most
  ``max_queued_bytes`` (:class:`PacketQueue`), and a socket that would take more is dropped
  (:meth:`EngineServer.watch_queue`).
* **A long-polling POST is bounded by bytes only.** python-engineio refuses a POST of more
  than ``Payload.max_decode_packets`` (16) packets, answers it 200 and drops all of them; the
  official client batches every packet it has buffered into one POST (up to ``maxPayload``
  bytes), so a burst of 17 events lost 16. The cap is raised to ``max_http_buffer_size``
  (every packet takes at least one byte), so a POST is limited like a WebSocket message, by
  ``maxPayload`` bytes, and events over the rate limit get ``rate_limited`` as they do over
  WebSocket. ``Payload.max_decode_packets`` is process-wide (python-engineio has no per-server
  setting); it is only ever raised here.
* **Only one long-polling GET per session at a time, and no JSONP.** python-engineio let a
  second GET of a session wait beside the first (up to ``ping_interval + ping_timeout``, 45 s,
  then 400), each taking whichever packets came first. Here, as in the reference server
  (engine.io's "overlap from client"), an overlapping GET is answered 400 at once and closes
  the session; the GET that was waiting gets the CLOSE packet. A request with the JSONP
  parameter ``j`` (Engine.IO 3; version 4 has no JSONP) is answered 400 instead of a script
  (both written up for upstream in docs/upstream/python-engineio-long-polling.md).
* **A refused WebSocket handshake gets the same answer as a refused polling request.** Over
  ASGI, python-engineio refuses a WebSocket handshake by closing it before accepting, which
  the server turns into ``403`` with an empty body; here it is the same status and body as
  over long-polling (e.g. ``400 "<origin> is not an accepted origin."``), through the ASGI
  WebSocket Denial Response extension (uvicorn supports it; without it, the old behaviour).
  uvicorn 0.54 (``websockets-sansio``) then logs "ASGI callable returned without completing
  handshake." at ERROR although the response was sent; :class:`DeniedHandshakeFilter` drops
  exactly that record for the requests denied here, so a client cannot flood the log with it.

It also keeps no class object per request: python-engineio's ASGI ``translate_request``
declares its ``AwaitablePayload`` class inside the function, so every request (and every
WebSocket, for its whole life) held a class of its own, ~2.4 KiB (tracemalloc at 1,000
sockets); :func:`translate_request` swaps in :class:`RequestBody`, defined once. Both this and
the ping scheduler are written up for upstream in docs/upstream/python-engineio-per-socket-memory.md.

It also pings every socket from one task (:class:`PingScheduler`) instead of python-engineio's
task per socket, which sleeps ``ping_interval`` and then sends the PING: an asyncio task, its
coroutines, a timer and a future for every idle socket.

It also reads a WebSocket with less work per message (the protocol on the wire is unchanged;
see :class:`WebSocketTransport`): python-engineio's handler starts a new task for every
message it reads, to time it out; here the read is timed out in place, and so is the writer's
wait for the next packet (:func:`outgoing`; ``AsyncSocket.poll`` wraps it in a task). Writing
stays as python-engineio does it, through the socket's queue and one writer task per socket,
so that a client that does not read holds up only its own writer, never the task that emits
to it; the queue is a :class:`PacketQueue` (a :class:`~parley_signaling.lean_queue.LeanQueue`,
which holds no buffer while empty: :meth:`EngineServer.create_queue`). A packet queued while
the writer is idle (waiting for one, nothing queued) and the connection writable is written
at once by the task that queued it, through uvicorn's protocol
(:data:`~parley_signaling.websocket_protocol.SEND_TEXT_NOW`), instead of waking the writer
for it: the same bytes in the same order, without a pass of the event loop per packet.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

import engineio
import socketio
from engineio import exceptions, packet, payload
from engineio.async_drivers import asgi as asgi_driver
from engineio.async_drivers.asgi import WebSocket as EngineWebSocket
from engineio.async_socket import AsyncSocket

from parley_signaling.lean_queue import LeanQueue
from parley_signaling.silence_watch import SilenceWatch
from parley_signaling.websocket_protocol import ABORT, READ_NOW, SEND_TEXT_NOW, ReadNow

#: What a replica's ``sid_prefix`` may be: empty, or 1–16 letters and digits then ``_``
#: (ids are base64url, so no prefix can be mistaken for another's).
SID_PREFIX_PATTERN = r"^([A-Za-z0-9]{1,16}_)?$"

#: True in the task of a WebSocket request that :class:`EngineServer` refused with an HTTP answer
_denied_here: ContextVar[bool] = ContextVar("parley_websocket_denied", default=False)


class DeniedHandshakeFilter(logging.Filter):
    """Drops uvicorn's "returned without completing handshake" error for a WebSocket request
    that was refused with an HTTP answer (uvicorn logs it from the request's own task, after
    the app returned, so the context variable set by the refusal is visible)."""

    MESSAGE = "ASGI callable returned without completing handshake."

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_denied_here.get() and record.getMessage() == self.MESSAGE)


_FILTER = DeniedHandshakeFilter()


class RequestBody:
    """python-engineio's ``AwaitablePayload`` (the environ's ``wsgi.input``), defined once."""

    __slots__ = ("event", "payload", "_receive")

    def __init__(self, event: dict[str, Any], receive: Any) -> None:
        self.event = event
        self.payload: bytes | None = None
        self._receive = receive

    async def read(self, length: int | None = None) -> bytes:
        if self.payload is None and self.event["type"] == "http.request":
            self.payload = self.event.get("body") or b""
            while self.event.get("more_body"):
                self.event = await self._receive()
                if self.event["type"] == "http.request" and (length is None or len(self.payload) < length):
                    self.payload += self.event.get("body") or b""
        payload = self.payload or b""
        if length is None:
            self.payload = b""
            return payload
        self.payload = payload[length:]
        return payload[:length]


async def translate_request(scope: dict[str, Any], receive: Any, send: Any) -> dict[str, Any]:
    """python-engineio's ASGI ``translate_request`` (the WSGI-style environ of a request), with
    :class:`RequestBody` as ``wsgi.input``: the class python-engineio defined for this request
    is then garbage at once instead of living as long as the request (a WebSocket's life)."""
    environ = await asgi_driver.translate_request(scope, receive, send)
    body = environ.get("wsgi.input")
    if body is not None:
        environ["wsgi.input"] = RequestBody(body.event, receive)
    return environ


T = TypeVar("T")


class FifoTimer(Generic[T]):
    """Calls ``action(item)`` ``interval_s`` seconds after each :meth:`schedule` of ``item``,
    from one task for every item.

    Every item waits the same interval, so a FIFO is in due order: one task sleeps until the
    first is due, awaits its action, and so on; it ends once the FIFO is empty, and the next
    :meth:`schedule` starts another. An action that raises is logged, and the others go on.
    """

    def __init__(
        self, interval_s: float, action: Callable[[T], Awaitable[object]], logger: logging.Logger, name: str
    ) -> None:
        self._interval_s = interval_s
        self._action = action
        self._logger = logger
        self._name = name
        self._due: deque[tuple[float, T]] = deque()
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._due)

    def schedule(self, item: T) -> None:
        """Act on ``item`` in ``interval_s`` seconds."""
        loop = asyncio.get_running_loop()
        self._due.append((loop.time() + self._interval_s, item))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name=self._name)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._due:
            due, item = self._due[0]
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
                continue
            self._due.popleft()
            try:
                await self._action(item)
            except Exception:  # noqa: BLE001 - one item's failure must not stop the others
                self._logger.exception("%s: action failed", self._name)


class PingScheduler(FifoTimer[AsyncSocket]):
    """The Engine.IO PINGs of every socket of a server, from one task.

    python-engineio schedules a socket's next PING when it hears the previous PONG
    (``AsyncSocket.schedule_ping``) by starting a task that sleeps ``interval_s`` seconds and
    then sends it (``AsyncSocket._send_ping``). Here :meth:`schedule` appends the socket to a
    :class:`FifoTimer`, which sends what ``_send_ping`` sends when it is due (unless the
    socket is closing or closed meanwhile). A closed socket leaves the FIFO at its due time at
    the latest.
    """

    def __init__(self, interval_s: float, logger: logging.Logger) -> None:
        super().__init__(interval_s, self._ping, logger, "engineio-pings")

    async def _ping(self, socket: AsyncSocket) -> None:
        if socket.closing or socket.closed:
            return
        socket.last_ping = time.time()  # as AsyncSocket._send_ping
        try:
            await socket.send(packet.Packet(packet.PING))
        except Exception:  # noqa: BLE001 - logged with the socket's sid
            self._logger.exception("%s: PING not sent", socket.sid)


class EngineServer(engineio.AsyncServer):
    """python-engineio's ``AsyncServer`` with the corrections in this module's docstring."""

    def __init__(
        self,
        *args: Any,
        sid_prefix: str = "",
        max_queued_bytes: int = 0,
        on_slow_consumer: Callable[[], object] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sid_prefix = sid_prefix
        self.max_queued_bytes = max_queued_bytes
        self.on_slow_consumer = on_slow_consumer
        self._overflow_handler = self._slow_consumer  # one bound method for every queue
        uvicorn_errors = logging.getLogger("uvicorn.error")
        if _FILTER not in uvicorn_errors.filters:
            uvicorn_errors.addFilter(_FILTER)
        payload.Payload.max_decode_packets = max(payload.Payload.max_decode_packets, self.max_http_buffer_size)
        if self._async.get("websocket") is EngineWebSocket:  # the ASGI driver's: served here instead
            self._async = {**self._async, "websocket": WebSocketTransport, "translate_request": translate_request}
        self.pings = PingScheduler(self.ping_interval, self.logger)
        self._polling: set[str] = set()  # sessions with a long-polling GET waiting
        #: ``handle_now(socket, text)``: a MESSAGE packet (``4…``) read over WebSocket while the
        #: socket's reader waits for one, offered before the reader gets it; True when it was
        #: handled then and there (:func:`serve_websocket`; signaling's relays).
        self.handle_now: Callable[[AsyncSocket, str], bool] | None = None

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        """python-engineio's, except that a long-polling GET of a session that has one waiting
        already, or any request with the JSONP parameter ``j``, is answered 400 (the overlap
        also closes the session): this module's docstring. ``args`` are ASGI's
        ``(scope, receive, send)``."""
        scope = args[0] if args and isinstance(args[0], dict) else {}
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1")) if scope else {}
        if "j" in query:
            return await self._refuse(args, "JSONP is not supported (Engine.IO 4)", "jsonp")
        sid = query["sid"][0] if scope.get("type") == "http" and scope.get("method") == "GET" and "sid" in query else None
        if sid is None or sid not in self.sockets:
            return await super().handle_request(*args, **kwargs)
        if sid in self._polling:
            await self.disconnect(sid)
            return await self._refuse(args, "Overlapping long-polling GET: the session is closed", "overlap")
        self._polling.add(sid)
        try:
            return await super().handle_request(*args, **kwargs)
        finally:
            self._polling.discard(sid)

    async def _refuse(self, args: tuple[Any, ...], message: str, kind: str) -> Any:
        self._log_error_once(message, kind)
        environ = await self._async["translate_request"](*args)
        return await self._make_response(self._bad_request(message), environ)

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        """python-engineio's, except a socket's next PING (``AsyncSocket._send_ping``, the
        only task ``AsyncSocket.schedule_ping`` starts) goes to :attr:`pings`."""
        if getattr(target, "__func__", None) is AsyncSocket._send_ping and not args and not kwargs:
            self.pings.schedule(target.__self__)
            return None
        return super().start_background_task(target, *args, **kwargs)

    def generate_id(self) -> str:
        return self.sid_prefix + super().generate_id()

    def create_queue(self, *args: Any, **kwargs: Any) -> Any:
        """A socket's queue of packets to send (``BaseSocket.queue``, the only queue
        python-engineio makes): a :class:`PacketQueue`, empty most of a socket's life, instead
        of an ``asyncio.Queue``."""
        if args or kwargs:
            return super().create_queue(*args, **kwargs)
        return PacketQueue(self.max_queued_bytes, self._overflow_handler)

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        """python-engineio's; a new session's queue is watched first (:meth:`watch_queue`)."""
        if event == "connect" and args:
            self.watch_queue(args[0])
        return await super()._trigger_event(event, *args, **kwargs)

    def watch_queue(self, sid: str) -> None:
        """Close session ``sid`` once its queue overflows (:class:`PacketQueue`): a client that
        does not read (a slow consumer) is dropped instead of the replica holding every
        packet for it (socket.io's Node server has no such bound either). Over WebSocket the connection is
        aborted (its CLOSE packet could not be read either); a long-polling session is
        disconnected (its next request gets 400). The socket.io disconnect follows, as for any
        lost connection."""
        socket = self.sockets.get(sid)
        if socket is not None and isinstance(socket.queue, PacketQueue):
            socket.queue.sid = sid

    def _slow_consumer(self, sid: str) -> None:
        socket = self.sockets.get(sid)
        if socket is None:
            return
        message = f"{sid}: more than {self.max_queued_bytes} bytes wait for a client that does not read: closed"
        self._log_error_once(message, "slow-consumer")
        if self.on_slow_consumer is not None:
            self.on_slow_consumer()
        queue = socket.queue
        if isinstance(queue, PacketQueue) and queue.abort is not None:
            queue.abort()
        else:
            self.start_background_task(self.disconnect, sid)

    async def disconnect(self, sid: str | None = None) -> None:
        if sid is None:
            await super().disconnect()
            return
        socket = self.sockets.get(sid)
        if socket is not None:
            await socket.close(wait=False, reason=self.reason.SERVER_DISCONNECT)
            if socket.upgraded:  # WebSocket: the writer sends the CLOSE packet, then closes it
                await socket.queue.put(None)
        self.sockets.pop(sid, None)

    async def _make_response(self, response_dict: dict[str, Any], environ: dict[str, Any]) -> Any:
        scope = environ.get("asgi.scope") or {}
        refused = not str(response_dict["status"]).startswith("200 ")
        if scope.get("type") == "websocket" and refused and "websocket.http.response" in scope.get("extensions", {}):
            send = environ["asgi.send"]
            headers = [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in response_dict["headers"] + self._cors_headers(environ)
            ]
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": int(str(response_dict["status"]).split(" ", 1)[0]),
                    "headers": headers,
                }
            )
            await send({"type": "websocket.http.response.body", "body": response_dict["response"]})
            _denied_here.set(True)
            return None
        return await super()._make_response(response_dict, environ)


class PacketQueue(LeanQueue[packet.Packet | None]):
    """A socket's queue of packets to send, which writes a packet at once instead when it can,
    and holds at most ``limit`` bytes.

    While :attr:`send_text` is set (a WebSocket's writer is running: :func:`serve_websocket`),
    a packet put while the queue is empty and the writer waits in :meth:`get` is written by
    ``send_text`` (:meth:`~parley_signaling.websocket_protocol.WebSocketProtocol.send_text_now`)
    if it can be at once, and counted in :attr:`written`; otherwise it is queued as always.
    ``None`` (the writer's stop) is always queued.

    :attr:`queued` is the size of the packets waiting, counted in characters of their text
    (bytes, for the ASCII of Parley's JSON). A packet that takes it over ``limit`` (0: no
    limit) is dropped, and so is every later one: the client is not reading, and what it
    would get is no longer whole. ``on_overflow(sid)`` is called once, then, to close the
    socket, once :attr:`sid` is set (:meth:`EngineServer.watch_queue`; one handler for every
    queue of a server, not an object per socket)."""

    __slots__ = ("send_text", "abort", "written", "queued", "limit", "on_overflow", "overflowed", "sid")

    def __init__(self, limit: int = 0, on_overflow: Callable[[str], object] | None = None) -> None:
        super().__init__()
        self.send_text: Callable[[str], bool] | None = None
        self.abort: Callable[[], object] | None = None  # drops the WebSocket, while served
        self.written = 0
        self.queued = 0
        self.limit = limit
        self.on_overflow = on_overflow
        self.overflowed = False
        self.sid = ""

    def put_nowait(self, item: packet.Packet | None) -> None:
        if item is None:
            super().put_nowait(item)
            return
        if self.overflowed:
            return
        if self.send_text is not None and self._getters and not self._items:
            encoded = item.encode()
            if isinstance(encoded, str) and self.send_text(encoded):
                self.written += 1
                return
        size = _size(item)
        if self.limit and self.queued + size > self.limit:
            self.overflowed = True
            if self.on_overflow is not None and self.sid:
                self.on_overflow(self.sid)
            return
        self.queued += size
        super().put_nowait(item)

    def get_nowait(self) -> packet.Packet | None:
        item = super().get_nowait()
        if item is not None:
            self.queued -= _size(item)
        return item


def _size(pkt: packet.Packet) -> int:
    """A packet's size in :attr:`PacketQueue.queued`: its text's length (1 without data)."""
    data = pkt.data
    return len(data) + 1 if isinstance(data, (str, bytes)) else 1


class WebSocketTransport(EngineWebSocket):
    """python-engineio's ASGI WebSocket wrapper, serving the socket with :func:`serve_websocket`
    instead of ``AsyncSocket._websocket_handler`` (the handshake and ``send`` are unchanged)."""

    async def __call__(self, environ: dict[str, Any]) -> str:
        self.asgi_receive = environ["asgi.receive"]
        self.asgi_send = environ["asgi.send"]
        await self.asgi_send({"type": "websocket.accept"})
        extensions = environ["asgi.scope"].get("extensions", {})
        await serve_websocket(
            self.handler.__self__, self, extensions.get(SEND_TEXT_NOW), extensions.get(ABORT), extensions.get(READ_NOW)
        )
        return ""


async def serve_websocket(
    socket: AsyncSocket,
    ws: EngineWebSocket,
    send_text: Callable[[str], bool] | None = None,
    abort: Callable[[], object] | None = None,
    set_read_now: Callable[[ReadNow | None], None] | None = None,
) -> None:
    """Serve one Engine.IO socket over ``ws``: the upgrade handshake when the socket started on
    long-polling, then a writer task for the packets out and this task reading the packets in
    until the client goes (or sends CLOSE), is silent for ``ping_interval + ping_timeout``
    seconds, or sends what cannot be read: python-engineio 4.15's ``AsyncSocket._websocket_handler``, except
    that reads are timed out by one :class:`~parley_signaling.silence_watch.SilenceWatch`
    per socket, without a task of its own, and that while the writer is idle a
    packet is written at once with ``send_text`` (uvicorn's
    :data:`~parley_signaling.websocket_protocol.SEND_TEXT_NOW`; see :class:`PacketQueue`), and
    that a MESSAGE read while this task waits for one is first offered to the server's
    :attr:`EngineServer.handle_now` (through ``set_read_now``, uvicorn's
    :data:`~parley_signaling.websocket_protocol.READ_NOW`), which may handle it then and there:
    nothing of this socket is in progress, so it is handled in the order it came, as if this
    task had read it."""
    server = socket.server
    limit = server.max_http_buffer_size

    async def receive() -> Any:
        data = await ws.wait()
        if data and len(data) > limit:
            raise ValueError("packet is too large")
        return data

    if socket.connected:  # started on long-polling: this is an upgrade
        socket.upgrading = True  # packets sent meanwhile wait in the queue
        try:
            probe = packet.Packet(encoded_packet=await receive())
        except (OSError, ValueError):
            socket.upgrading = False
            return
        if probe.packet_type != packet.PING or probe.data != "probe":
            server.logger.info("%s: Failed websocket upgrade, no PING packet", socket.sid)
            socket.upgrading = False
            return
        await ws.send(packet.Packet(packet.PONG, data="probe").encode())
        await socket.queue.put(packet.Packet(packet.NOOP))  # ends the pending poll
        try:
            upgrade = packet.Packet(encoded_packet=await receive())
        except (OSError, ValueError):
            socket.upgrading = False
            return
        if upgrade.packet_type != packet.UPGRADE:
            server.logger.info("%s: Failed websocket upgrade, expected UPGRADE packet", socket.sid)
            socket.upgrading = False
            return
        socket.upgraded = True
        socket.upgrading = False
    else:
        socket.connected = True
        socket.upgraded = True

    async def writer() -> None:  # python-engineio's writer: the queue's packets, in order
        while True:
            packets = await outgoing(socket)
            if not packets:  # None in the queue: the connection is closing, or silent too long
                break
            try:
                for pkt in packets:
                    await ws.send(pkt.encode())
            except Exception:  # noqa: BLE001 - the connection is gone; the reader sees it too
                break
        await ws.close()

    writer_task = asyncio.ensure_future(writer())
    queue = socket.queue
    if isinstance(queue, PacketQueue):
        queue.send_text, queue.abort = send_text, abort
    silence = SilenceWatch(server.ping_interval + server.ping_timeout)
    handle_now = server.handle_now
    if set_read_now is not None and handle_now is not None:

        def read_now(data: bytes) -> bool:  # a message read while this task waits for one
            if not data.startswith(b"4") or len(data) > limit:  # MESSAGE packets only
                return False
            try:
                text = data.decode()
            except UnicodeDecodeError:
                return False
            if not handle_now(socket, text):
                return False
            silence.heard()
            return True

        set_read_now(read_now)
    try:
        while True:
            try:
                data = await silence.read(receive)
            except (Exception, asyncio.CancelledError):  # noqa: BLE001 - silence, disconnect, too
                break  # large, or the server stopping: the session ends (python-engineio does the same)
            if data is None:
                break
            try:
                await socket.receive(packet.Packet(encoded_packet=data))
            except exceptions.UnknownPacketError:
                pass
            except exceptions.SocketIsClosedError:
                break
            except Exception:  # noqa: BLE001 - as python-engineio: log, keep the connection
                server.logger.exception("Unknown receive error")
            if socket.closed:  # the client's CLOSE: the connection ends now, not at the silence timeout
                break
    finally:
        silence.close()
        if set_read_now is not None:
            set_read_now(None)
    if isinstance(queue, PacketQueue):
        queue.send_text = queue.abort = None  # what is sent from now on goes through the writer, until its end
    await socket.queue.put(None)  # lets the writer finish
    await writer_task
    await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)


async def outgoing(socket: AsyncSocket) -> list[packet.Packet]:
    """The packets waiting in ``socket``'s queue, waiting ``ping_interval + ping_timeout``
    seconds for the first; ``[]`` when that time passed or the queue says the connection is
    closing (``None``): ``AsyncSocket.poll``, except that the wait is timed out in place, not
    by ``asyncio.wait_for``'s task around the queue's ``get`` (a task per idle socket)."""
    queue = socket.queue
    server = socket.server
    while True:
        written = getattr(queue, "written", 0)
        try:
            async with asyncio.timeout(server.ping_interval + server.ping_timeout):
                first = await queue.get()
            break
        except TimeoutError:
            if getattr(queue, "written", 0) == written:
                return []
            # packets went out meanwhile without the writer (PacketQueue): not silent
    queue.task_done()
    if first is None:
        return []
    packets = [first]
    while not queue.empty():
        pkt = queue.get_nowait()
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)  # the close stays queued for the next call, as in poll()
            break
        packets.append(pkt)
    return packets


#: What a connection's environ keeps once its socket.io ``connect`` is answered: what a
#: ``connect`` handler reads (the origin) and what says who and where the client is.
KEPT_ENVIRON = frozenset({"HTTP_ORIGIN", "REMOTE_ADDR", "REMOTE_PORT", "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING"})


class SocketServer(socketio.AsyncServer):
    """``socketio.AsyncServer`` on :class:`EngineServer` (``sid_prefix`` is passed through),
    which trims a connection's environ once its ``connect`` is answered.

    python-socketio keeps the environ of the request that opened the Engine.IO session for the
    session's whole life (``self.environ``; the WebSocket's request task holds it too): every
    request header as a string and the ASGI scope, ~1–2 KiB per socket, read by nothing after
    the ``connect`` handler. It is trimmed in place to :data:`KEPT_ENVIRON`, so a later
    ``connect`` to another namespace still sees the origin."""

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return EngineServer

    async def _handle_connect(self, eio_sid: str, namespace: str, data: Any) -> None:
        await super()._handle_connect(eio_sid, namespace, data)
        environ = self.environ.get(eio_sid)
        if environ is not None:
            for key in [key for key in environ if key not in KEPT_ENVIRON]:
                del environ[key]
