"""OutboxRelay unit tests with a fake collection: retried removals and the background task."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from pymongo.errors import OperationFailure

from parley_events import MeetingCreated, OutboxRelay, outbox_entry
from parley_events.envelope import OutgoingEvent


def _entry(meeting_id: str) -> dict[str, Any]:
    data = MeetingCreated(meeting_id=meeting_id, host_id="u", title="t", created_at=datetime.now(UTC))
    return outbox_entry(data, source="/test")


class RecordingCollection:
    """Just enough of an ``AsyncCollection`` for the relay: ``find`` yields the given docs;
    ``update_one`` records each write, refusing the first ``conflicts`` ones the way the
    local store refuses a write that collided with a concurrent one."""

    def __init__(self, docs: list[dict[str, Any]], conflicts: int = 0) -> None:
        self.docs = docs
        self.finds = 0
        self.conflicts = conflicts
        self.log: list[str] = []

    def find(self, filter: dict[str, Any], projection: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:  # noqa: A002
        self.finds += 1

        async def docs() -> AsyncIterator[dict[str, Any]]:
            for doc in self.docs:
                yield doc

        return docs()

    async def update_one(self, filter: dict[str, Any], update: dict[str, Any]) -> None:  # noqa: A002
        operator = next(iter(update))
        if self.conflicts:
            self.conflicts -= 1
            self.log.append(f"refused {operator}")
            raise OperationFailure(
                "ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)", code=1
            )
        self.log.append(operator)


async def _no_op_publish(event: OutgoingEvent) -> None:
    return None


async def test_a_removal_refused_for_a_concurrent_write_is_retried() -> None:
    collection = RecordingCollection([{"_id": "m1", "outbox": [_entry("m1"), _entry("m1")]}], conflicts=2)
    sent: list[OutgoingEvent] = []

    async def publish(event: OutgoingEvent) -> None:
        sent.append(event)

    relay = OutboxRelay([collection], publish)  # type: ignore[list-item]
    assert await relay.flush() == 2
    assert len(sent) == 2  # each published once: only the removal is run again
    assert collection.log == ["refused $pull", "refused $pull", "$pull", "$pull"]


async def test_any_other_store_error_stops_the_flush_and_leaves_the_entry_pending() -> None:
    class Broken(RecordingCollection):
        async def update_one(self, filter: dict[str, Any], update: dict[str, Any]) -> None:  # noqa: A002
            raise OperationFailure("disk full", code=14031)

    relay = OutboxRelay([Broken([{"_id": "m1", "outbox": [_entry("m1")]}])], _no_op_publish)  # type: ignore[list-item]
    with pytest.raises(OperationFailure, match="disk full"):
        await relay.flush()


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
