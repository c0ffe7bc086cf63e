"""An emit to this replica's sockets without a task per recipient.

python-socketio's ``AsyncManager.emit`` (5.x) encodes the packet once, starts an asyncio task
per recipient to queue it (``AsyncServer._send_eio_packet``) and waits for all of them with
``asyncio.wait``. Queueing a packet does not block (each socket's writer task sends it), so the
tasks buy nothing; for a relay, which has one recipient, they were ~7 % of a replica's busy
time at 1,000 relayed messages/s (py-spy), plus an extra pass of the event loop per message
(bench/README.md, "Relay: one replica's own CPU"). :class:`DirectLocalEmit` queues the packet
for each recipient in turn: the same packets, in the same order, to the same sockets.

A recipient whose socket closed meanwhile is skipped (its disconnect is under way); upstream's
task would have ended with the same error, logged as "Task exception was never retrieved".
An emit with a ``callback`` (an ack id per recipient) keeps python-socketio's own path.
"""

from typing import Any

from engineio import packet as eio_packet
from engineio.exceptions import SocketIsClosedError
from socketio import packet
from socketio.async_manager import AsyncManager


class DirectLocalEmit(AsyncManager):
    """``AsyncManager`` whose :meth:`emit` queues the packet for each local recipient in turn.

    A pub/sub manager takes it as its second base (``class M(AsyncPubSubManager,
    DirectLocalEmit)``), so that the pub/sub manager's local emits (``ignore_queue``, and the
    emits it reads from the bus) reach this method."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
            return
        if namespace not in self.rooms:
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        # taken before the first send: a send may close a socket, which leaves its rooms
        recipients = [eio_sid for sid, eio_sid in self.get_participants(namespace, room) if sid not in skip]
        if not recipients:
            return
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        packets = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in (encoded if isinstance(encoded, list) else [encoded])]
        for eio_sid in recipients:
            try:
                for pkt in packets:
                    await self.server._send_eio_packet(eio_sid, pkt)
            except SocketIsClosedError:
                continue
