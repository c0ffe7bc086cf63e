"""Delivery to users rather than to sockets: "emit to every socket of user X on this replica".

Every authenticated socket is put, at connect, in the socket.io room ``user:<user id>`` of its
replica (:meth:`UserDelivery.register`; meeting ids cannot contain ``:``, so the names never
collide). A component that must reach a user wherever they are connected consumes its Kafka
topic on *every* replica (no consumer group, as the fan-out does) and calls
:meth:`UserDelivery.deliver` there: each replica emits to its own sockets of those users only
(``ignore_queue``: nothing goes through the fan-out topic), so every socket of the user, on any
replica, gets the event once. Presence updates and contact changes use it
(:mod:`parley_signaling.presence`) ringing calls (:mod:`parley_signaling.calls`) and direct messages
(:mod:`parley_signaling.direct_messages`) use it.
"""

from collections.abc import Iterable
from typing import Any

import socketio

#: Prefix of the per-user socket.io rooms.
USER_ROOM_PREFIX = "user:"


def user_room(user_id: str) -> str:
    """The socket.io room holding this replica's sockets of ``user_id``."""
    return f"{USER_ROOM_PREFIX}{user_id}"


class UserDelivery:
    """Per-user rooms on one replica's socket.io server ``sio``."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def register(self, sid: str, user_id: str) -> None:
        """Put socket ``sid`` (connected, authenticated as ``user_id``) in the user's room;
        socket.io takes it out when it disconnects."""
        await self._sio.enter_room(sid, user_room(user_id))

    async def deliver(self, user_ids: Iterable[str], event: str, payload: dict[str, Any]) -> None:
        """Emit ``event`` with ``payload`` to every socket of this replica of each user of
        ``user_ids`` (each socket once, even when a user is listed twice)."""
        rooms = [user_room(user_id) for user_id in dict.fromkeys(user_ids)]
        if rooms:
            await self._sio.emit(event, payload, room=rooms, ignore_queue=True)
