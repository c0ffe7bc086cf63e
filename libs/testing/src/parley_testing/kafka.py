"""Read what services published to the real Kafka, from the moment a test starts watching."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition

from parley_events import TOPICS, ReceivedEvent, decode


class TopicTail:
    """Records appended to one topic after :func:`tail_topic` opened it."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer

    async def events(self, *, subject: str, count: int = 1, timeout_s: float = 15.0) -> list[ReceivedEvent]:
        """Wait for ``count`` CloudEvents whose ``subject`` is ``subject``; fewer on timeout."""
        found: list[ReceivedEvent] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(found) < count and loop.time() < deadline:
            batches = await self._consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    event = decode(record.value)
                    if event.subject == subject:
                        found.append(event)
        return found


@asynccontextmanager
async def tail_topic(bootstrap_servers: str, topic: str) -> AsyncIterator[TopicTail]:
    """Open ``topic`` at its current end offsets; raises ``AssertionError`` if it does not exist."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            raise AssertionError(f"topic {topic} does not exist")
        spec = next(spec for spec in TOPICS if spec.name == topic)
        partitions = [TopicPartition(topic, p) for p in range(spec.partitions)]
        consumer.assign(partitions)
        for partition, offset in (await consumer.end_offsets(partitions)).items():
            consumer.seek(partition, offset)
        yield TopicTail(consumer)
    finally:
        await consumer.stop()
