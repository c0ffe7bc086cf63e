"""Fixtures of the chat tests: the app in-process on the real stack, meetings faked over HTTP."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection

from parley_chat.config import Settings
from parley_chat.domain.models import Message
from parley_chat.main import create_app
from parley_chat.repository import doc_id
from parley_security import MeetingsClient
from parley_testing.lifespan import running
from parley_testing import Stack, TokenIssuer, drop_database


@dataclass
class FakeMeetings:
    """Stands in for meetings' ``GET /api/meetings/{id}/membership`` over HTTP.

    ``members[meeting_id][user_id] = role``; ``ended`` holds ended meetings; ``down`` makes
    every request fail like an unreachable service. ``requests`` records what was asked.
    """

    members: dict[str, dict[str, str]] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    down: bool = False
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("meetings is down", request=request)
        parts = request.url.path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["api", "meetings"] or parts[3] != "membership":
            return httpx.Response(404, json={"detail": "Not Found"})
        meeting_id = parts[2]
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
        if meeting_id not in self.members:
            return httpx.Response(404, json={"detail": {"code": "meeting_not_found", "message": "no"}})
        role = self.members[meeting_id].get(user_id)
        if role is None:
            return httpx.Response(403, json={"detail": {"code": "not_a_participant", "message": "no"}})
        status = "ended" if meeting_id in self.ended else "active"
        return httpx.Response(
            200, json={"meeting_id": meeting_id, "user_id": user_id, "role": role, "status": status}
        )

    def client(self) -> MeetingsClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle), base_url="http://meetings.test")
        return MeetingsClient("http://meetings.test", http=http)


@dataclass
class Client:
    """The app's HTTP client plus the means to act as a given user."""

    http: httpx.AsyncClient
    app: FastAPI
    issuer: TokenIssuer
    meetings: FakeMeetings

    def auth(self, user_id: str, name: str | None = None) -> dict[str, str]:
        token = self.issuer.issue(user_id, name or user_id.title())
        return {"Authorization": f"Bearer {token}"}

    def collection(self) -> AsyncCollection:
        return self.app.state.mongo[self.app.state.settings.mongo_database]["messages"]

    async def outbox_drained(self) -> None:
        """Wait until the relay published every stored message (no head marked ``behind``)."""
        heads = self.app.state.mongo[self.app.state.settings.mongo_database]["message_heads"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while await heads.count_documents({"behind": True}):
            assert loop.time() < deadline, "messages not all published within 15 s"
            await asyncio.sleep(0.05)

    async def post(self, user_id: str, meeting_id: str, message_id: str, text: str, **more: Any) -> httpx.Response:
        return await self.http.post(
            f"/api/chat/meetings/{meeting_id}/messages",
            json={"message_id": message_id, "text": text, **more},
            headers=self.auth(user_id),
        )

    def notes_collection(self) -> AsyncCollection:
        return self.app.state.mongo[self.app.state.settings.mongo_database]["notes"]

    async def get_notes(self, user_id: str, meeting_id: str) -> httpx.Response:
        return await self.http.get(f"/api/chat/meetings/{meeting_id}/notes", headers=self.auth(user_id))

    async def put_notes(self, user_id: str, meeting_id: str, text: Any) -> httpx.Response:
        return await self.http.put(
            f"/api/chat/meetings/{meeting_id}/notes", json={"text": text}, headers=self.auth(user_id)
        )

    async def history(self, user_id: str, meeting_id: str, **params: Any) -> httpx.Response:
        return await self.http.get(
            f"/api/chat/meetings/{meeting_id}/messages", params=params, headers=self.auth(user_id)
        )


@pytest.fixture
def settings(stack: Stack, unique_name: str) -> Settings:
    return Settings(
        environment="local",
        kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
        mongo_uri=stack.mongo_uri,
        mongo_database=unique_name,
        meetings_url="http://meetings.test",
        outbox_poll_interval_s=0.2,
        # the contact projection's own group, new at the topic's end (not the stack's replicas')
        kafka_consumer_group=unique_name,
        kafka_auto_offset_reset="latest",
    )


@pytest.fixture
def room(unique_name: str) -> str:
    """A meeting id unique to the test (events on the shared topic are matched by it)."""
    return f"{unique_name}-room"


@pytest.fixture
def fake_meetings(room: str) -> FakeMeetings:
    """``room`` hosted by alice with bob as participant; no other meeting exists."""
    return FakeMeetings(members={room: {"alice": "host", "bob": "participant"}})


@pytest.fixture
async def client(settings: Settings, mongo, token_issuer: TokenIssuer, fake_meetings: FakeMeetings) -> AsyncIterator[Client]:
    """The chat app running in-process against the real Kafka and FerretDB."""
    app = create_app(settings)
    app.state.verifier = token_issuer.verifier()
    app.state.meetings_client = fake_meetings.client()
    try:
        async with running(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://chat.test"
        ) as http:
            yield Client(http, app, token_issuer, fake_meetings)
    finally:
        await drop_database(mongo, settings.mongo_database)


class FakeRepository:
    """An in-memory :class:`parley_chat.repository.MessageRepository` (what the domain uses of it)."""

    def __init__(self) -> None:
        self.docs: dict[str, Message] = {}
        self.covered: list[Message] = []

    async def insert(self, message: Message) -> Message | None:
        key = doc_id(message.meeting_id, message.message_id)
        if key in self.docs:
            return None
        seq = 1 + sum(1 for m in self.docs.values() if m.meeting_id == message.meeting_id)
        stored = message.model_copy(update={"seq": seq})
        self.docs[key] = stored
        return stored

    async def cover(self, message: Message) -> None:
        self.covered.append(message)

    async def get(self, meeting_id: str, message_id: str) -> Message | None:
        return self.docs.get(doc_id(meeting_id, message_id))

    async def head(self, meeting_id: str) -> int:
        return max((m.seq for m in self.docs.values() if m.meeting_id == meeting_id), default=0)

    async def page(self, meeting_id: str, *, limit: int, before: int | None) -> list[Message]:
        rows = sorted((m for m in self.docs.values() if m.meeting_id == meeting_id), key=lambda m: -m.seq)
        if before is not None:
            rows = [m for m in rows if m.seq < before]
        return rows[:limit]


@pytest.fixture
def repo() -> FakeRepository:
    return FakeRepository()
