"""python-socketio and python-engineio, narrowed to what a Parley client may send.

- :class:`SignalingServer`: python-socketio looks a client EVENT's handler up by the name the
  client wrote in it, so ``42["connect", {}, {"token": …}]`` ran the connect handler,
  ``42["disconnect"]`` the disconnect handler, and ``42["*", "<sid>"]`` reached the
  catch-all with ``"<sid>"`` in place of the sender's sid. Here every EVENT goes to one
  function, :attr:`SignalingServer.client_event`, with the sid of the socket that sent it;
  the connect and disconnect handlers run only for real CONNECT and DISCONNECT packets.
- :class:`SignalingASGIApp` and :class:`WebSocketGuard`: python-engineio measures a WebSocket
  text message in characters (``len(str)``), not bytes, and lets an undecodable message
  raise out of its receive loop. The guard refuses both before Engine.IO sees them.
- :class:`SignalingServer` also closes an Engine.IO session that is not connected to the
  namespace ``/`` ``connect_timeout_s`` seconds after it opened (socket.io's
  ``connectTimeout``; python-socketio has none): a client that never sends a CONNECT, or
  whose CONNECT was refused, kept its session, unauthenticated, for as long as it answered
  the PINGs. A DISCONNECT, the client's or the server's, starts the same deadline again.
- Loggers: python-engineio and python-socketio, given ``logger=False``, add their own stderr
  handler to loggers that also propagate to the root logger (every line printed twice), and
  engineio logs a client's undecodable polling payload with a traceback. They get loggers of
  ours instead (no extra handler), and those client errors become rejected inputs.
- :class:`SignalingServer` handles an EVENT to ``/`` read over WebSocket while nothing else
  of its socket is in progress as it is read, when :attr:`SignalingServer.client_event_now`
  can (signaling's relays to a socket of this replica): no task switch, no pass through
  python-engineio's and python-socketio's packet layers; the acknowledgement is written at
  once (:mod:`parley_signaling.transport`, ``EngineServer.handle_now``).

Every refusal is counted and logged briefly by :class:`~parley_signaling.rejections.Rejections`.
Packets' JSON is :mod:`parley_signaling.packet_json` (orjson) unless the server is given another,
and their class :class:`JsonPacket` (no binary attachments).

:class:`SignalingServer` overrides two private methods of python-socketio's AsyncServer
(``_handle_eio_message``, ``_handle_event``; as of 5.18), and its handling at once writes the
packets ``_send_packet`` and ``emit`` would (``AsyncSocket.send``'s checks, then the socket's
queue): an upgrade that changes them fails
tests/test_signaling_hostile.py, which sends the raw frames.
"""

import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from prometheus_client import Counter
from socketio import packet
from starlette.types import Message, Receive, Scope, Send

from parley_signaling import packet_json
from parley_signaling.domain.protocol import ConnectErrorCode, ErrorCode, ack_error
from parley_signaling.rejections import Reason, Rejections
from parley_signaling.transport import FifoTimer, SocketServer

log = logging.getLogger(__name__)

#: ``client_event(sid, data)``: ``data`` is the EVENT packet's JSON as sent (``[name, *args]``
#: when well formed); returns the acknowledgement's single argument.
ClientEvent = Callable[[str, Any], Awaitable[Any]]
#: ``client_event_now(sid, data)``: as :data:`ClientEvent`, for an event it can handle at once
#: (nothing awaited); None, with nothing done, for any other event.
ClientEventNow = Callable[[str, Any], Any]

#: socket.io packet types a client may send: CONNECT, DISCONNECT, EVENT. Never ACK (the server
#: asks no client for one), CONNECT_ERROR, or binary packets (the protocol has no binary).
_CLIENT_PACKETS = ("0", "1", "2")
#: socket.io's BINARY_EVENT: refused, with an acknowledgement when it asks for one.
_BINARY_EVENT = "5"
#: an EVENT's head (socket.io protocol v5: ``2[/nsp,][id][...]``): its namespace and acknowledgement id
_EVENT_HEAD = re.compile(r"2(?:(/[^,]{0,200}),)?(\d{1,15})\[")
#: an Engine.IO MESSAGE holding an EVENT to ``/`` (``42[id][...]``): its acknowledgement id, if any
_EVENT_NOW_HEAD = re.compile(r"42(\d{0,15})\[")
#: Engine.IO packet types (the first character of a WebSocket text message).
_ENGINEIO_PACKETS = "0123456"
#: WebSocket close codes (RFC 6455 §7.4.1).
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_TOO_BIG = 1009


class JsonPacket(packet.Packet):
    """A socket.io packet whose data is never checked for binary attachments.

    Parley's payloads are JSON only (docs/signaling.md, "Transport"), but python-socketio's
    ``Packet`` walks every packet's data for ``bytes`` when it is built
    (``Packet.data_is_binary``, recursively, through every list and dict): ~4 % of a replica's
    busy time at 1,000 relayed messages/s (py-spy), for an answer that is always no. Data that
    does hold bytes fails to encode (``TypeError`` from the JSON encoder) instead of going out
    as a binary event.
    """

    uses_binary_events = False


class SignalingServer(SocketServer):
    """``socketio.AsyncServer`` (on :mod:`parley_signaling.transport`'s Engine.IO server) whose
    client events all go to :attr:`client_event`.

    ``client_event`` must be set before the server serves. Packets a client may not send and
    undecodable ones are refused (``malformed``), events of a socket that is not connected
    (``not_connected``); neither is answered.
    """

    def __init__(
        self,
        *,
        rejections: Rejections,
        connect_timeout_s: float = 45.0,
        unconnected_closed: Counter | None = None,
        **kwargs: Any,
    ) -> None:
        socketio_logger = logging.getLogger("parley_signaling.socketio")
        engineio_logger = logging.getLogger("parley_signaling.engineio")
        for logger in (socketio_logger, engineio_logger):
            logger.setLevel(logging.ERROR)  # what they log with logger=False, minus the extra handler
        kwargs.setdefault("json", packet_json)
        kwargs.setdefault("serializer", JsonPacket)
        super().__init__(logger=socketio_logger, engineio_logger=_EngineIOLogger(engineio_logger, rejections), **kwargs)
        self.rejections = rejections
        self.client_event: ClientEvent | None = None
        self.client_event_now: ClientEventNow | None = None
        self.eio.handle_now = self._handle_now
        self.connect_deadlines = FifoTimer(connect_timeout_s, self._close_if_unconnected, log, "connect-deadlines")
        self._unconnected_closed = unconnected_closed

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> None:
        await super()._handle_eio_connect(eio_sid, environ)
        self.connect_deadlines.schedule(eio_sid)

    async def _handle_disconnect(self, eio_sid: str, namespace: str | None, reason: Any = None) -> None:
        await super()._handle_disconnect(eio_sid, namespace, reason)
        if eio_sid in self.eio.sockets:  # the client's DISCONNECT: left with no connection, as if new
            self.connect_deadlines.schedule(eio_sid)

    async def disconnect(self, sid: str, namespace: str | None = None, ignore_queue: bool = False) -> None:
        """python-socketio's: sends the socket.io DISCONNECT, and leaves the Engine.IO session
        open for its client to close; a client that does not is closed at its deadline."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace or "/")
        await super().disconnect(sid, namespace=namespace, ignore_queue=ignore_queue)
        if eio_sid is not None and eio_sid in self.eio.sockets:
            self.connect_deadlines.schedule(eio_sid)

    async def _close_if_unconnected(self, eio_sid: str) -> None:
        """Close Engine.IO session ``eio_sid`` unless it is connected to ``/`` (its deadline:
        ``connect_timeout_s`` after it opened, or after its client's DISCONNECT)."""
        if eio_sid not in self.eio.sockets or self._connected_sid(eio_sid, "/") is not None:
            return
        await self.eio.disconnect(eio_sid)
        if self._unconnected_closed is not None:
            self._unconnected_closed.inc()
        if self.rejections.may_log(eio_sid):
            log.info("closed Engine.IO session %s: no socket.io connection in time", eio_sid)

    async def _handle_eio_message(self, eio_sid: str, data: str | bytes) -> None:
        if not isinstance(data, str) or data[:1] not in _CLIENT_PACKETS:
            self.rejections.reject("malformed", self._connection(eio_sid), f"socket.io packet {data[:40]!r}")
            if isinstance(data, str) and data[:1] == _BINARY_EVENT:
                await self._refuse_binary_event(eio_sid, data)
            return
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, RecursionError) as exc:  # not JSON, a bad namespace or id, nested too deep
            detail = f"socket.io packet: {type(exc).__name__}: {exc}"
            self.rejections.reject("malformed", self._connection(eio_sid), detail)
            await self._refuse_undecodable_event(eio_sid, data)

    async def _refuse_undecodable_event(self, eio_sid: str, data: str) -> None:
        """An EVENT whose JSON the server does not take (not JSON; or JSON that orjson refuses:
        a lone surrogate escape such as ``"\\ud800"``, nesting deeper than 1,024,
        :mod:`parley_signaling.packet_json`) and that asks for an acknowledgement gets
        ``invalid_payload``, so the client is not left waiting; without one it is dropped."""
        head = _EVENT_HEAD.match(data)
        if head is not None:
            message = (
                "the event is not JSON this server takes (text must be valid Unicode: no lone surrogate; "
                "at most 1,024 levels deep)"
            )
            await self._refuse_event(eio_sid, head.group(1) or "/", int(head.group(2)), message)

    async def _refuse_event(self, eio_sid: str, namespace: str, ack_id: int, message: str) -> None:
        """Answer acknowledgement ``ack_id`` with ``invalid_payload`` (``message``), if the
        socket is connected to ``namespace``; an event of another namespace is dropped."""
        if self._connected_sid(eio_sid, namespace) is None:
            return
        ack = ack_error(ErrorCode.INVALID_PAYLOAD, message)
        await self._send_packet(eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=ack_id, data=[ack]))

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        """One CONNECT to ``/`` per Engine.IO session. A CONNECT to another namespace, or a second
        one, gets the documented CONNECT_ERROR (``{"message", "data": {"code", "message"}}``,
        ``invalid_namespace`` or ``already_connected``; python-socketio's own is the bare
        string "Unable to connect"), and changes nothing."""
        namespace = namespace or "/"
        if namespace != "/":
            code, message = ConnectErrorCode.INVALID_NAMESPACE, "Parley serves the namespace '/' only"
        elif self.manager.sid_from_eio_sid(eio_sid, "/") is not None:
            code, message = ConnectErrorCode.ALREADY_CONNECTED, "this connection is connected already"
        else:
            await super()._handle_connect(eio_sid, namespace, data)
            return
        self.rejections.reject("malformed", self._connection(eio_sid), f"CONNECT to {namespace[:40]!r}: {code.value}")
        refusal = {"message": message, "data": {"code": code.value, "message": message}}
        await self._send_packet(eio_sid, self.packet_class(packet.CONNECT_ERROR, data=refusal, namespace=namespace))

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        namespace = namespace or "/"
        sid = self._connected_sid(eio_sid, namespace)
        if sid is None:
            detail = f"event for namespace {namespace[:40]!r}"
            self.rejections.reject("not_connected", self._connection(eio_sid), detail)
            return
        assert self.client_event is not None, "SignalingServer.client_event is not set"
        ack = await self.client_event(sid, data)
        if id is not None:
            await self._send_packet(eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=id, data=[ack]))

    def _handle_now(self, eio_socket: AsyncSocket, text: str) -> bool:
        """A WebSocket message read while its socket's reader waits (nothing of that socket is
        in progress): an EVENT to ``/`` that :attr:`client_event_now` handles at once is
        handled, and its acknowledgement written, here; True then. False, with nothing done,
        for any other message, which takes python-socketio's way."""
        handle = self.client_event_now
        head = _EVENT_NOW_HEAD.match(text)
        if handle is None or head is None or not self.sendable_now(eio_socket):
            return False
        try:
            data = packet_json.loads(text[head.end() - 1 :])
        except ValueError:
            return False
        sid = self._connected_sid(eio_socket.sid, "/")
        if sid is None:
            return False
        ack = handle(sid, data)
        if ack is None:
            return False
        if head.group(1):
            self._send_now(eio_socket, self.packet_class(packet.ACK, namespace="/", id=int(head.group(1)), data=[ack]))
        return True

    def sendable_now(self, eio_socket: AsyncSocket) -> bool:
        """Would python-engineio's ``AsyncSocket.send`` queue a packet for ``eio_socket`` without
        waiting (it is open, and not past its PONG's deadline, which ``send`` closes first)?"""
        if eio_socket.closed:
            return False
        last_ping = eio_socket.last_ping
        return not (last_ping and time.time() - last_ping > self.eio.ping_timeout)

    def socket_now(self, sid: str) -> AsyncSocket | None:
        """The Engine.IO socket of this replica's socket ``sid`` when a packet can be queued for
        it at once (:meth:`sendable_now`), else None."""
        eio_sid = self.manager.eio_sid_from_sid(sid, "/")
        eio_socket = self.eio.sockets.get(eio_sid) if eio_sid is not None else None
        return eio_socket if eio_socket is not None and self.sendable_now(eio_socket) else None

    def emit_now(self, eio_socket: AsyncSocket, event: str, data: dict[str, Any]) -> None:
        """``emit(event, data)`` to the socket of ``eio_socket`` (from :meth:`socket_now`), at once."""
        self._send_now(eio_socket, self.packet_class(packet.EVENT, namespace="/", data=[event, data]))

    def _send_now(self, eio_socket: AsyncSocket, pkt: packet.Packet) -> None:
        """python-socketio's ``_send_packet`` without waiting: ``pkt`` (JSON, one Engine.IO
        MESSAGE) into the queue of ``eio_socket``, which :meth:`sendable_now` has passed."""
        eio_socket.queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, pkt.encode()))

    async def _refuse_binary_event(self, eio_sid: str, data: str) -> None:
        """A BINARY_EVENT (``5<n>-[/nsp,][id][...]``, socket.io protocol v5) that asks for an
        acknowledgement gets ``invalid_payload``: the protocol is JSON only. Its attachments,
        binary messages, are dropped as they come."""
        try:
            binary = self.packet_class(encoded_packet=data)
        except (ValueError, RecursionError):
            return
        if binary.id is not None:
            message = "binary attachments are not accepted: events are JSON only"
            await self._refuse_event(eio_sid, binary.namespace or "/", binary.id, message)

    def still_open(self, sid: str, namespace: str = "/") -> bool:
        """Is the Engine.IO session of socket ``sid`` (connected or connecting) still open?
        While a connect handler awaits, its client may close: python-socketio then skips the
        disconnect handler (the socket is not connected yet) but connects it afterwards."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        socket = self.eio.sockets.get(eio_sid) if eio_sid is not None else None
        return socket is not None and not socket.closing and not socket.closed

    def _connected_sid(self, eio_sid: str, namespace: str) -> str | None:
        """The socket's sid in ``namespace`` when it is connected there, else None."""
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        return sid if sid is not None and self.manager.is_connected(sid, namespace) else None

    def _connection(self, eio_sid: str) -> str:
        """The socket's sid once connected (what the event handlers know it by), else the
        Engine.IO session's."""
        return self.manager.sid_from_eio_sid(eio_sid, "/") or eio_sid


class SignalingASGIApp(socketio.ASGIApp):
    """``socketio.ASGIApp`` whose WebSocket connections pass through a :class:`WebSocketGuard`."""

    def __init__(self, sio: SignalingServer, *, max_message_bytes: int, **kwargs: Any) -> None:
        super().__init__(sio, **kwargs)
        self.guard = WebSocketGuard(max_message_bytes, sio.rejections)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            receive, send = self.guard.wrap(scope, receive, send)
        await super().__call__(scope, receive, send)


class WebSocketGuard:
    """Checks each WebSocket message of a connection before Engine.IO reads it.

    A message larger than ``max_bytes`` (text counted in UTF-8 bytes) closes the connection
    with 1009 (``too_large``); a text message that is no Engine.IO packet (empty, or not
    starting with a packet type 0–6) with 1002 (``malformed``). Engine.IO then reads a
    disconnect. The server in front should stop reading a larger message before this sees
    it (uvicorn's ``--ws-max-size``, the same number of bytes): it then closes with 1009
    itself, and the disconnect it reports is counted as ``too_large`` here.
    """

    def __init__(self, max_bytes: int, rejections: Rejections) -> None:
        self._max_bytes = max_bytes
        self._rejections = rejections

    def wrap(self, scope: Scope, receive: Receive, send: Send) -> tuple[Receive, Send]:
        """``receive`` and ``send`` of one connection, checked."""
        host, port = scope.get("client") or ("?", 0)
        connection = f"{host}:{port}"
        closed = False

        async def checked_receive() -> Message:
            nonlocal closed
            message = await receive()
            if closed:
                return message
            if message["type"] == "websocket.disconnect" and message.get("code") == CLOSE_TOO_BIG:
                self._rejections.reject("too_large", connection, "message refused by the server")
                return message
            if message["type"] != "websocket.receive":
                return message
            refusal = self._refusal(message)
            if refusal is None:
                return message
            reason, code, detail = refusal
            self._rejections.reject(reason, connection, detail)
            closed = True
            await send({"type": "websocket.close", "code": code})
            return {"type": "websocket.disconnect", "code": code}

        async def checked_send(message: Message) -> None:
            if not closed:  # Engine.IO closes too, after it read the disconnect
                await send(message)

        return checked_receive, checked_send

    def _refusal(self, message: Message) -> tuple[Reason, int, str] | None:
        text, data = message.get("text"), message.get("bytes")
        if text is not None:
            size = len(text) if len(text) > self._max_bytes else len(text.encode("utf-8"))
        else:
            size = len(data or b"")
        if size > self._max_bytes:
            return "too_large", CLOSE_TOO_BIG, f"message of {size} bytes or more"
        if text is not None and (not text or text[0] not in _ENGINEIO_PACKETS):
            return "malformed", CLOSE_PROTOCOL_ERROR, f"Engine.IO packet {text[:40]!r}"
        return None


#: The end python-engineio gives the first line of each kind of request it refuses
#: (``BaseServer._log_error_once``: an origin not allowed, an unknown transport, protocol
#: version or session id, a bad upgrade); the later ones are logged at INFO.
_REFUSED_ONCE = " (further occurrences of this error will be logged with level INFO)"


class _EngineIOLogger(logging.LoggerAdapter):
    """python-engineio's logger. A polling POST body that is no Engine.IO payload (bad UTF-8
    or base64, an unknown packet type, too many packets), which engineio logs with a
    traceback, is counted as ``malformed`` instead; a request engineio refuses (its
    once-per-kind ERROR line) is a WARNING: what a client sent, not the server's error;
    everything else is logged as is."""

    def __init__(self, logger: logging.Logger, rejections: Rejections) -> None:
        super().__init__(logger, {})
        self._rejections = rejections

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.logger.isEnabledFor(logging.INFO):  # engineio logs every packet in and out at INFO
            self.log(logging.INFO, msg, *args, **kwargs)

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if level < logging.ERROR and not self.isEnabledFor(level):
            return
        exc = sys.exc_info()[1]
        if msg == "post request handler error" and isinstance(exc, (ValueError, IndexError)):
            self._rejections.reject("malformed", "polling", f"Engine.IO payload: {type(exc).__name__}: {exc}")
            return
        if level == logging.ERROR and isinstance(msg, str) and msg.endswith(_REFUSED_ONCE):
            log.warning("request refused (python-engineio, once per kind): %s", msg.removesuffix(_REFUSED_ONCE))
            return
        super().log(level, msg, *args, **kwargs)
