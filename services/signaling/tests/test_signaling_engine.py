"""Unit tests of parley_signaling.transport's Engine.IO pieces: the server-wide ping
scheduler and the request environ without a class per request."""

import asyncio
import logging

from engineio import packet
from engineio.async_socket import AsyncSocket

from parley_signaling.transport import EngineServer, PingScheduler, RequestBody, translate_request

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
