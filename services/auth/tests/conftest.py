"""The auth app run in-process against the real FerretDB and Kafka of the test stack: its
settings (a database and instance of its own per test), the database, the running app and an
HTTP client to it. Modules needing another app override ``settings`` or ``app``."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from parley_auth.config import Settings
from parley_auth.domain.keys import generate_pem
from parley_auth.domain.passwords import Passwords
from parley_auth.main import create_app
from parley_events.topics import PRESENCE
from parley_testing import Stack, commit_group_at_end
from parley_testing.lifespan import running


@pytest.fixture
def settings(stack: Stack, unique_name: str, tmp_path: Path) -> Settings:
    key = tmp_path / "jwt.pem"
    key.write_bytes(generate_pem())
    return Settings(
        environment="production",
        instance_id=unique_name,
        jwt_private_key_file=key,
        mongo_uri=stack.mongo_uri,
        mongo_database=unique_name,
        kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
        presence_consumer_group=unique_name,  # not the test stack's auth replicas' groups
        api_key_use_consumer_group=unique_name,
        guest_meetings_consumer_group=unique_name,
    )


@pytest.fixture
async def db(mongo: AsyncMongoClient, unique_name: str) -> AsyncIterator[AsyncDatabase]:
    yield mongo[unique_name]
    await mongo.drop_database(unique_name)


@pytest.fixture
async def app(settings: Settings, db: AsyncDatabase, stack: Stack) -> AsyncIterator[FastAPI]:
    # the app's own presence consumer group starts at the topic's end (not its whole history)
    await commit_group_at_end(stack.kafka_bootstrap_servers, settings.presence_consumer_group, PRESENCE)
    # cheaper argon2id parameters keep the suite fast; the defaults are unit-tested
    application = create_app(settings, passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)))
    async with running(application) as running_app:  # a slow shutdown gets 90 s, and a report
        yield running_app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://auth.test") as http:
        yield http
