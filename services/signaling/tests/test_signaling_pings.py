"""Unit tests of the server-wide Engine.IO ping scheduler (parley_signaling.transport)."""

import asyncio
import logging

from engineio import packet
from engineio.async_socket import AsyncSocket

from parley_signaling.transport import EngineServer, PingScheduler


class FakeSocket:
    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.closing = self.closed = False
        self.last_ping = None
        self.sent: list[tuple[float, int]] = []

    async def send(self, pkt: packet.Packet) -> None:
        self.sent.append((asyncio.get_running_loop().time(), pkt.packet_type))


async def test_sockets_are_pinged_once_each_in_the_order_they_were_scheduled_and_closed_ones_skipped() -> None:
    pings = PingScheduler(0.05, logging.getLogger("test"))
    a, b, c = FakeSocket("a"), FakeSocket("b"), FakeSocket("c")
    for socket in (a, b, c):
        pings.schedule(socket)  # type: ignore[arg-type]
    b.closed = True
    await asyncio.sleep(0.2)
    assert [p for _, p in a.sent] == [packet.PING] and [p for _, p in c.sent] == [packet.PING]
    assert b.sent == [] and a.last_ping is not None and b.last_ping is None
    assert a.sent[0][0] <= c.sent[0][0] and len(pings) == 0


async def test_a_sockets_next_ping_goes_to_the_scheduler_not_to_a_task_of_its_own() -> None:
    server = EngineServer(async_mode="asgi", ping_interval=30)
    socket = AsyncSocket(server, "s1")
    before = len(asyncio.all_tasks())
    socket.schedule_ping()  # what python-engineio calls after a PONG (last_ping is set)
    assert len(server.pings) == 1
    assert len(asyncio.all_tasks()) == before + 1  # the scheduler's one task, for every socket
    AsyncSocket(server, "s2").schedule_ping()
    assert len(server.pings) == 2 and len(asyncio.all_tasks()) == before + 1
