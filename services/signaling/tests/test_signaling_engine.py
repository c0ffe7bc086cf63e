"""Unit tests of parley_signaling.transport's Engine.IO pieces: the server-wide ping
scheduler, the request environ without a class per request, and the packet queue that writes
a packet at once while the socket's writer is idle and holds at most its limit."""

import asyncio
import logging

from engineio import packet
from engineio.async_socket import AsyncSocket

from parley_signaling.transport import (
    EngineServer,
    PacketQueue,
    PingScheduler,
    RequestBody,
    outgoing,
    translate_request,
)

from signaling_testkit import until


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
    # the pings are timers, which a busy machine delays: wait for the last one, not a fixed time
    await until(lambda: c.sent, timeout=10, what="c's PING")
    await asyncio.sleep(0.15)  # a second PING of a socket would come meanwhile
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


async def test_the_environ_of_a_request_reads_a_body_sent_in_chunks_and_holds_no_class_of_its_own() -> None:
    chunks = [{"type": "http.request", "body": b"ab", "more_body": True},
              {"type": "http.request", "body": b"cd", "more_body": True},
              {"type": "http.request", "body": b"e", "more_body": False}]

    async def receive() -> dict:
        return chunks.pop(0)

    scope = {"type": "http", "path": "/socket.io/", "query_string": b"EIO=4", "method": "POST",
             "headers": [(b"origin", b"https://parley.test"), (b"content-type", b"text/plain")]}
    environ = await translate_request(scope, receive, None)
    assert type(environ["wsgi.input"]) is RequestBody
    assert environ["HTTP_ORIGIN"] == "https://parley.test" and environ["CONTENT_TYPE"] == "text/plain"
    assert environ["QUERY_STRING"] == "EIO=4" and environ["REQUEST_METHOD"] == "POST"
    assert await environ["wsgi.input"].read(5) == b"abcde"  # python-engineio reads CONTENT_LENGTH bytes
    assert await environ["wsgi.input"].read() == b""


class Wire:
    """What ``send_text`` wrote, and whether it can write now (a transport paused by flow
    control cannot)."""

    def __init__(self) -> None:
        self.writable = True
        self.texts: list[str] = []

    def send_text(self, text: str) -> bool:
        if self.writable:
            self.texts.append(text)
        return self.writable


async def test_a_packet_for_an_idle_writer_is_written_at_once_and_others_wait_in_order() -> None:
    queue, wire = PacketQueue(), Wire()
    queue.send_text = wire.send_text
    queue.put_nowait(packet.Packet(packet.MESSAGE, "2a"))  # no writer waiting yet: queued
    assert wire.texts == [] and queue.qsize() == 1
    assert queue.get_nowait().data == "2a"
    writer = asyncio.ensure_future(queue.get())  # the writer waits for its next packet
    await asyncio.sleep(0)
    queue.put_nowait(packet.Packet(packet.MESSAGE, "2b"))
    queue.put_nowait(packet.Packet(packet.PING))
    assert wire.texts == ["42b", "2"] and queue.written == 2 and queue.empty() and not writer.done()
    wire.writable = False  # the client stopped reading: the writer takes it, and what follows
    queue.put_nowait(packet.Packet(packet.MESSAGE, "2c"))
    wire.writable = True
    queue.put_nowait(packet.Packet(packet.MESSAGE, "2d"))  # the writer is about to run: behind "2c"
    assert (await writer).data == "2c" and queue.get_nowait().data == "2d" and wire.texts == ["42b", "2"]
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(None)  # the writer's stop is never written
    assert await waiting is None and queue.written == 2
    queue.send_text = None  # the connection is ending: everything is queued again
    late = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait(packet.Packet(packet.MESSAGE, "2e"))
    assert (await late).data == "2e" and wire.texts == ["42b", "2"]


class QuietSocket:
    def __init__(self, silence_s: float) -> None:
        self.queue = PacketQueue()
        self.server = type("Server", (), {"ping_interval": silence_s / 2, "ping_timeout": silence_s / 2})()


async def test_the_writer_is_not_silent_while_packets_go_out_without_it() -> None:
    socket, wire = QuietSocket(1.5), Wire()
    socket.queue.send_text = wire.send_text
    waiting = asyncio.ensure_future(outgoing(socket))  # type: ignore[arg-type]
    for _ in range(25):  # 2.5 s of packets written at once, none through the writer
        await asyncio.sleep(0.1)
        socket.queue.put_nowait(packet.Packet(packet.MESSAGE, "2x"))
    assert not waiting.done() and len(wire.texts) == 25
    loop = asyncio.get_running_loop()
    quiet_from = loop.time()
    assert await waiting == []  # then nothing at all: silent
    assert loop.time() - quiet_from >= 1.0


async def test_a_full_queue_drops_what_comes_after_and_says_so_once() -> None:
    overflows: list[tuple[str, int]] = []
    queue = PacketQueue(limit=25, on_overflow=lambda sid: overflows.append((sid, queue.queued)))
    queue.sid = "s1_x"
    first, second = packet.Packet(packet.MESSAGE, data="x" * 9), packet.Packet(packet.MESSAGE, data="y" * 9)
    queue.put_nowait(first)
    queue.put_nowait(second)
    assert queue.queued == 20 and queue.qsize() == 2  # a packet counts its text and one more
    queue.put_nowait(packet.Packet(packet.MESSAGE, data="z" * 9))  # 30 > 25: the first one over
    queue.put_nowait(packet.Packet(packet.PING))  # after an overflow, nothing more is queued
    assert overflows == [("s1_x", 20)] and queue.overflowed and queue.qsize() == 2
    queue.put_nowait(None)  # except the writer's stop
    assert queue.get_nowait() is first and queue.queued == 10
    assert await queue.get() is second and queue.queued == 0
    assert await queue.get() is None
    assert overflows == [("s1_x", 20)]


async def test_without_a_limit_the_queue_takes_everything() -> None:
    queue = PacketQueue()
    for _ in range(1000):
        queue.put_nowait(packet.Packet(packet.MESSAGE, data="x" * 1000))
    assert queue.qsize() == 1000 and not queue.overflowed
