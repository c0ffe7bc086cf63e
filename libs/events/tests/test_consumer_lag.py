"""parley_kafka_consumer_lag_records: unit tests of ConsumerLag.observe, and its FastStream
middleware on a real subscriber against the test stack's Kafka."""

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from parley_events import ConsumerLag
from parley_testing import eventually
from parley_testing.kafka import scratch_topic


class Consumer:
    def __init__(self, highwaters: dict[TopicPartition, int]) -> None:
        self.highwaters = highwaters

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.highwaters.get(partition)


def _record(topic: str, partition: int, offset: int) -> SimpleNamespace:
    return SimpleNamespace(topic=topic, partition=partition, offset=offset)


def test_the_lag_is_the_high_watermark_minus_the_offset_after_the_last_record_handled() -> None:
    registry = CollectorRegistry()
    lag = ConsumerLag(registry)
    consumer = Consumer({TopicPartition("t", 0): 10, TopicPartition("t", 1): 4})
    lag.observe(consumer, [_record("t", 0, 2), _record("t", 0, 5), _record("t", 1, 3), _record("u", 0, 1)])
    value = registry.get_sample_value
    assert value("parley_kafka_consumer_lag_records", {"topic": "t", "partition": "0"}) == 4
    assert value("parley_kafka_consumer_lag_records", {"topic": "t", "partition": "1"}) == 0
    # no high watermark known yet for u/0: nothing set
    assert value("parley_kafka_consumer_lag_records", {"topic": "u", "partition": "0"}) is None


@pytest.mark.integration
async def test_the_middleware_measures_a_subscriber_catching_up(stack) -> None:
    async with scratch_topic(stack.kafka_bootstrap_servers, "test-lag") as topic:
        seen, registry = await _consume_five_records(stack.kafka_bootstrap_servers, topic)
    assert seen[0] is None  # nothing handled yet
    assert seen[1] is not None and seen[1] > 0  # behind while catching up
    assert registry.get_sample_value("parley_kafka_consumer_lag_records", {"topic": topic, "partition": "0"}) == 0


async def _consume_five_records(bootstrap_servers: str, topic: str) -> tuple[list[float | None], CollectorRegistry]:
    """Publish 5 records to ``topic``, then consume them with the middleware; the lag seen by
    each handler call, and the registry once the lag reached 0."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        for i in range(5):  # offsets 0..4
            await producer.send_and_wait(topic, str(i).encode(), partition=0)
    finally:
        await producer.stop()

    registry = CollectorRegistry()
    lag = ConsumerLag(registry)
    broker = KafkaBroker(bootstrap_servers)
    seen: list[float | None] = []
    done = asyncio.Event()

    @broker.subscriber(topic, group_id=f"g-{topic}", auto_offset_reset="earliest")
    async def handle(body: int) -> None:  # the records are JSON numbers
        seen.append(registry.get_sample_value("parley_kafka_consumer_lag_records", {"topic": topic, "partition": "0"}))
        if len(seen) == 5:
            done.set()

    broker.add_middleware(lag.middleware())  # after the subscriber, as create_app does

    async def caught_up() -> bool:
        return registry.get_sample_value("parley_kafka_consumer_lag_records", {"topic": topic, "partition": "0"}) == 0

    await broker.start()
    try:
        await asyncio.wait_for(done.wait(), 30)
        # the middleware runs after the handler returned: polled, a busy machine may delay it
        await eventually(caught_up, timeout_s=10, interval_s=0.05)
    finally:
        await broker.stop()
    return seen, registry
