"""Helpers of the signaling tests: real replicas on real uvicorn servers, against real Kafka.

Each replica is ``create_app(settings)`` served by ``uvicorn.Server`` on a free loopback port,
with its own instance id, the sandbox's Kafka, a JWKS verifier fed by a
:class:`parley_testing.TokenIssuer`, and the meetings membership answered by
:class:`FakeMeetings` (an httpx ``MockTransport``: meetings itself is tested elsewhere).
Clients are python-socketio ``AsyncClient``s on the WebSocket transport, or
:class:`RawSocket` / :class:`RawPolling`, which send raw Engine.IO 4 / socket.io 5 frames for
inputs the official clients cannot produce.
"""

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import socketio
import uvicorn
import websockets
from aiokafka import AIOKafkaProducer

from parley_events import EventData, OutgoingEvent, encode
from parley_security import MeetingsClient
from parley_signaling.config import Settings
from parley_signaling.domain.rooms import RoomService
from parley_signaling.fanout import KafkaFanoutManager
from parley_signaling.main import create_app
from parley_signaling.websocket_protocol import WebSocketProtocol
from parley_testing import Stack, TokenIssuer

ALLOWED_ORIGIN = "http://parley.test"
# Generous: two in-process replicas share the test's event loop and Kafka with whatever runs
# beside them (the suite runs on two workers); the machine may be loaded.
DEFAULT_TIMEOUT = 30.0


def unique(prefix: str = "m") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


async def until(condition: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class FakeMeetings:
    """Membership answers of meetings: ``GET /api/meetings/{id}/membership`` with a bearer token."""

    def __init__(self) -> None:
        self.members: dict[tuple[str, str], str] = {}  # (meeting_id, user_id) -> status
        self.hosts: dict[str, str] = {}  # meeting_id -> its host's user id
        self.meetings: set[str] = set()
        self.unavailable: set[str] = set()
        self.delays: dict[str, float] = {}  # meeting_id -> seconds before answering
        self.removed: set[tuple[str, str]] = set()  # (meeting_id, user_id) the host removed


    def admit(self, meeting_id: str, *user_ids: str, status: str = "active", host: str | None = None) -> None:
        self.meetings.add(meeting_id)
        if host is not None:
            self.hosts[meeting_id] = host
        for user_id in user_ids:
            self.members[(meeting_id, user_id)] = status

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["api", "meetings"] or parts[3] != "membership":
            return httpx.Response(404)
        meeting_id = parts[2]
        await asyncio.sleep(self.delays.get(meeting_id, 0.0))
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
        if meeting_id in self.unavailable:
            return httpx.Response(503)
        if meeting_id not in self.meetings:
            return httpx.Response(404, json={"detail": {"code": "meeting_not_found", "message": "no"}})
        status = self.members.get((meeting_id, user_id))
        if (meeting_id, user_id) in self.removed:
            return httpx.Response(403, json={"detail": {"code": "removed_from_meeting", "message": "removed"}})
        if status is None:
            return httpx.Response(403, json={"detail": {"code": "not_a_participant", "message": "no"}})
        return httpx.Response(
            200,
            json={
                "meeting_id": meeting_id,
                "user_id": user_id,
                "role": "host" if self.hosts.get(meeting_id) == user_id else "participant",
                "status": status,
            },
        )

    def client(self) -> MeetingsClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self._answer), base_url="http://meetings.test")
        return MeetingsClient("http://meetings.test", http=http)


@dataclass
class Replica:
    """One running signaling app."""

    name: str
    app: socketio.ASGIApp
    server: uvicorn.Server
    task: asyncio.Task
    url: str

    @property
    def rooms(self) -> RoomService:
        return self.app.other_asgi_app.state.rooms

    @property
    def fanout(self) -> KafkaFanoutManager:
        return self.app.other_asgi_app.state.fanout

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 20)


async def start_replica(
    name: str, stack: Stack, issuer: TokenIssuer, meetings: FakeMeetings, *, verifier: Any = None, **overrides: Any
) -> Replica:
    settings = Settings(
        environment="local",
        instance_id=name,
        log_level="WARNING",
        kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
        allowed_origins=[ALLOWED_ORIGIN],
        **{"signaling_link_host": "127.0.0.1", **overrides},  # relays over the replica link, as deployed
    )
    app = create_app(settings, verifier=verifier or issuer.verifier(), meetings=meetings.client())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # as deployed (deploy/local/components.py, SIGNALING_UVICORN_OPTIONS): uvicorn stops reading
    # a WebSocket message over the limit, no permessage-deflate, no keepalive pings of its own
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=3,
        ws=WebSocketProtocol,
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=0,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"replica {name} did not start")
        if time.monotonic() > deadline:
            raise RuntimeError(f"replica {name} did not start in time")
        await asyncio.sleep(0.02)
    return Replica(name=name, app=app, server=server, task=task, url=f"http://127.0.0.1:{port}")


@dataclass
class Peer:
    """A socket.io client that records every event it receives."""

    name: str
    client: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(reconnection=False))
    events: list[tuple[str, Any]] = field(default_factory=list)
    connect_error: Any = None

    def __post_init__(self) -> None:
        async def on_any(event: str, *args: Any) -> None:
            self.events.append((event, args[0] if len(args) == 1 else args))

        async def on_connect_error(data: Any) -> None:
            self.connect_error = data

        self.client.on("*", on_any)
        self.client.on("connect_error", on_connect_error)

    async def connect(
        self,
        url: str,
        token: str | None,
        headers: dict[str, str] | None = None,
        transports: tuple[str, ...] = ("websocket",),
    ) -> None:
        await self.client.connect(
            url,
            auth={"token": token} if token is not None else None,
            headers=headers or {},
            transports=list(transports),
            socketio_path="socket.io",
            wait_timeout=10,
        )

    @property
    def sid(self) -> str:
        return self.client.get_sid("/")

    async def call(self, event: str, *data: Any) -> Any:
        return await self.client.call(event, data[0] if len(data) == 1 else data, timeout=DEFAULT_TIMEOUT)

    def received(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    async def next(self, event: str, where: Callable[[Any], bool] = lambda _: True, timeout: float = DEFAULT_TIMEOUT) -> Any:
        found = await until(
            lambda: next((d for n, d in self.events if n == event and where(d)), None), timeout, f"{self.name}: {event}"
        )
        return found

    async def close(self) -> None:
        if not self.client.connected:
            return
        if self.client.transport() == "polling":
            # python-engineio's client otherwise waits for its pending long-poll (~30 s)
            await self.client.eio.disconnect(abort=True)
        else:
            await self.client.disconnect()


@dataclass
class Cluster:
    """Two signaling replicas sharing Kafka, one token issuer and one fake meetings."""

    stack: Stack
    issuer: TokenIssuer
    meetings: FakeMeetings
    r1: Replica
    r2: Replica
    peers: list[Peer] = field(default_factory=list)

    async def peer(self, replica: Replica, user_id: str | None = None, name: str = "Test User") -> Peer:
        """A connected client of ``replica`` for a fresh (or given) user."""
        user_id = user_id or unique("u")
        peer = Peer(f"{user_id}@{replica.name}")
        await peer.connect(replica.url, self.issuer.issue(user_id, name))
        peer.user_id = user_id  # type: ignore[attr-defined]
        self.peers.append(peer)
        await peer.next("session")
        return peer


async def publish_event(producer: AIOKafkaProducer, data: EventData | OutgoingEvent) -> OutgoingEvent:
    """Publish ``data`` as a CloudEvent like a service's outbox relay would.

    Passing an :class:`OutgoingEvent` again re-publishes it with the same id (what an outbox
    relay may do after a crash).
    """
    event = data if isinstance(data, OutgoingEvent) else encode(data, source="/parley/tests")
    await producer.send_and_wait(event.topic, event.value, key=event.key, headers=list(event.headers.items()))
    return event


class RawSocket:
    """A socket.io client over WebSocket that sends whatever frame it is given.

    :meth:`open` does the Engine.IO and socket.io handshakes with ``token``; :meth:`call`
    sends ``42<id>[event, *args]`` and returns the acknowledgement's first argument (``None``
    for an empty ``43<id>[]``). Pings are answered; acknowledgements are kept by id in
    :attr:`acks`, every other frame in :attr:`frames`.
    """

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.frames: list[str | bytes] = []
        self.acks: dict[int, Any] = {}
        self.sid = ""
        self._last_id = 0

    @classmethod
    async def open(cls, url: str, token: str | None) -> "RawSocket":
        ws = await websockets.connect(
            url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", max_size=None
        )
        raw = cls(ws)
        assert (await raw._recv(DEFAULT_TIMEOUT)).startswith("0{")
        if token is not None:
            await raw.send("40" + json.dumps({"token": token}))
            connected = await raw._recv(DEFAULT_TIMEOUT)
            assert connected.startswith("40{"), connected
            raw.sid = json.loads(connected[2:])["sid"]
        return raw

    async def send(self, frame: str | bytes) -> None:
        await self.ws.send(frame)

    def next_id(self) -> int:
        """A fresh acknowledgement id, for frames written by hand (``f"42{id}[...]"``)."""
        self._last_id += 1
        return self._last_id

    async def emit(self, event: Any, *args: Any) -> int:
        """Send ``42<id>[event, *args]`` without waiting; the acknowledgement id."""
        ack_id = self.next_id()
        await self.send(f"42{ack_id}" + json.dumps([event, *args], ensure_ascii=False))
        return ack_id

    async def call(self, event: Any, *args: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
        return await self.ack(await self.emit(event, *args), timeout)

    async def ack(self, ack_id: int, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The first argument of acknowledgement ``ack_id`` (``None`` when it has none)."""
        deadline = time.monotonic() + timeout
        while ack_id not in self.acks:
            frame = await self._recv(max(0.01, deadline - time.monotonic()))
            if isinstance(frame, str) and frame.startswith("43"):
                head, _, body = frame[2:].partition("[")
                args = json.loads("[" + body)
                self.acks[int(head)] = args[0] if args else None
            else:
                self.frames.append(frame)
        return self.acks[ack_id]

    async def closed(self, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Wait until the server closes the connection; its close code."""
        try:
            while True:
                self.frames.append(await self._recv(timeout))
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None

    async def close(self) -> None:
        await self.ws.close()

    async def _recv(self, timeout: float) -> str | bytes:
        """The next frame that is not a ping."""
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
            if frame == "2":
                await self.ws.send("3")
                continue
            return frame


class RawPolling:
    """A socket.io client over HTTP long-polling that sends raw packets (one POST per call).

    :meth:`post` sends packets joined with the record separator (``\\x1e``); :meth:`poll` is
    one long-polling GET and returns the packets it carried.
    """

    def __init__(self, http: httpx.AsyncClient, eio_sid: str) -> None:
        self.http = http
        self.eio_sid = eio_sid
        self.sid = ""

    @classmethod
    async def open(cls, url: str, token: str) -> "RawPolling":
        http = httpx.AsyncClient(base_url=url, timeout=DEFAULT_TIMEOUT)
        response = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        response.raise_for_status()
        raw = cls(http, json.loads(response.text[1:])["sid"])
        await raw.post("40" + json.dumps({"token": token}))
        connected = next(p for p in await raw.poll() if p.startswith("40"))
        raw.sid = json.loads(connected[2:])["sid"]
        return raw

    async def post(self, *packets: str | bytes) -> httpx.Response:
        """One POST of ``packets``; a single ``bytes`` argument is sent as the body, as is."""
        body = packets[0] if len(packets) == 1 and isinstance(packets[0], bytes) else "\x1e".join(packets).encode()
        return await self.http.post(
            "/socket.io/", params={"EIO": "4", "transport": "polling", "sid": self.eio_sid}, content=body
        )

    async def poll(self) -> list[str]:
        response = await self.http.get("/socket.io/", params={"EIO": "4", "transport": "polling", "sid": self.eio_sid})
        response.raise_for_status()
        return response.text.split("\x1e")

    async def acks(self, *ack_ids: int) -> dict[int, Any]:
        """Poll until acknowledgements ``ack_ids`` arrived; their first arguments by id."""
        found: dict[int, Any] = {}
        deadline = time.monotonic() + DEFAULT_TIMEOUT
        while set(found) != set(ack_ids):
            assert time.monotonic() < deadline, f"acks {ack_ids} not received: {found}"
            for packet in await self.poll():
                if packet.startswith("43"):
                    head, _, body = packet[2:].partition("[")
                    args = json.loads("[" + body)
                    found[int(head)] = args[0] if args else None
        return found

    async def close(self) -> None:
        await self.post("1")
        await self.http.aclose()


def error_code(ack: dict) -> str:
    assert ack["ok"] is False, ack
    return ack["error"]["code"]


async def in_room(cluster: Cluster, meeting: str, host: str, *placements: str):
    """The host on r1, then one peer per placement; every one joined the room."""
    host_peer = await cluster.peer(cluster.r1, host)
    peers = [host_peer] + [await cluster.peer(getattr(cluster, where)) for where in placements]
    cluster.meetings.admit(meeting, *(p.user_id for p in peers), host=host)
    for peer in peers:
        assert (await peer.call("join", {"meeting_id": meeting}))["ok"]
    for i, earlier in enumerate(peers):
        for later in peers[i + 1 :]:
            await earlier.next("peer-joined", lambda d, sid=later.sid: d["sid"] == sid)
    return peers


class FakeSio:
    """The part of a socket.io ``AsyncServer`` that :class:`parley_signaling.users.UserDelivery`
    uses: records the rooms entered and the events emitted."""

    def __init__(self) -> None:
        self.rooms: list[tuple[str, str]] = []
        self.emitted: list[tuple[str, Any, dict]] = []

    async def enter_room(self, sid: str, room: str) -> None:
        self.rooms.append((sid, room))

    async def emit(self, event: str, data: Any, **kwargs: Any) -> None:
        self.emitted.append((event, data, kwargs))
