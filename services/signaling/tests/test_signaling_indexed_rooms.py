"""IndexedRooms against python-socketio's own AsyncManager: the same random sequence of
connects, room changes, disconnects and room closes must leave the same state in both, and
the index must name exactly the rooms each socket is in."""

import itertools
import random

from socketio.async_manager import AsyncManager

from parley_signaling.indexed_rooms import IndexedRooms


class FakeEngine:
    def __init__(self) -> None:
        self._ids = itertools.count()

    def generate_id(self) -> str:
        return f"sid{next(self._ids)}"


class FakeServer:
    def __init__(self) -> None:
        self.eio = FakeEngine()


def manager(cls: type[AsyncManager]) -> AsyncManager:
    m = cls()
    m.server = FakeServer()  # pre_connect takes sids from the server's engine
    return m


def state(m: AsyncManager) -> tuple:
    rooms = {ns: {room: dict(members) for room, members in table.items()} for ns, table in m.rooms.items()}
    return rooms, dict(m.callbacks), {k: set(v) for k, v in m.pending_connect.items()}, {k: set(v) for k, v in m.pending_disconnect.items()}


async def test_the_same_operations_leave_the_same_rooms_as_upstream() -> None:
    rng = random.Random(20261204)
    upstream, indexed = manager(AsyncManager), manager(IndexedRooms)
    sockets: list[tuple[str, str]] = []  # (namespace, sid)
    for step in range(3_000):
        op = rng.random()
        if op < 0.25 or not sockets:
            namespace = rng.choice(["/", "/other"])
            eio_sid = f"eio{step}"
            sid = await upstream.pre_connect(eio_sid, namespace)
            assert await indexed.pre_connect(eio_sid, namespace) == sid
            if rng.random() < 0.8:
                await upstream.connect(sid, namespace)
                await indexed.connect(sid, namespace)
            sockets.append((namespace, sid))
        else:
            namespace, sid = rng.choice(sockets)
            room = rng.choice(["meeting:a", "meeting:b", "user:1", "user:2", sid])
            if op < 0.55:
                for m in (upstream, indexed):
                    try:
                        await m.enter_room(sid, namespace, room)
                    except ValueError:
                        pass  # a sid room that is not its own (upstream refuses it the same way)
            elif op < 0.7:
                for m in (upstream, indexed):
                    await m.leave_room(sid, namespace, room)
            elif op < 0.75:
                for m in (upstream, indexed):
                    if not m.is_sid_room(namespace, room):
                        await m.close_room(room, namespace)
            elif op < 0.8:
                for m in (upstream, indexed):
                    m.callbacks[sid] = {1: "ack"}
                    if m.is_connected(sid, namespace):  # as the server calls it (once per socket)
                        m.pre_disconnect(sid, namespace)
            else:
                for m in (upstream, indexed):
                    await m.disconnect(sid, namespace)
                sockets.remove((namespace, sid))
        assert state(indexed) == state(upstream), f"step {step}"
        for namespace, sid in sockets:
            assert set(indexed.get_rooms(sid, namespace)) == set(upstream.get_rooms(sid, namespace))
    # the index holds exactly the memberships of the room table, and nothing of gone sockets
    memberships = {(ns, sid, room) for ns, table in indexed.rooms.items() for room, members in table.items() for sid in members}
    indexed_memberships = {(ns, sid, room) for ns, sids in indexed.rooms_of.items() for sid, rooms in sids.items() for room in rooms}
    assert indexed_memberships == memberships


async def test_a_disconnect_leaves_only_the_sockets_own_rooms() -> None:
    m = manager(IndexedRooms)
    a = await m.connect("eio-a", "/")
    b = await m.connect("eio-b", "/")
    await m.enter_room(a, "/", "meeting:1")
    await m.enter_room(b, "/", "meeting:1")
    await m.disconnect(a, "/")
    assert m.get_rooms(b, "/") and set(m.get_rooms(b, "/")) == {b, "meeting:1"}
    assert dict(m.get_participants("/", "meeting:1")) == {b: "eio-b"}
    assert a not in m.rooms_of["/"]
    await m.disconnect(b, "/")
    assert m.rooms == {} and m.rooms_of == {}


async def test_sockets_pending_a_connect_or_a_disconnect_are_kept_in_sets() -> None:
    """``is_connected`` tests them on every event: a list made each test O(sockets closing)."""
    m = manager(IndexedRooms)
    pending = await m.pre_connect("eio-a", "/")
    b = await m.connect("eio-b", "/")
    m.pre_disconnect(b, "/")
    assert isinstance(m.pending_connect["/"], set) and isinstance(m.pending_disconnect["/"], set)
    assert not m.is_connected(pending, "/") and not m.is_connected(b, "/")
    await m.connect(pending, "/")
    await m.disconnect(b, "/")
    assert m.is_connected(pending, "/") and m.pending_connect == {} and m.pending_disconnect == {}
