"""python-socketio's rooms with an index of each socket's rooms, so a disconnect is O(its rooms).

python-socketio (5.x, ``BaseManager``) keeps ``rooms[namespace][room][sid] = eio_sid`` only.
To find the rooms of a socket that disconnects, ``basic_disconnect`` copies the namespace's
whole room table and tests every room, and ``get_rooms`` walks it too. Every socket has a room
of its own (its sid), so with n sockets each disconnect costs O(n), and n sockets closing at once
(a network blip, a replica's drain) O(n²): 3,000 closing at once took ~3 s of a replica's CPU,
10,000 about a minute (bench/README.md, "Sockets: 10,000 closing at once").
:class:`IndexedRooms` keeps ``rooms_of[namespace][sid]`` beside upstream's table, updated in
the two methods every room change goes through (``basic_enter_room``, ``basic_leave_room``).

Upstream's ``pending_connect`` and ``pending_disconnect`` (sockets between the Socket.IO
handshake and the connect handler's end, and inside the disconnect handler) are lists, and
``is_connected`` tests them on every event: during a mass close, every socket whose disconnect
handler awaits sits in ``pending_disconnect``, so each test is O(n) too (3.2 % of a 10,000-socket
close's busy time). :class:`IndexedRooms` keeps them as sets (:class:`_PendingSids`).
"""

from typing import Any

from socketio.async_manager import AsyncManager


class _SidSet(set[str]):
    """A set that upstream's code can ``append`` to (it builds lists: ``[]``, ``append``,
    ``remove``, ``in``, ``len``)."""

    append = set.add


class _PendingSids(dict[str, _SidSet]):
    """``pending_connect`` / ``pending_disconnect``: namespace -> the sids pending there, as a
    :class:`_SidSet` whatever upstream stores (it stores ``[]`` and appends)."""

    def __setitem__(self, namespace: str, sids: Any) -> None:
        super().__setitem__(namespace, _SidSet(sids))


class IndexedRooms(AsyncManager):
    """``AsyncManager`` whose :meth:`basic_disconnect` and :meth:`get_rooms` read an index of
    each socket's rooms instead of walking every room of the namespace, and whose pending
    connects and disconnects are sets. Same results as
    upstream's (a differential test compares them); a pub/sub manager takes it as a base
    (``class M(AsyncPubSubManager, ..., IndexedRooms)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: rooms_of[namespace][sid]: the rooms (None, the sid's own room and the others) sid is in
        self.rooms_of: dict[str, dict[str, set[Any]]] = {}
        self.pending_connect = _PendingSids()
        self.pending_disconnect = _PendingSids()

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: str | None = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self.rooms_of.setdefault(namespace, {}).setdefault(sid, set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        sids = self.rooms_of.get(namespace)
        rooms = sids.get(sid) if sids is not None else None
        if rooms is None:
            return
        rooms.discard(room)
        if not rooms:
            del sids[sid]
            if not sids:
                del self.rooms_of[namespace]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """Upstream's ``basic_disconnect`` (python-socketio 5.x), with the socket's rooms read
        from the index."""
        if namespace not in self.rooms:
            return
        for room in list(self.rooms_of.get(namespace, {}).get(sid, ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if sid in pending.get(namespace, ()):
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        """The rooms ``sid`` is in (its own room included, not the None room of all sockets)."""
        return [room for room in self.rooms_of.get(namespace, {}).get(sid, ()) if room is not None]
