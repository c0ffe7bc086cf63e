"""The outbox against the real Mongo-wire server and the real Kafka of the test stack."""

import asyncio
from datetime import UTC, datetime

import pytest
from faststream.kafka import KafkaBroker

from parley_events import (
    MeetingCreated,
    OutboxRelay,
    kafka_sender,
    outbox_entry,
    retry_write_conflicts,
    stage,
    staged,
)
from parley_events.envelope import OutgoingEvent
from parley_testing import RecordingSend, drop_database, tail_topic

pytestmark = pytest.mark.integration


def _created(meeting_id: str, title: str = "t") -> MeetingCreated:
    return MeetingCreated(meeting_id=meeting_id, host_id="u", title=title, created_at=datetime.now(UTC))


async def _acked(event: OutgoingEvent) -> "asyncio.Future[object]":
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


def _first_copies(events: list, subject: str) -> list:
    """The first copy of each distinct event of ``subject``, in topic order."""
    seen: dict[str, object] = {}
    for event in events:
        if event.subject == subject:
            seen.setdefault(event.id, event)
    return list(seen.values())


async def test_relay_publishes_staged_events_in_order_and_clears_them(stack, mongo, unique_name):
    collection = mongo[unique_name]["meetings"]
    subject = f"{unique_name}-a"
    events = [_created(subject, title=str(i)) for i in range(6)]
    # one aggregate's events in two documents' outboxes, read in _id order
    await collection.insert_one({"_id": "a1", **staged(outbox_entry(e, source="/t") for e in events[:3])})
    await collection.insert_one({"_id": "a2", **staged(outbox_entry(e, source="/t") for e in events[3:])})
    broker = KafkaBroker(stack.kafka_bootstrap_servers)
    await broker.start()
    try:
        async with tail_topic(stack.kafka_bootstrap_servers, "parley.meetings") as tail:
            relay = OutboxRelay([collection], kafka_sender(broker))
            assert await relay.flush() == 6
            assert await relay.flush() == 0
            received = await tail.events(subject=subject, count=6)
        docs = [doc async for doc in collection.find({})]
    finally:
        await broker.stop()
        await drop_database(mongo, unique_name)
    assert [e.data for e in received] == events
    assert all(doc["outbox"] == [] and "outbox_pending" not in doc for doc in docs)


async def test_entries_stay_pending_while_kafka_fails_and_nothing_is_lost(mongo, unique_name):
    collection = mongo[unique_name]["meetings"]
    await collection.insert_one({"_id": "b", **staged([outbox_entry(_created("b"), source="/t")])})
    send = RecordingSend(failing=True)

    relay = OutboxRelay([collection], send)
    try:
        with pytest.raises(ConnectionError):
            await relay.flush()
        doc = await collection.find_one({"_id": "b"})
        assert len(doc["outbox"]) == 1 and doc["outbox_pending"] is True
        send.failing = False
        assert await relay.flush() == 1
        doc = await collection.find_one({"_id": "b"})
    finally:
        await drop_database(mongo, unique_name)
    assert doc["outbox"] == [] and "outbox_pending" not in doc
    assert [event.key for event in send.sent] == [b"b"]


async def test_concurrent_pushes_racing_two_relays_lose_nothing(mongo, unique_name):
    # Two replicas of a service: each stages events with its writes and runs its own relay.
    # No in-process lock: the store's single-document atomicity (writes that collide are
    # refused and run again) must keep every push, every removal and the pending marker.
    collection = mongo[unique_name]["meetings"]
    staged_entries = [outbox_entry(_created(f"{unique_name}-s{i}"), source="/t") for i in range(20)]
    pushed = [outbox_entry(_created(f"{unique_name}-p{i}"), source="/t") for i in range(50)]
    await collection.insert_one({"_id": "c", "items": [], **staged(staged_entries)})
    sent: list[str] = []

    async def send(event: OutgoingEvent) -> "asyncio.Future[object]":
        await asyncio.sleep(0)
        sent.append(event.id)
        return await _acked(event)

    relays = [OutboxRelay([collection], send), OutboxRelay([collection], send)]

    @retry_write_conflicts
    async def push(i: int) -> None:
        # a state change and its event in one write, as a service stages them
        await collection.update_one({"_id": "c"}, stage({"$push": {"items": i}}, pushed[i]))

    async def relay_while_pushing(relay: OutboxRelay) -> None:
        for _ in range(5):
            await relay.flush()

    try:
        await asyncio.gather(*(relay_while_pushing(r) for r in relays), *(push(i) for i in range(50)))
        await relays[0].flush()  # what the racing flushes did not see
        doc = await collection.find_one({"_id": "c"})
    finally:
        await drop_database(mongo, unique_name)
    assert sorted(doc["items"]) == list(range(50))
    assert doc["outbox"] == []
    assert "outbox_pending" not in doc
    assert set(sent) == {entry["id"] for entry in staged_entries + pushed}


async def test_two_relays_on_kafka_keep_each_aggregates_order_and_lose_nothing(stack, mongo, unique_name):
    # Writers append events of three aggregates to their documents while two relays (two
    # replicas, each with its own Kafka producer) publish: every event reaches the topic, and
    # the first copies of one aggregate's events are in the order they were staged.
    collection = mongo[unique_name]["meetings"]
    subjects = [f"{unique_name}-k{n}" for n in range(3)]
    for subject in subjects:
        await collection.insert_one({"_id": subject, **staged([])})
    expected = {s: [_created(s, title=str(i)) for i in range(30)] for s in subjects}

    @retry_write_conflicts
    async def push(subject: str, data: MeetingCreated) -> None:
        await collection.update_one({"_id": subject}, stage({}, outbox_entry(data, source="/t")))

    async def writer(subject: str) -> None:
        for data in expected[subject]:
            await push(subject, data)

    brokers = [KafkaBroker(stack.kafka_bootstrap_servers) for _ in range(2)]
    for broker in brokers:
        await broker.start()
    relays = [OutboxRelay([collection], kafka_sender(broker), batch_size=4) for broker in brokers]
    try:
        async with tail_topic(stack.kafka_bootstrap_servers, "parley.meetings") as tail:
            stop = asyncio.Event()

            async def relay_until_stopped(relay: OutboxRelay) -> None:
                while not stop.is_set():
                    await relay.flush()
                    await asyncio.sleep(0)

            relaying = [asyncio.create_task(relay_until_stopped(r)) for r in relays]
            await asyncio.gather(*(writer(s) for s in subjects))
            stop.set()
            await asyncio.gather(*relaying)
            await relays[1].flush()
            events = await tail.events_until(lambda found: len({e.id for e in found if e.subject in subjects}) >= 90)
            received = {s: _first_copies(events, s) for s in subjects}
        left = await collection.count_documents({"outbox_pending": True})
    finally:
        for broker in brokers:
            await broker.stop()
        await drop_database(mongo, unique_name)
    for subject in subjects:
        assert [e.data for e in received[subject]] == expected[subject]
    assert left == 0


async def test_the_store_filters_the_pending_set_itself(mongo, unique_name):
    # FerretDB 1.13 pushes the relay's equality filter down to PostgreSQL; the former query
    # ({"outbox.0": {"$exists": true}}) was evaluated in FerretDB over every document.
    database = mongo[unique_name]
    await database["m"].insert_one({"_id": "x", **staged([outbox_entry(_created("x"), source="/t")])})
    try:
        new = await database.command("explain", {"find": "m", "filter": {"outbox_pending": True}})
        old = await database.command("explain", {"find": "m", "filter": {"outbox.0": {"$exists": True}}})
    finally:
        await drop_database(mongo, unique_name)
    assert new["pushdown"] is True
    assert old["pushdown"] is False
