"""The outbox against the real Mongo-wire server and the real Kafka of the test stack."""

import asyncio
from datetime import UTC, datetime

import pytest
from faststream.kafka import KafkaBroker

from parley_events import MeetingCreated, OutboxRelay, kafka_publisher, outbox_entry, retry_write_conflicts
from parley_events.envelope import OutgoingEvent
from parley_testing import tail_topic

pytestmark = pytest.mark.integration


def _created(meeting_id: str) -> MeetingCreated:
    return MeetingCreated(
        meeting_id=meeting_id, host_id="u", title="t", created_at=datetime.now(UTC)
    )


async def test_relay_publishes_staged_events_in_order_and_clears_them(stack, mongo, unique_name):
    collection = mongo[unique_name]["meetings"]
    first, second = _created(f"{unique_name}-a"), _created(f"{unique_name}-a")
    await collection.insert_one(
        {"_id": "a", "outbox": [outbox_entry(first, source="/test"), outbox_entry(second, source="/test")]}
    )
    broker = KafkaBroker(stack.kafka_bootstrap_servers)
    await broker.start()
    try:
        async with tail_topic(stack.kafka_bootstrap_servers, "parley.meetings") as tail:
            relay = OutboxRelay([collection], kafka_publisher(broker))
            assert await relay.flush() == 2
            assert await relay.flush() == 0
            events = await tail.events(subject=f"{unique_name}-a", count=2)
        remaining = (await collection.find_one({"_id": "a"}))["outbox"]
    finally:
        await broker.stop()
        await mongo.drop_database(unique_name)
    assert [e.data for e in events] == [first, second]
    assert remaining == []


async def test_entries_stay_pending_while_kafka_fails_and_nothing_is_lost(mongo, unique_name):
    collection = mongo[unique_name]["meetings"]
    await collection.insert_one({"_id": "b", "outbox": [outbox_entry(_created("b"), source="/t")]})
    sent: list[OutgoingEvent] = []
    failing = True

    async def publish(event: OutgoingEvent) -> None:
        if failing:
            raise ConnectionError("kafka down")
        sent.append(event)

    relay = OutboxRelay([collection], publish)
    try:
        with pytest.raises(ConnectionError):
            await relay.flush()
        assert len((await collection.find_one({"_id": "b"}))["outbox"]) == 1
        failing = False
        assert await relay.flush() == 1
        assert (await collection.find_one({"_id": "b"}))["outbox"] == []
    finally:
        await mongo.drop_database(unique_name)
    assert [event.key for event in sent] == [b"b"]


async def test_concurrent_pushes_racing_two_relays_lose_nothing(mongo, unique_name):
    # Two replicas of a service: each stages events with its writes and runs its own relay.
    # No in-process lock: the store's single-document atomicity (writes that collide are
    # refused and run again) must keep every push and every removal.
    collection = mongo[unique_name]["meetings"]
    staged = [outbox_entry(_created(f"{unique_name}-s{i}"), source="/t") for i in range(20)]
    pushed = [outbox_entry(_created(f"{unique_name}-p{i}"), source="/t") for i in range(50)]
    await collection.insert_one({"_id": "c", "items": [], "outbox": staged})
    sent: list[str] = []

    async def publish(event: OutgoingEvent) -> None:
        await asyncio.sleep(0)
        sent.append(event.id)

    relays = [OutboxRelay([collection], publish), OutboxRelay([collection], publish)]

    @retry_write_conflicts
    async def push(i: int) -> None:
        # a state change and its event in one write, as a service stages them
        await collection.update_one({"_id": "c"}, {"$push": {"items": i, "outbox": pushed[i]}})

    try:
        await asyncio.gather(*(relay.flush() for relay in relays), *(push(i) for i in range(50)))
        await relays[0].flush()  # what the first flushes did not see
        doc = await collection.find_one({"_id": "c"})
    finally:
        await mongo.drop_database(unique_name)
    assert sorted(doc["items"]) == list(range(50))
    assert doc["outbox"] == []
    assert set(sent) == {entry["id"] for entry in staged + pushed}
