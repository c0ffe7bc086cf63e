"""Fixtures of the meetings tests: an in-process app on the real stack, tokens, Kafka tools."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection

from parley_events import EventData, encode
from parley_events.topics import API_KEYS, CONTACTS, PARTICIPANTS
from parley_meetings.config import Settings
from parley_meetings.main import create_app
from parley_meetings.messaging import WEBHOOK_TOPICS, contacts_group, webhooks_group
from parley_testing.lifespan import running
from parley_testing import Stack, TokenIssuer, commit_group_at_end, drop_database


@dataclass
class Client:
    """The app's HTTP client plus the means to act as a given user."""

    http: httpx.AsyncClient
    app: FastAPI
    issuer: TokenIssuer

    def auth(self, user_id: str, name: str | None = None) -> dict[str, str]:
        token = self.issuer.issue(user_id, name or user_id.title())
        return {"Authorization": f"Bearer {token}"}

    def collection(self) -> AsyncCollection:
        """The app's ``meetings`` collection."""
        return self.app.state.mongo[self.app.state.settings.mongo_database]["meetings"]

    async def outbox_drained(self, meeting_id: str) -> None:
        """Wait until the relay published every pending event of the meeting."""

        async def drained() -> bool:
            doc = await self.collection().find_one({"_id": meeting_id})
            return not doc.get("outbox")

        await eventually(drained)

    async def create(self, user_id: str, title: str = "Standup", **body: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/api/meetings", json={"title": title, **body}, headers=self.auth(user_id)
        )
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def settings(stack: Stack, unique_name: str) -> Settings:
    return Settings(
        environment="local",
        kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
        mongo_uri=stack.mongo_uri,
        mongo_database=unique_name,
        kafka_consumer_group=unique_name,
        api_keys_consumer_group=f"{unique_name}-api-keys",  # its own: a shared group rebalances
        public_base_url="http://parley.test",
        outbox_poll_interval_s=0.2,
    )


@pytest.fixture
async def client(settings: Settings, mongo, token_issuer: TokenIssuer) -> AsyncIterator[Client]:
    """The meetings app running in-process against the real Kafka and FerretDB."""
    # the app's consumer groups start at their topics' ends (not the whole history of the run)
    await asyncio.gather(
        *(
            commit_group_at_end(settings.kafka_bootstrap_servers, group, *topics)
            for group, topics in (
                (settings.kafka_consumer_group, [PARTICIPANTS]),
                (contacts_group(settings), [CONTACTS]),
                (webhooks_group(settings), WEBHOOK_TOPICS),
                (settings.api_keys_consumer_group, [API_KEYS]),
            )
        )
    )
    app = create_app(settings)
    app.state.verifier = token_issuer.verifier()
    try:
        async with running(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://meetings.test"
        ) as http:
            yield Client(http, app, token_issuer)
    finally:
        await drop_database(mongo, settings.mongo_database)


@pytest.fixture
async def produce(stack: Stack) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """``produce(value, key=..., headers=...)`` raw records, or ``produce(event_data)``."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap_servers)
    await producer.start()

    async def send(
        record: EventData | bytes, *, topic: str = PARTICIPANTS.name, key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        if isinstance(record, EventData):
            event = encode(record, source="/parley/signaling/test")
            await producer.send_and_wait(
                event.topic, event.value, key=event.key, headers=list(event.headers.items())
            )
        else:
            await producer.send_and_wait(topic, record, key=key, headers=headers or [])

    try:
        yield send
    finally:
        await producer.stop()


async def eventually(probe: Callable[[], Awaitable[Any]], *, timeout_s: float = 15.0) -> Any:
    """Call ``probe`` until it returns a truthy value; fail with its last value on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = await probe()
        if value or loop.time() > deadline:
            assert value, f"condition not met within {timeout_s}s: {value!r}"
            return value
        await asyncio.sleep(0.1)


@pytest.fixture
def wait_until():
    return eventually

