"""uvicorn's WebSocket protocol for signaling: ``--ws parley_signaling.websocket_protocol:WebSocketProtocol``.

uvicorn's sans-I/O websockets implementation (``--ws websockets-sansio``: timers, no task
per connection) with two changes to what an idle socket holds (bench/README.md, "Sockets per
process"): its queue of received messages (ASGI ``receive``) is a
:class:`~parley_signaling.lean_queue.LeanQueue`, which holds no buffer while empty, instead of
an ``asyncio.Queue`` (~3.2 KiB); and the opening handshake's request and response (their
headers) are let go once the handshake is complete, since nothing reads them after it. The
protocol on the wire is unchanged.
"""

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from parley_signaling.lean_queue import LeanQueue


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """``WebSocketsSansIOProtocol`` with a lean receive queue and no handshake kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = LeanQueue()  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete:
            self.request = self.response = None  # type: ignore[assignment]
