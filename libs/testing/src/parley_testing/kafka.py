"""Read what services published to the real Kafka, from the moment a test starts watching;
scratch topics of a test's own."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from parley_events import TOPICS, EventDecodeError, OutgoingEvent, ReceivedEvent, decoded_record
from parley_events.topics import TopicSpec


class TopicTail:
    """Records appended to one topic after :func:`tail_topic` opened it, decoded as CloudEvents.

    The topics are shared by every test of the run, and some tests publish records that are no
    CloudEvent on purpose (a consumer's poison-record handling): those are skipped here.
    """

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        #: every event :meth:`find` read so far, in order per partition
        self.seen: list[ReceivedEvent] = []

    async def _next_events(self) -> list[ReceivedEvent]:
        """The events of one fetch (up to 200 ms), junk records skipped."""
        events = []
        for records in (await self._consumer.getmany(timeout_ms=200)).values():
            for record in records:
                try:
                    events.append(decoded_record(record))
                except EventDecodeError:
                    continue
        return events

    async def events(self, *, subject: str, count: int = 1, timeout_s: float = 15.0) -> list[ReceivedEvent]:
        """Wait for ``count`` CloudEvents whose ``subject`` is ``subject``; fewer on timeout."""
        found: list[ReceivedEvent] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(found) < count and loop.time() < deadline:
            found.extend(event for event in await self._next_events() if event.subject == subject)
        return found

    async def events_until(
        self, done: Callable[[list[ReceivedEvent]], bool], *, timeout_s: float = 30.0
    ) -> list[ReceivedEvent]:
        """Every CloudEvent appended, in order per partition, until ``done(found)`` or timeout."""
        found: list[ReceivedEvent] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not done(found) and loop.time() < deadline:
            found.extend(await self._next_events())
        return found

    async def find(self, where: Callable[[ReceivedEvent], bool], timeout_s: float = 15.0) -> ReceivedEvent:
        """The first event, among those :meth:`find` read before and those appended since, for
        which ``where`` holds; raises ``AssertionError`` after ``timeout_s`` without one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        checked = 0
        while True:
            for event in self.seen[checked:]:
                if where(event):
                    return event
            checked = len(self.seen)
            if loop.time() > deadline:
                raise AssertionError("event not found on the topic")
            self.seen.extend(await self._next_events())


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


@asynccontextmanager
async def scratch_topic(bootstrap_servers: str, prefix: str) -> AsyncIterator[str]:
    """A new topic ``<prefix>-<8 hex>`` of one partition (replication factor 1) for the
    ``async with`` block; deleted after it."""
    topic = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    try:
        yield topic
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()


async def commit_group_at_end(bootstrap_servers: str, group_id: str, *topics: TopicSpec) -> None:
    """Commit ``group_id``'s offsets at the current end of each of ``topics``, so a new consumer
    group reads only what is published from now on, not the whole history of a shared topic
    (an app started per test would otherwise replay every record of the run so far)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic.name, p) for topic in topics for p in range(topic.partitions)]
        consumer.assign(partitions)
        await consumer.commit(dict(await consumer.end_offsets(partitions)))
    finally:
        await consumer.stop()


class RecordingSend:
    """An outbox relay's ``send`` without Kafka (:class:`parley_events.OutboxRelay`, chat's
    ``MessageRelay``): each event is acknowledged at once and kept in :attr:`sent`, or, while
    :attr:`failing`, its acknowledgement fails with ``ConnectionError`` (Kafka down)."""

    def __init__(self, *, failing: bool = False) -> None:
        self.failing = failing
        self.sent: list[OutgoingEvent] = []

    async def __call__(self, event: OutgoingEvent) -> "asyncio.Future[object]":
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if self.failing:
            future.set_exception(ConnectionError("kafka down"))
        else:
            self.sent.append(event)
            future.set_result(None)
        return future
