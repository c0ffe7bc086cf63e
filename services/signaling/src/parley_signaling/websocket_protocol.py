"""uvicorn's WebSocket protocol for signaling: ``--ws parley_signaling.websocket_protocol:WebSocketProtocol``.

uvicorn's sans-I/O websockets implementation (``--ws websockets-sansio``: timers, no task
per connection) with two changes to what an idle socket holds (bench/README.md, "Sockets per
process"): its queue of received messages (ASGI ``receive``) is a
:class:`~parley_signaling.lean_queue.LeanQueue`, which holds no buffer while empty, instead of
an ``asyncio.Queue`` (~3.2 KiB); and the opening handshake's request and response (their
headers) are let go once the handshake is complete, since nothing reads them after it,
websockets' parser included (:meth:`WebSocketProtocol._parse_frames_only`). The protocol on
the wire is unchanged.

It also offers the application a way to write a text message without a pass of the event loop
(:meth:`WebSocketProtocol.send_text_now`, in the scope's extensions as :data:`SEND_TEXT_NOW`):
:mod:`parley_signaling.transport` uses it for a packet queued while the socket's writer task
is idle; a way to drop the connection at once (:data:`ABORT`), for a client that stopped
reading while too much waits for it; and a way to take a message without queueing it
(:data:`READ_NOW`): a text message read while the application waits for one is first offered
to a function the application set, which may handle it in ``data_received`` itself (signaling's
relays, :func:`parley_signaling.transport.serve_websocket`).

Once the connection is lost it lets go of the two reference cycles a connection would
otherwise leave behind: the scope's :data:`SEND_TEXT_NOW` (the protocol's own bound method,
in its own scope, and :data:`ABORT`, which holds the transport) and websockets' parser (a generator whose frame holds its
``ServerProtocol``). A cycle is freed only by a full collection, and the survivors of every
full collection are frozen (:mod:`parley_observability.gc_freeze`): a socket's protocol, its
transport, scope and websockets state (~26 objects) would then wait for the next thaw, up to
15 minutes after the socket closed (bench/README.md, "Sockets: the closed sockets' cycles").
Without the cycles, reference counting frees them when the application lets go of the
connection.
"""

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request
from websockets.protocol import Protocol

from parley_signaling.lean_queue import LeanQueue

#: The ASGI scope extension (``scope["extensions"]``) whose value is the connection's
#: :meth:`WebSocketProtocol.send_text_now`.
SEND_TEXT_NOW = "parley.websocket.send_text_now"
#: The ASGI scope extension whose value drops the connection at once (the transport's
#: ``abort``: no closing handshake, for a client that does not read).
ABORT = "parley.websocket.abort"
#: The ASGI scope extension whose value sets (or, with None, clears) the connection's
#: :attr:`WebSocketProtocol.read_now`.
READ_NOW = "parley.websocket.read_now"

#: Offered each text message (its UTF-8, not yet checked) read while the application waits for
#: one, in the protocol's ``data_received``; True: handled there, the application never gets it.
ReadNow = Callable[[bytes], bool]


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """``WebSocketsSansIOProtocol`` with a lean receive queue and no handshake kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = LeanQueue()  # type: ignore[assignment]
        self.read_now: ReadNow | None = None

    def set_read_now(self, read_now: ReadNow | None) -> None:
        """Offer text messages to ``read_now`` from now on (:data:`READ_NOW`); None: no more."""
        self.read_now = read_now

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if not self.close_sent:  # accepted: the scope exists
            self.scope["extensions"][SEND_TEXT_NOW] = self.send_text_now  # type: ignore[index]
            self.scope["extensions"][ABORT] = self.transport.abort  # type: ignore[index]
            self.scope["extensions"][READ_NOW] = self.set_read_now  # type: ignore[index]
            self._parse_frames_only()

    def _parse_frames_only(self) -> None:
        """websockets' ``ServerProtocol.parse`` reads the opening request into a local of its
        generator's frame, then goes on in that frame as the frame parser for the life of the
        connection: the request and its headers (~2.3 KB) stayed alive until the socket
        closed. Once the request is read, the connection parses frames with a frame parser of
        its own (``Protocol.parse``, which the server's defers to), started where the old one
        stands: waiting, at a frame's first byte, for data (``StreamReader.at_eof``). A client
        sends no frame before the handshake's answer (RFC 6455 §4.1); should one have, the old
        parser is left in the middle of it, as it is."""
        frame_loop = self.conn.parser.gi_yieldfrom  # ServerProtocol.parse -> Protocol.parse
        if getattr(getattr(frame_loop, "gi_yieldfrom", None), "__name__", None) != "at_eof":
            return
        frames = Protocol.parse(self.conn)
        next(frames)  # started: waits for a frame
        self.conn.parser, request_parser = frames, self.conn.parser
        request_parser.close()

    def send_receive_event_to_app(self) -> None:
        """uvicorn's, except that a text message read while the application waits for one
        (nothing queued, a ``receive`` waiting) is first offered to :attr:`read_now`; the
        application does not get a message that took."""
        read_now = self.read_now
        if read_now is not None and self.curr_msg_data_type == "text" and not self.close_sent:
            if self.queue.waiting():  # type: ignore[attr-defined]
                data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
                if read_now(data):
                    self.frames = []
                    return
        super().send_receive_event_to_app()

    def send_text_now(self, text: str) -> bool:
        """Write ``text`` as one text message now, as ``send({"type": "websocket.send", "text":
        text})`` would, when that would not wait: the handshake done and no close sent, and the
        transport writable (not paused by flow control). False, with nothing written, otherwise."""
        if not self.handshake_complete or self.close_sent or self.initial_response is not None:
            return False
        if self.disconnected or not self.writable.is_set() or self.transport.is_closing():
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        scope = getattr(self, "scope", None)  # none when the opening handshake never came
        if scope is not None:
            scope["extensions"].pop(SEND_TEXT_NOW, None)
            scope["extensions"].pop(ABORT, None)
            scope["extensions"].pop(READ_NOW, None)
        self.read_now = None
        # Nothing reads from the connection any more: end the parser (websockets'
        # ``Protocol.parse`` or ``discard``, suspended at a ``yield``) so that its frame lets go
        # of the ServerProtocol.
        self.conn.parser.close()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete:
            self.request = self.response = None  # type: ignore[assignment]
