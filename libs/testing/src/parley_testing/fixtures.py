"""Pytest fixtures (registered as the ``parley`` plugin) for tests against the real stack.

Integration tests get the real Kafka and Mongo-wire server of the test stack. A test that
needs them fails, never skips, when the stack is missing.
"""

import uuid
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient

from parley_testing.stack import Stack, load_stack
from parley_testing.tokens import TokenIssuer


@pytest.fixture(scope="session")
def stack() -> Stack:
    return load_stack()


@pytest.fixture
async def mongo(stack: Stack) -> AsyncIterator[AsyncMongoClient]:
    client: AsyncMongoClient = AsyncMongoClient(stack.mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def unique_name() -> str:
    """A fresh name for a database, consumer group or user, so tests never share state."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def token_issuer() -> TokenIssuer:
    return TokenIssuer()
