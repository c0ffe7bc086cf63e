"""The replica link's frames over real loopback TCP: order, the hello, malformed frames, dials."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from parley_signaling import replica_link
from parley_signaling.replica_link import MAX_FRAME_BYTES, REDIAL_S, LinkDialer, LinkServer, encode_frame, read_frame

from signaling_testkit import until


class Received:
    def __init__(self) -> None:
        self.frames: list[tuple[str, str, dict[str, Any]]] = []

    async def __call__(self, replica_id: str, host_id: str, frame: dict[str, Any]) -> None:
        self.frames.append((replica_id, host_id, frame))

    async def until(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.frames) < count:
                await asyncio.sleep(0.005)


async def open_link(dialer: LinkDialer, replica_id: str) -> None:
    """Send until the dial the first send started has opened the link."""
    async with asyncio.timeout(10):
        while not await dialer.send(replica_id, {"n": -1}):
            await asyncio.sleep(0.01)


async def test_frames_arrive_in_order_with_the_dialers_identity() -> None:
    received = Received()
    server = LinkServer("127.0.0.1", 0, received)
    address = await server.start()
    dialer = LinkDialer({"replica_id": "r1", "host_id": "h1"})
    try:
        dialer.learn("r2", address)
        assert not await dialer.send("r2", {"n": 0})  # no link yet: the caller uses Kafka
        await open_link(dialer, "r2")
        for n in range(500):
            assert await dialer.send("r2", {"n": n, "data": {"sdp": "x" * (n % 7) * 1000}})
        await received.until(501)
        assert {(r, h) for r, h, _ in received.frames} == {("r1", "h1")}
        assert [frame["n"] for _, _, frame in received.frames[1:]] == list(range(500))
    finally:
        dialer.close()
        await server.stop()


@pytest.mark.parametrize(
    "bad",
    [
        (5).to_bytes(4, "big") + b"[1,2]",  # not an object
        (4).to_bytes(4, "big") + b"nope",  # not JSON
        (MAX_FRAME_BYTES + 1).to_bytes(4, "big"),  # too large: refused before it is read
    ],
)
async def test_a_malformed_frame_closes_the_connection_and_reaches_nobody(bad: bytes) -> None:
    received = Received()
    server = LinkServer("127.0.0.1", 0, received)
    host, port = (await server.start()).rsplit(":", 1)
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(encode_frame({"replica_id": "r1", "host_id": "h1"}) + encode_frame({"n": 1}) + bad)
        writer.write(encode_frame({"n": 2}))
        async with asyncio.timeout(10):
            assert await reader.read() == b""  # closed by the server
        writer.close()
        assert [frame for _, _, frame in received.frames] == [{"n": 1}]
    finally:
        await server.stop()


async def test_a_hello_without_identity_closes_the_connection() -> None:
    received = Received()
    server = LinkServer("127.0.0.1", 0, received)
    host, port = (await server.start()).rsplit(":", 1)
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(encode_frame({"replica_id": "r1"}) + encode_frame({"n": 1}))
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        writer.close()
        assert received.frames == []
    finally:
        await server.stop()


async def test_a_replica_that_cannot_be_dialled_is_dialled_again_only_after_a_pause() -> None:
    now = [100.0]
    dialer = LinkDialer({"replica_id": "r1", "host_id": "h1"}, clock=lambda: now[0])
    closed = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    address = f"127.0.0.1:{closed.sockets[0].getsockname()[1]}"
    closed.close()
    await closed.wait_closed()  # nothing listens there any more
    dialer.learn("r2", address)
    assert not await dialer.send("r2", {"n": 1})
    link = dialer._links["r2"]  # noqa: SLF001
    assert link.dialing is not None
    await asyncio.wait_for(asyncio.shield(link.dialing), 10)
    assert link.writer is None and link.next_dial == 100.0 + REDIAL_S
    assert not await dialer.send("r2", {"n": 2})
    assert link.dialing is None  # not dialled again within the pause
    now[0] += REDIAL_S
    assert not await dialer.send("r2", {"n": 3})
    assert link.dialing is not None
    dialer.close()


async def test_a_new_address_replaces_the_link_and_none_forgets_it() -> None:
    received = Received()
    old, new = LinkServer("127.0.0.1", 0, received), LinkServer("127.0.0.1", 0, received)
    old_address, new_address = await old.start(), await new.start()
    dialer = LinkDialer({"replica_id": "r1", "host_id": "h1"})
    try:
        dialer.learn("r2", old_address)
        await open_link(dialer, "r2")
        dialer.learn("r2", old_address)  # the same address keeps the open link
        assert await dialer.send("r2", {"n": 1})
        dialer.learn("r2", new_address)  # the replica restarted elsewhere
        assert not await dialer.send("r2", {"n": 2})
        await open_link(dialer, "r2")
        assert await dialer.send("r2", {"n": 3})
        await received.until(4)
        assert [frame["n"] for _, _, frame in received.frames] == [-1, 1, -1, 3]
        dialer.learn("r2", None)
        assert not dialer.knows("r2")
        assert not await dialer.send("r2", {"n": 4})
    finally:
        dialer.close()
        await old.stop()
        await new.stop()


async def test_stopping_closes_open_connections_without_errors(caplog: pytest.LogCaptureFixture) -> None:
    received = Received()
    server = LinkServer("127.0.0.1", 0, received)
    dialer = LinkDialer({"replica_id": "r1", "host_id": "h1"})
    dialer.learn("r2", await server.start())
    await open_link(dialer, "r2")
    await received.until(1)
    async with asyncio.timeout(5):
        await server.stop()
    await asyncio.sleep(0.05)  # the connection's task callbacks
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    async with asyncio.timeout(5):
        while await dialer.send("r2", {"n": 1}):  # the dialer sees the link closed
            await asyncio.sleep(0.01)
    dialer.close()


class Mute:
    """A listener that reads the hello and ``keep`` frames, acknowledges none, then closes the
    connection (``keep`` None: reads on and never closes it)."""

    def __init__(self, keep: int | None) -> None:
        self.keep = keep
        self.read: list[dict[str, Any]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_frame(reader)
        try:
            while self.keep is None or len(self.read) < self.keep:
                self.read.append(await read_frame(reader))
        except asyncio.IncompleteReadError:
            pass
        writer.close()


@asynccontextmanager
async def linked_to_mute(keep: int | None) -> AsyncIterator[tuple[LinkDialer, list[str]]]:
    """A dialer ("r1") with its link to a :class:`Mute` listener ("r2") open, and the replica
    ids its ``on_lost`` was called with."""
    server = await asyncio.start_server(Mute(keep).serve, "127.0.0.1", 0)
    lost: list[str] = []
    dialer = LinkDialer({"replica_id": "r1", "host_id": "h1"}, on_lost=lost.append)
    try:
        dialer.learn("r2", f"127.0.0.1:{server.sockets[0].getsockname()[1]}")
        await open_link(dialer, "r2")
        yield dialer, lost
    finally:
        dialer.close()
        server.close()


async def test_the_listener_acknowledges_what_it_handled() -> None:
    received = Received()
    server = LinkServer("127.0.0.1", 0, received)
    lost: list[str] = []
    dialer = LinkDialer({"replica_id": "r1", "host_id": "h1"}, on_lost=lost.append)
    try:
        dialer.learn("r2", await server.start())
        await open_link(dialer, "r2")
        for n in range(100):
            assert await dialer.send("r2", {"n": n})
        seqs = [frame["seq"] for _, _, frame in received.frames]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        link = dialer._links["r2"]  # noqa: SLF001
        async with asyncio.timeout(10):
            while link.unacked:
                await asyncio.sleep(0.01)
        assert len(received.frames) == 101
    finally:
        dialer.close()
        await server.stop()
    assert lost == [] and dialer.take_lost("r2") == []  # closed on purpose: nothing lost


async def test_a_broken_link_hands_back_every_frame_not_acknowledged_in_order() -> None:
    async with linked_to_mute(keep=3) as (dialer, lost):
        for n in range(6):
            assert await dialer.send("r2", {"n": n})
        await until(lambda: lost, timeout=10, what="the link's on_lost")
        assert lost == ["r2"]
        taken = dialer.take_lost("r2")
        assert [frame["n"] for frame in taken] == [-1, 0, 1, 2, 3, 4, 5]  # 3 were read, none acknowledged
        assert [frame["seq"] for frame in taken] == sorted(frame["seq"] for frame in taken)
        assert dialer.take_lost("r2") == []
        assert not await dialer.send("r2", {"n": 6})  # broken: the caller goes through Kafka, a dial starts


async def test_a_link_with_too_many_frames_not_acknowledged_counts_as_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replica_link, "MAX_UNACKED", 3)
    async with linked_to_mute(keep=None) as (dialer, lost):
        assert await dialer.send("r2", {"n": 0}) and await dialer.send("r2", {"n": 1})
        assert not await dialer.send("r2", {"n": 2})
        assert lost == ["r2"] and [frame["n"] for frame in dialer.take_lost("r2")] == [-1, 0, 1]


async def test_a_link_without_acknowledgements_for_the_timeout_counts_as_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The other replica stalls, or the network drops the connection's packets: no error, no
    acknowledgement either."""
    monkeypatch.setattr(replica_link, "TIMEOUT_S", 0.2)
    async with linked_to_mute(keep=None) as (dialer, lost):
        assert await dialer.send("r2", {"n": 0})
        await until(lambda: lost, timeout=10, what="the link's on_lost")
        assert [frame["n"] for frame in dialer.take_lost("r2")] == [-1, 0]
