"""Helpers of the signaling tests: real replicas on real uvicorn servers, against real Kafka.

Each replica is ``create_app(settings)`` served by ``uvicorn.Server`` on a free loopback port,
with its own instance id, the sandbox's Kafka, a JWKS verifier fed by a
:class:`parley_testing.TokenIssuer`, and the meetings membership answered by
:class:`FakeMeetings` (an httpx ``MockTransport``: meetings itself is tested elsewhere).
Clients are python-socketio ``AsyncClient``s on the WebSocket transport.
"""

import asyncio
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
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from parley_events import EventData, OutgoingEvent, ReceivedEvent, decode, encode
from parley_security import MeetingsClient
from parley_signaling.config import Settings
from parley_signaling.domain.rooms import RoomService
from parley_signaling.fanout import KafkaFanoutManager
from parley_signaling.main import create_app
from parley_testing import Stack, TokenIssuer

ALLOWED_ORIGIN = "http://parley.test"
DEFAULT_TIMEOUT = 10.0


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
        self.meetings: set[str] = set()
        self.unavailable: set[str] = set()

    def admit(self, meeting_id: str, *user_ids: str, status: str = "active") -> None:
        self.meetings.add(meeting_id)
        for user_id in user_ids:
            self.members[(meeting_id, user_id)] = status

    def _answer(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["api", "meetings"] or parts[3] != "membership":
            return httpx.Response(404)
        meeting_id = parts[2]
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
        if meeting_id in self.unavailable:
            return httpx.Response(503)
        if meeting_id not in self.meetings:
            return httpx.Response(404, json={"detail": {"code": "meeting_not_found", "message": "no"}})
        status = self.members.get((meeting_id, user_id))
        if status is None:
            return httpx.Response(403, json={"detail": {"code": "not_a_participant", "message": "no"}})
        return httpx.Response(
            200, json={"meeting_id": meeting_id, "user_id": user_id, "role": "participant", "status": status}
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
    name: str, stack: Stack, issuer: TokenIssuer, meetings: FakeMeetings, **overrides: Any
) -> Replica:
    settings = Settings(
        environment="local",
        instance_id=name,
        log_level="WARNING",
        kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
        allowed_origins=[ALLOWED_ORIGIN],
        **overrides,
    )
    app = create_app(settings, verifier=issuer.verifier(), meetings=meetings.client())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", timeout_graceful_shutdown=3)
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


class TopicTail:
    """Reads a topic from its end at creation (no consumer group)."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self.seen: list[ReceivedEvent] = []

    async def find(self, where: Callable[[ReceivedEvent], bool], timeout: float = DEFAULT_TIMEOUT) -> ReceivedEvent:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.seen:
                if where(event):
                    return event
            if time.monotonic() > deadline:
                raise AssertionError("event not found on the topic")
            batches = await self._consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    self.seen.append(decode(record.value, dict(record.headers or []), record.key))
