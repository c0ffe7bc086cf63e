"""DirectLocalEmit: python-socketio's local emit without a task per recipient; the same
packets to the same sockets, in order, and a recipient closed meanwhile does not stop the others."""

from __future__ import annotations

import asyncio

from engineio.exceptions import SocketIsClosedError
from socketio import packet

from parley_signaling.local_emit import DirectLocalEmit


class Server:
    """What a manager uses of ``socketio.AsyncServer``: the packet class, the Engine.IO server's
    ids and its send, here recorded (``closed``: Engine.IO sids whose socket is closed)."""

    packet_class = packet.Packet

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.closed: set[str] = set()
        ids = iter(range(1_000))
        self.eio = type("Engine", (), {"generate_id": staticmethod(lambda: f"s{next(ids)}")})()

    async def _send_eio_packet(self, eio_sid: str, pkt) -> None:
        if eio_sid in self.closed:
            raise SocketIsClosedError()
        self.sent.append((eio_sid, pkt.encode()))


async def manager_with(*eio_sids: str) -> tuple[DirectLocalEmit, Server, dict[str, str]]:
    """A manager whose sockets (one per Engine.IO sid) are all in room ``"m"``; their sids."""
    manager, server = DirectLocalEmit(), Server()
    manager.set_server(server)
    manager.initialize()
    sids = {}
    for eio_sid in eio_sids:
        sid = await manager.connect(eio_sid, "/")
        await manager.enter_room(sid, "/", "m", eio_sid=eio_sid)
        sids[eio_sid] = sid
    return manager, server, sids


async def test_a_room_emit_queues_one_packet_per_recipient_in_order_without_tasks() -> None:
    manager, server, sids = await manager_with("e1", "e2", "e3")
    tasks_before = len(asyncio.all_tasks())
    await manager.emit("peer-joined", {"sid": "x"}, "/", room="m", skip_sid=sids["e2"])
    await manager.emit("ice-candidate", {"n": 1}, "/", to=sids["e2"])
    await manager.emit("hello", ("a", 1), "/", room="m")  # a tuple is several arguments
    await manager.emit("media", {"v": 0}, "/", to=[sids["e3"], sids["e1"]])
    assert len(asyncio.all_tasks()) == tasks_before
    assert server.sent == [
        ("e1", '42["peer-joined",{"sid":"x"}]'), ("e3", '42["peer-joined",{"sid":"x"}]'),
        ("e2", '42["ice-candidate",{"n":1}]'),
        ("e1", '42["hello","a",1]'), ("e2", '42["hello","a",1]'), ("e3", '42["hello","a",1]'),
        ("e3", '42["media",{"v":0}]'), ("e1", '42["media",{"v":0}]'),
    ]


async def test_a_recipient_closed_meanwhile_is_skipped_and_the_others_still_get_it() -> None:
    manager, server, _ = await manager_with("e1", "e2", "e3")
    server.closed.add("e2")
    await manager.emit("peer-left", {"sid": "x"}, "/", room="m")
    assert [eio_sid for eio_sid, _ in server.sent] == ["e1", "e3"]


async def test_an_emit_to_a_namespace_or_room_without_sockets_sends_nothing() -> None:
    manager, server, _ = await manager_with("e1")
    await manager.emit("x", {}, "/other", room="m")
    await manager.emit("x", {}, "/", room="empty")
    assert server.sent == []
