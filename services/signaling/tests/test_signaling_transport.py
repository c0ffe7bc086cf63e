"""The long-polling transport of a replica, spoken raw (Engine.IO 4 over HTTP, no cookies).

Against the cluster of conftest.py (two real replicas on uvicorn, real Kafka): what
``parley_signaling.transport`` corrects in python-engineio (docs/signaling.md, "Transport"):

* a POST carrying a packet a client may not send, or a body over ``maxPayload``, is answered
  400 at once and its session is let go (python-engineio alone never answered it and kept
  the session, its queue and the request waiting for a GET that never comes);
* a POST of many packets is read whole (python-engineio alone dropped every packet of a POST
  of more than 16 and answered 200), so each event of a burst gets its acknowledgement;
* the session ids of a replica start with its ``sid_prefix``;
* a refused WebSocket handshake is answered like a refused polling request (400 and a body);
* a second long-polling GET while one waits is answered 400 at once and closes the session
  (python-engineio alone let it wait 45 s beside the first); JSONP (``j``) is refused;
* a session with no socket.io connection (never asked for, refused, or left) is closed after
  the connect timeout, as socket.io's ``connectTimeout`` does (python-socketio kept it for as
  long as its client answered the PINGs);
* a socket whose client does not read is dropped once ``max_queued_bytes`` wait for it
  (python-engineio queued every packet for it, without bound).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from engineio.async_socket import AsyncSocket

from parley_testing import scraped_value

from signaling_testkit import Cluster, RawSocket, Replica, start_replica, unique, until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

RS = "\x1e"  # Engine.IO's packet separator in a long-polling body


class Polling:
    """A raw Engine.IO 4 long-polling client: one session, no cookie jar."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/socket.io/"
        self.sid = ""
        self.handshake: dict[str, Any] = {}
        self.inbox: list[str] = []  # packets received and not taken yet

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=5.0)  # a new one per request: no cookie is ever kept

    async def open(self) -> dict[str, Any]:
        async with self._client() as http:
            response = await http.get(self.url, params={"EIO": "4", "transport": "polling"})
        assert response.status_code == 200, response.text
        assert response.text.startswith("0"), response.text
        self.handshake = json.loads(response.text[1:])
        self.sid = self.handshake["sid"]
        return self.handshake

    async def post(self, *packets: str, body: bytes | None = None) -> httpx.Response:
        """POST ``packets`` in one body; raises ``httpx.TimeoutException`` if not answered in 5 s."""
        data = body if body is not None else RS.join(packets).encode()
        async with self._client() as http:
            return await http.post(
                self.url, params={"EIO": "4", "transport": "polling", "sid": self.sid}, content=data,
                headers={"Content-Type": "text/plain;charset=UTF-8"},
            )

    async def get(self) -> httpx.Response:
        async with self._client() as http:
            return await http.get(self.url, params={"EIO": "4", "transport": "polling", "sid": self.sid})

    async def receive(self, where, timeout: float = 10.0) -> str:
        """The first packet (in arrival order) for which ``where`` is true, polling as needed."""
        async with asyncio.timeout(timeout):
            while True:
                for packet in self.inbox:
                    if where(packet):
                        self.inbox.remove(packet)
                        return packet
                response = await self.get()
                assert response.status_code == 200, response.text
                for packet in response.text.split(RS):
                    if packet == "2":  # the server's ping
                        await self.post("3")
                    else:
                        self.inbox.append(packet)

    async def connect(self, token: str) -> dict[str, Any]:
        """Engine.IO handshake, then socket.io CONNECT with ``auth {token}``; returns ``session``."""
        await self.open()
        assert (await self.post("40" + json.dumps({"token": token}))).status_code == 200
        await self.receive(lambda p: p.startswith("40{"))
        session = await self.receive(lambda p: p.startswith('42["session"'))
        return json.loads(session[2:])[1]


def waiting_in_close() -> list[asyncio.Task]:
    """Tasks suspended somewhere inside ``AsyncSocket.close`` (python-engineio waiting for a
    client to fetch its CLOSE packet)."""

    def chain(coro: Any) -> Iterator[Any]:
        while coro is not None:
            yield coro
            coro = getattr(coro, "cr_await", None)

    return [
        task for task in asyncio.all_tasks()
        if any(getattr(c, "cr_code", None) is AsyncSocket.close.__code__ for c in chain(task.get_coro()))
    ]


def engine(replica: Replica):
    """The replica's Engine.IO server (``socketio.ASGIApp`` holds the socket.io server)."""
    return replica.app.engineio_server.eio


@pytest.mark.parametrize("bad", ["0", "2", "2probe", "6", '0{"sid":"x"}'])
async def test_a_packet_no_client_may_send_is_answered_400_and_the_session_let_go(cluster: Cluster, bad: str) -> None:
    sids = []
    for _ in range(20):
        session = Polling(cluster.r1.url)
        await session.open()
        sids.append(session.sid)
        try:
            response = await session.post(bad)
        except httpx.TimeoutException:
            pytest.fail(f"a POST of {bad!r} was not answered within 5 s (the session waits for a GET)")
        assert response.status_code == 400, response.text
        assert session.sid not in engine(cluster.r1).sockets
        after = await session.get()  # the session is gone, at once
        assert (after.status_code, after.json()) == (400, f"Invalid session {session.sid}")
    assert waiting_in_close() == []
    assert not set(sids) & set(engine(cluster.r1).sockets)


async def test_a_post_over_max_payload_is_answered_400_and_the_session_let_go(cluster: Cluster) -> None:
    session = Polling(cluster.r2.url)
    handshake = await session.open()
    try:
        response = await session.post(body=b"4" + b"x" * handshake["maxPayload"])
    except httpx.TimeoutException:
        pytest.fail("a POST over maxPayload was not answered within 5 s (the session waits for a GET)")
    assert response.status_code == 400
    assert session.sid not in engine(cluster.r2).sockets
    assert waiting_in_close() == []


async def test_an_overlapping_polling_get_is_refused_at_once_and_closes_the_session(cluster: Cluster) -> None:
    session = Polling(cluster.r1.url)
    await session.open()
    waiting = asyncio.create_task(session.get())
    await until(lambda: session.sid in engine(cluster.r1)._polling, what="the first GET waits")
    async with asyncio.timeout(5):  # python-engineio alone: 45 s, then 400
        second = await session.get()
        first = await waiting
    assert (second.status_code, second.json()) == (400, "Overlapping long-polling GET: the session is closed")
    assert (first.status_code, first.text) == (200, "1")  # the waiting GET gets the CLOSE packet
    assert session.sid not in engine(cluster.r1).sockets
    assert session.sid not in engine(cluster.r1)._polling
    # one GET after another is no overlap
    again = Polling(cluster.r1.url)
    await again.open()
    for _ in range(2):
        assert (await again.post("40")).status_code == 200  # CONNECT (the second: already_connected)
        assert (await again.get()).text.startswith("4")
    assert again.sid in engine(cluster.r1).sockets and again.sid not in engine(cluster.r1)._polling


async def test_jsonp_is_refused(cluster: Cluster) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.get(f"{cluster.r2.url}/socket.io/", params={"EIO": "4", "transport": "polling", "j": "0"})
    assert (answer.status_code, answer.json()) == (400, "JSONP is not supported (Engine.IO 4)")
    assert not answer.text.startswith("___eio")


async def test_every_event_of_one_big_post_is_acknowledged(cluster: Cluster, meeting: str) -> None:
    """200 events in one POST (the official client batches what it buffered into one POST up
    to ``maxPayload`` bytes): 200 acknowledgements, the first ones ``ok``, the rest
    ``rate_limited`` (this cluster's limit: bursts of 40)."""
    user = unique("u")
    session = Polling(cluster.r2.url)
    hello = await session.connect(cluster.issuer.issue(user, "Raw Poller"))
    assert hello["user_id"] == user
    cluster.meetings.admit(meeting, user)
    assert (await session.post('421["join",' + json.dumps({"meeting_id": meeting}) + "]")).status_code == 200
    joined = json.loads((await session.receive(lambda p: p.startswith("431[")))[3:])[0]
    assert joined["ok"], joined

    state = json.dumps({"meeting_id": meeting, "audio": True, "video": False, "screen": False})
    ids = range(100, 300)
    response = await session.post(*(f'42{i}["media-state",{state}]' for i in ids))
    assert response.status_code == 200
    acks: dict[int, dict] = {}
    for i in ids:
        packet = await session.receive(lambda p, i=i: p.startswith(f"43{i}["))
        acks[i] = json.loads(packet[len(f"43{i}"):])[0]
    results = [a["ok"] or a["error"]["code"] for a in acks.values()]
    assert len(results) == 200
    assert set(results) == {True, "rate_limited"}, results
    assert results.index("rate_limited") >= 39 and results.count(True) < 60  # bucket of 40, 20/s refill


async def test_session_ids_start_with_the_replicas_prefix(cluster: Cluster) -> None:
    replica = await start_replica(unique("sig-prefix"), cluster.stack, cluster.issuer, cluster.meetings,
                                  signaling_sid_prefix="s7_")
    try:
        session = Polling(replica.url)
        hello = await session.connect(cluster.issuer.issue(unique("u")))
        assert session.sid.startswith("s7_") and len(session.sid) == 3 + 20  # the Engine.IO sid
        assert hello["sid"].startswith("s7_") and hello["sid"] != session.sid  # the socket.io sid
        assert list(engine(replica).sockets) == [session.sid]
        assert list(replica.rooms.sockets) == [hello["sid"]]
    finally:
        await replica.stop()


async def test_a_refused_websocket_handshake_is_answered_like_polling_and_logs_no_error(cluster: Cluster) -> None:
    """A foreign Origin: 400 and the same body over both transports (was 403, empty, over
    WebSocket), and uvicorn's spurious "returned without completing handshake" error after
    such an answer is not logged."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    uvicorn_errors = logging.getLogger("uvicorn.error")
    uvicorn_errors.addHandler(handler)
    try:
        expected = "http://evil.example is not an accepted origin."
        async with httpx.AsyncClient(timeout=5) as http:
            polling = await http.get(f"{cluster.r1.url}/socket.io/", params={"EIO": "4", "transport": "polling"},
                                     headers={"Origin": "http://evil.example"})
        assert (polling.status_code, polling.json()) == (400, expected)
        ws_url = cluster.r1.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        for _ in range(3):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(ws_url, origin="http://evil.example", open_timeout=5):
                    pass
            assert refused.value.response.status_code == 400
            assert json.loads(refused.value.response.body) == expected
        await asyncio.sleep(0.2)  # uvicorn logs after the app returned
    finally:
        uvicorn_errors.removeHandler(handler)
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []


async def test_one_task_pings_every_socket_and_a_socket_that_stops_answering_is_closed(cluster: Cluster) -> None:
    """Engine.IO PINGs come from the server's PingScheduler (no task per socket): each
    answered PING is followed by the next one an interval later, and a session whose client
    stops answering is closed after ``ping_interval + ping_timeout``. A closed answering session
    fails the test at once (its GETs are answered 400 without a PING)."""
    # a timeout that a loaded machine's stalls do not reach (a 2 s one was, at load average 36):
    # the answering session must stay
    replica = await start_replica(unique("sig-pings"), cluster.stack, cluster.issuer, cluster.meetings,
                                  signaling_ping_interval_seconds=0.4, signaling_ping_timeout_seconds=8.0)
    try:
        answering, silent = Polling(replica.url), Polling(replica.url)
        for session in (answering, silent):
            await session.connect(cluster.issuer.issue(unique("u")))
        server = engine(replica)
        ping_tasks = [t for t in asyncio.all_tasks() if "_send_ping" in repr(t.get_coro())]
        assert ping_tasks == []  # python-engineio alone: one sleeping task per socket
        pings: list[float] = []
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def answer() -> None:
            """Answer each PING with a PONG until cancelled (a closed session fails it)."""
            while True:
                response = await answering.get()
                assert response.status_code == 200, (response.status_code, response.text)  # not closed
                for p in response.text.split(RS):
                    if p == "2":
                        pings.append(loop.time())
                        await answering.post("3")

        answerer = asyncio.create_task(answer())
        try:
            async with asyncio.timeout(30):
                while len(pings) < 4 and not answerer.done():
                    await asyncio.sleep(0.05)
            assert not answerer.done(), answerer.exception()
            gaps = [b - a for a, b in zip([started, *pings], pings)]
            # the next PING comes an interval after the PONG, not at once (the upper bound only
            # says "it comes": a loaded machine delays it)
            assert all(0.3 < gap < 8.0 for gap in gaps[1:4]), gaps
            # the silent client never answered its first PING: python-engineio's service task
            # closes its session (it checks every socket once per ping_timeout), not the other's,
            # which keeps answering meanwhile
            async with asyncio.timeout(30):
                while silent.sid in server.sockets and not server.sockets[silent.sid].closed and not answerer.done():
                    await asyncio.sleep(0.05)
            assert not answerer.done(), answerer.exception()
            assert answering.sid in server.sockets and not server.sockets[answering.sid].closed
        finally:
            answerer.cancel()
            await asyncio.gather(answerer, return_exceptions=True)
    finally:
        await replica.stop()


async def test_a_session_without_a_socketio_connection_is_closed_after_the_connect_timeout(cluster: Cluster) -> None:
    """Over WebSocket, with a connect timeout of 1 s: a session that never sends CONNECT, one
    whose CONNECT is refused (a junk token), one whose client sent DISCONNECT and one the
    server disconnected are closed, while answering every PING; a connected one stays."""
    replica = await start_replica(unique("sig-connect"), cluster.stack, cluster.issuer, cluster.meetings,
                                  signaling_connect_timeout_seconds=1.0)
    sockets: list[RawSocket] = []
    try:
        silent = await RawSocket.open(replica.url, None)
        refused = await RawSocket.open(replica.url, None)
        await refused.send('40{"token": "junk"}')
        left = await RawSocket.open(replica.url, cluster.issuer.issue(unique("u")))
        connected = await RawSocket.open(replica.url, cluster.issuer.issue(unique("u")))
        sockets += [silent, refused, left, connected]
        await asyncio.sleep(0.5)
        await left.send("41")
        loop = asyncio.get_running_loop()
        started = loop.time()
        for name, raw in (("silent", silent), ("refused", refused), ("left", left)):
            await raw.closed(timeout=15)  # ConnectionClosed, or TimeoutError: the test fails
            assert loop.time() - started < 15, name
        assert any(str(frame).startswith("44") for frame in refused.frames), refused.frames
        # the connected session is not touched: it still answers a call after the others closed
        await asyncio.sleep(1.5)
        assert (await connected.call("leave", {"meeting_id": unique("m")}))["error"]["code"] == "not_in_room"
        assert await scraped_value(replica.url, "parley_signaling_unconnected_sessions_closed_total") == 3
        # the server's own DISCONNECT (a kick, a session taken over): a client that keeps the
        # Engine.IO session open anyway is closed at the deadline too
        await replica.app.engineio_server.disconnect(connected.sid, ignore_queue=True)
        await connected.closed(timeout=15)
        assert any(str(frame).startswith("41") for frame in connected.frames), connected.frames
        assert await scraped_value(replica.url, "parley_signaling_unconnected_sessions_closed_total") == 4
    finally:
        for raw in sockets:
            await raw.close()
        await replica.stop()


async def test_a_socket_that_does_not_read_is_dropped_once_its_queue_is_full(cluster: Cluster) -> None:
    """A client joins a room over WebSocket and stops reading (a 4 KiB receive buffer, and no
    frame read after its join's acknowledgement) while another member sends it offers of
    60 KB: once 256 KiB wait for it, the replica drops its connection, and the room hears
    ``peer-left``; a long-polling client that stops asking loses its session the same way. Before, every offer was queued for it (about 2.5 MB/s measured on one
    replica: RSS from 116 to 214 MiB in 40 s)."""
    replica = await start_replica(unique("sig-slow"), cluster.stack, cluster.issuer, cluster.meetings,
                                  signaling_max_queued_bytes=256 * 1024,
                                  signaling_rate_per_second=1000.0, signaling_rate_burst=1000)
    reader = None
    try:
        meeting, user_id = unique("m"), unique("u")
        sender = await cluster.peer(replica)
        cluster.meetings.admit(meeting, sender.user_id, user_id)  # type: ignore[attr-defined]
        assert (await sender.call("join", {"meeting_id": meeting}))["ok"]

        host, port = replica.url.removeprefix("http://").split(":")
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        tcp.setblocking(False)
        await asyncio.get_running_loop().sock_connect(tcp, (host, int(port)))
        reader = await websockets.connect(
            f"ws://{host}:{port}/socket.io/?EIO=4&transport=websocket", sock=tcp, max_queue=1, max_size=None
        )
        assert str(await reader.recv()).startswith("0{")
        await reader.send("40" + json.dumps({"token": cluster.issuer.issue(user_id)}))
        reader_sid = json.loads(str(await reader.recv())[2:])["sid"]
        await reader.send("421" + json.dumps(["join", {"meeting_id": meeting}]))
        while not str(frame := await reader.recv()).startswith("431"):
            pass
        assert json.loads(str(frame)[3:])[0]["ok"], frame
        await until(lambda: any(p["sid"] == reader_sid for p in sender.received("peer-joined")), what="peer-joined")

        sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" + ("a=x-pad:" + "y" * 1000 + "\r\n") * 60
        offers = 0
        while reader_sid in replica.rooms.sockets and offers < 500:  # ~30 MB at most
            await sender.call("offer", {"meeting_id": meeting, "to": reader_sid, "sdp": sdp})
            offers += 1
        assert reader_sid not in replica.rooms.sockets, f"still in the room after {offers} offers"
        left = await sender.next("peer-left", lambda p: p["sid"] == reader_sid)
        assert left["reason"] == "disconnected"
        assert await scraped_value(replica.url, "parley_signaling_slow_consumers_total") == 1

        # over long-polling, a client that stops sending GETs: its session is closed
        polling_user = unique("u")
        cluster.meetings.admit(meeting, polling_user)
        polling = Polling(replica.url)
        polling_sid = (await polling.connect(cluster.issuer.issue(polling_user)))["sid"]
        await polling.post("422" + json.dumps(["join", {"meeting_id": meeting}]))
        assert json.loads((await polling.receive(lambda p: p.startswith("432")))[3:])[0]["ok"]
        offers = 0
        while polling_sid in replica.rooms.sockets and offers < 100:  # ~6 MB at most
            await sender.call("offer", {"meeting_id": meeting, "to": polling_sid, "sdp": sdp})
            offers += 1
        assert polling_sid not in replica.rooms.sockets, f"still in the room after {offers} offers"
        assert (await polling.get()).status_code == 400  # the session is gone
        assert await scraped_value(replica.url, "parley_signaling_slow_consumers_total") == 2
    finally:
        if reader is not None:
            reader.transport.abort()
        await replica.stop()
