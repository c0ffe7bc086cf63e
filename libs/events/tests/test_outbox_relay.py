"""OutboxRelay unit tests with a fake collection: document locks and the background task."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from parley_events import DocumentLocks, MeetingCreated, OutboxRelay, outbox_entry
from parley_events.envelope import OutgoingEvent


def _entry(meeting_id: str) -> dict[str, Any]:
    data = MeetingCreated(meeting_id=meeting_id, host_id="u", title="t", created_at=datetime.now(UTC))
    return outbox_entry(data, source="/test")


class RecordingCollection:
    """Just enough of an ``AsyncCollection`` for the relay: ``find`` yields the given docs;
    ``update_one`` yields to the event loop mid-write (as a read-modify-write on FerretDB
    does) and records when each write began and ended."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self.finds = 0
        self.log: list[tuple[str, str]] = []

    def find(self, filter: dict[str, Any], projection: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:  # noqa: A002
        self.finds += 1

        async def docs() -> AsyncIterator[dict[str, Any]]:
            for doc in self.docs:
                yield doc

        return docs()

    async def update_one(self, filter: dict[str, Any], update: dict[str, Any]) -> None:  # noqa: A002
        operator = next(iter(update))
        self.log.append(("begin", operator))
        for _ in range(3):
            await asyncio.sleep(0)
        self.log.append(("end", operator))


def _interleaved(log: list[tuple[str, str]]) -> bool:
    """True when some write began before the previous one ended."""
    return any(log[i][0] != "begin" or log[i + 1] != ("end", log[i][1]) for i in range(0, len(log), 2))


async def _no_op_publish(event: OutgoingEvent) -> None:
    return None


@pytest.mark.parametrize("with_locks", [True, False])
async def test_relay_pull_and_locked_updates_of_one_document_serialize(with_locks: bool) -> None:
    collection = RecordingCollection([{"_id": "m1", "outbox": [_entry("m1") for _ in range(5)]}])
    locks = DocumentLocks()
    relay = OutboxRelay([collection], _no_op_publish, locks=locks if with_locks else None)  # type: ignore[list-item]

    async def service_update(n: int) -> None:
        async with locks("m1"):
            await collection.update_one({"_id": "m1"}, {"$set": {"n": n}})

    published, *_ = await asyncio.gather(relay.flush(), *(service_update(n) for n in range(5)))

    assert published == 5
    writes = [("begin", "$pull"), ("end", "$pull")] * 5 + [("begin", "$set"), ("end", "$set")] * 5
    assert sorted(collection.log) == sorted(writes)
    # With the locks every write runs alone; without them (the control case) the relay's
    # $pull and the service's $set overlap, which is what loses updates on FerretDB 1.x.
    assert _interleaved(collection.log) is not with_locks


async def test_the_relays_pull_waits_for_the_documents_lock() -> None:
    collection = RecordingCollection([{"_id": "m1", "outbox": [_entry("m1")]}])
    locks = DocumentLocks()
    sent: list[OutgoingEvent] = []

    async def publish(event: OutgoingEvent) -> None:
        sent.append(event)

    relay = OutboxRelay([collection], publish, locks=locks)  # type: ignore[list-item]
    async with locks("m1"):
        flush = asyncio.create_task(relay.flush())
        await asyncio.sleep(0.05)
        assert len(sent) == 1  # published without the lock ...
        assert collection.log == []  # ... but its removal waits for it
    assert await flush == 1
    assert collection.log == [("begin", "$pull"), ("end", "$pull")]


def _tasks_named(name: str) -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if task.get_name() == name]


async def test_start_runs_one_named_background_task_and_stop_cancels_it() -> None:
    collection = RecordingCollection([])
    relay = OutboxRelay([collection], _no_op_publish, poll_interval_s=0.01)  # type: ignore[list-item]
    await relay.stop()  # not started: nothing to stop

    relay.start("test-relay")
    relay.start("test-relay")  # already running: no second task
    tasks = _tasks_named("test-relay")
    assert len(tasks) == 1
    async with asyncio.timeout(5):
        while collection.finds < 2:  # it flushes, then polls again
            await asyncio.sleep(0.01)

    await relay.stop()
    assert tasks[0].cancelled()
    assert _tasks_named("test-relay") == []
    await relay.stop()  # stopping twice is harmless
    finds = collection.finds
    await asyncio.sleep(0.05)
    assert collection.finds == finds  # nothing runs any more
