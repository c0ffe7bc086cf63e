"""Fixtures of the signaling tests (helpers in signaling_testkit.py, importable from the tests)."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).parent))

from signaling_testkit import Cluster, FakeMeetings, start_replica, unique  # noqa: E402

from parley_events.topics import PARTICIPANTS  # noqa: E402
from parley_testing import Stack, TokenIssuer, TopicTail, tail_topic  # noqa: E402


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(stack: Stack) -> AsyncIterator[Cluster]:
    issuer = TokenIssuer()
    meetings = FakeMeetings()
    run = unique("sig")
    overrides = {"signaling_rate_per_second": 20.0, "signaling_rate_burst": 40}
    r1 = await start_replica(f"{run}-1", stack, issuer, meetings, **overrides)
    r2 = await start_replica(f"{run}-2", stack, issuer, meetings, **overrides)
    cluster = Cluster(stack=stack, issuer=issuer, meetings=meetings, r1=r1, r2=r2)
    try:
        yield cluster
    finally:
        for peer in cluster.peers:
            try:
                await peer.close()
            except Exception:  # noqa: BLE001
                pass
        await r1.stop()
        await r2.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kafka_producer(stack: Stack) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap_servers)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def participants_tail(stack: Stack) -> AsyncIterator[TopicTail]:
    """``parley.participants`` from its end at the test's start."""
    async with tail_topic(stack.kafka_bootstrap_servers, PARTICIPANTS.name) as tail:
        yield tail


@pytest.fixture
def meeting() -> str:
    return unique("m")
