"""The auth app run in-process against the real FerretDB and Kafka of the test stack: its
settings (a database, an instance and consumer groups of its own per test), the database, the
running app and an HTTP client to it. Modules needing another app override ``settings`` or
``app``; helpers for them are in auth_testkit.py."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

sys.path.insert(0, str(Path(__file__).parent))

from auth_testkit import cheap_passwords, own_consumer_groups, start_groups_at_end  # noqa: E402

from parley_auth.config import Settings  # noqa: E402
from parley_auth.domain.keys import generate_pem  # noqa: E402
from parley_auth.main import create_app  # noqa: E402
from parley_testing import Stack, drop_database  # noqa: E402
from parley_testing.lifespan import running  # noqa: E402


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
        **own_consumer_groups(unique_name),
    )


@pytest.fixture
async def db(mongo: AsyncMongoClient, unique_name: str) -> AsyncIterator[AsyncDatabase]:
    yield mongo[unique_name]
    await drop_database(mongo, unique_name)


@pytest.fixture
async def app(settings: Settings, db: AsyncDatabase) -> AsyncIterator[FastAPI]:
    await start_groups_at_end(settings)
    application = create_app(settings, passwords=cheap_passwords())
    async with running(application) as running_app:  # a slow shutdown gets 90 s, and a report
        yield running_app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://auth.test") as http:
        yield http
