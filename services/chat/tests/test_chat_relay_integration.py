"""The message relay against the real Mongo-wire store and the real Kafka of the test stack:
two replicas posting into one meeting, a replica that crashed before publishing, Kafka failing."""

import asyncio
from datetime import UTC, datetime

import pytest
from faststream.kafka import KafkaBroker

from parley_chat.domain.models import Message
from parley_chat.relay import MessageRelay
from parley_chat.repository import MessageRepository
from parley_events import OutgoingEvent, kafka_sender
from parley_events.topics import CHAT
from parley_testing import RecordingSend, drop_database, tail_topic

pytestmark = pytest.mark.integration

SWEEP_S = 0.2


def _message(meeting_id: str, i: int) -> Message:
    return Message(message_id=f"relay-{i:04d}", meeting_id=meeting_id, sender_id="u", sender_name="U",
                   text=str(i), posted_at=datetime.now(UTC))


def _first_seqs(events: list, meeting_id: str) -> list[int]:
    """The ``seq`` of the first copy of each event of the meeting, in topic order."""
    first: dict[str, int] = {}
    for event in events:
        if event.subject == meeting_id:
            first.setdefault(event.id, event.data.seq)
    return list(first.values())


@pytest.fixture
async def broker(stack):
    broker = KafkaBroker(stack.kafka_bootstrap_servers)
    await broker.start()
    yield broker
    await broker.stop()


async def _settled(repo: MessageRepository, meeting_id: str, seq: int) -> None:
    """Wait until the meeting's watermark reached ``seq`` and its head is no longer behind."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while await repo.watermark(meeting_id) < seq or await repo.heads.count_documents({"behind": True}):
        assert loop.time() < deadline, f"watermark {await repo.watermark(meeting_id)} not at {seq} in 15 s"
        await asyncio.sleep(0.05)


async def test_two_replicas_posting_into_one_meeting_publish_every_message_in_seq_order(
    stack, mongo, unique_name, broker
) -> None:
    meeting_id = f"{unique_name}-m"
    replicas = [MessageRepository(mongo[unique_name]) for _ in range(2)]
    await replicas[0].ensure_indexes()
    send = kafka_sender(broker)

    async def slow_send(event: OutgoingEvent) -> object:  # replica 0's Kafka lags: 1 goes out after 7
        await asyncio.sleep(0.02)
        return await send(event)

    relays = [MessageRelay(repo, s, sweep_interval_s=SWEEP_S) for repo, s in zip(replicas, (slow_send, send))]
    for relay in relays:
        relay.start()

    async def post(i: int) -> None:  # round robin, as Traefik spreads one sender's posts
        stored = await replicas[i % 2].insert(_message(meeting_id, i))
        assert stored is not None
        relays[i % 2].stored([stored])

    try:
        async with tail_topic(stack.kafka_bootstrap_servers, CHAT.name) as tail:
            for start in range(0, 120, 12):  # bursts: both replicas' batches interleave
                await asyncio.gather(*(post(i) for i in range(start, start + 12)))
            await _settled(replicas[0], meeting_id, 120)
            events = await tail.events_until(lambda found: len(set(_first_seqs(found, meeting_id))) >= 120)
    finally:
        for relay in relays:
            await relay.stop()
        await drop_database(mongo, unique_name)
    assert _first_seqs(events, meeting_id) == list(range(1, 121))
    copies = [e for e in events if e.subject == meeting_id]
    assert all(e.data.message_id == f"relay-{int(e.data.text):04d}" for e in copies)


async def test_messages_a_crashed_replica_stored_are_published_by_another_replicas_sweep(
    stack, mongo, unique_name, broker
) -> None:
    meeting_id = f"{unique_name}-m"
    crashed = MessageRepository(mongo[unique_name])
    await crashed.ensure_indexes()
    for i in range(3):  # stored and the head raised, then the process died before publishing
        assert await crashed.insert(_message(meeting_id, i)) is not None
    survivor = MessageRepository(mongo[unique_name])
    relay = MessageRelay(survivor, kafka_sender(broker), sweep_interval_s=SWEEP_S)
    try:
        async with tail_topic(stack.kafka_bootstrap_servers, CHAT.name) as tail:
            relay.start()
            events = await tail.events(subject=meeting_id, count=3)
            await _settled(survivor, meeting_id, 3)
    finally:
        await relay.stop()
        await drop_database(mongo, unique_name)
    assert _first_seqs(events, meeting_id) == [1, 2, 3]


async def test_while_kafka_fails_nothing_is_marked_published_and_everything_is_sent_after(
    mongo, unique_name
) -> None:
    meeting_id = f"{unique_name}-m"
    repo = MessageRepository(mongo[unique_name])
    await repo.ensure_indexes()
    send = RecordingSend(failing=True)

    relay = MessageRelay(repo, send, sweep_interval_s=SWEEP_S, retry_interval_s=0.1)
    try:
        for i in range(4):
            relay.stored([await repo.insert(_message(meeting_id, i))])
        await asyncio.sleep(0.5)
        assert await repo.watermark(meeting_id) == 0
        assert await repo.heads.count_documents({"_id": meeting_id, "behind": True}) == 1
        send.failing = False
        await _settled(repo, meeting_id, 4)
    finally:
        await relay.stop()
        await drop_database(mongo, unique_name)
    first: dict[str, int] = {}
    for event in send.sent:
        first.setdefault(event.id, len(first))
    assert len(first) == 4
    assert len(set(sent.id for sent in send.sent)) == 4  # copies share one id


async def test_a_head_without_a_watermark_gets_one_when_published(stack, mongo, unique_name) -> None:
    meeting_id = f"{unique_name}-m"
    repo = MessageRepository(mongo[unique_name])
    await repo.ensure_indexes()
    try:
        # a head as a former version wrote it (no watermark), raised by this one (behind)
        await repo.heads.insert_one({"_id": meeting_id, "seq": 3, "behind": True})
        await repo.mark_published(meeting_id, 3)
        assert await repo.heads.find_one({"_id": meeting_id}) == {"_id": meeting_id, "seq": 3, "published": 3}
    finally:
        await drop_database(mongo, unique_name)
