"""OutboxRelay unit tests with an in-memory collection: batching (send all, then await the
acknowledgements), one clearing write per document by its ``_id``, failures, retried writes,
the task."""

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pymongo.errors import OperationFailure

from prometheus_client import CollectorRegistry

from parley_events import MeetingCreated, OutboxMetrics, OutboxRelay, outbox_entry, stage, staged
from parley_events.envelope import OutgoingEvent


def _entry(meeting_id: str) -> dict[str, Any]:
    data = MeetingCreated(meeting_id=meeting_id, host_id="u", title="t", created_at=datetime.now(UTC))
    return outbox_entry(data, source="/test")


_MISSING = object()


def _get(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(doc, list):
            doc = doc[int(part)] if part.isdigit() and int(part) < len(doc) else _MISSING
        elif isinstance(doc, dict):
            doc = doc.get(part, _MISSING)
        else:
            return _MISSING
    return doc


def _matches(doc: dict[str, Any], filter: dict[str, Any]) -> bool:  # noqa: A002
    """The query operators the relay uses: equality, ``$size``, ``$exists``."""
    for key, want in filter.items():
        value = _get(doc, key)
        if isinstance(want, dict):
            for op, arg in want.items():
                if op == "$size" and not (isinstance(value, list) and len(value) == arg):
                    return False
                if op == "$exists" and (value is not _MISSING) != arg:
                    return False
        elif value != want:
            return False
    return True


class MemoryCollection:
    """Just enough of an ``AsyncCollection`` for the relay, over documents in memory.

    ``update_one`` records each write's operators, refusing the first ``conflicts`` ones the
    way the local store refuses a write that collided with a concurrent one; ``before_write``
    runs before every write (a concurrent writer's push). ``filters`` keeps every filter and
    sort asked for. Documents come back in the order given, as a store without a sort may."""

    def __init__(self, docs: list[dict[str, Any]], conflicts: int = 0) -> None:
        self.docs = {doc["_id"]: doc for doc in docs}
        self.finds = 0
        self.conflicts = conflicts
        self.log: list[str] = []
        self.before_write = lambda: None
        self.filters: list[tuple[dict[str, Any], Any]] = []

    async def create_index(self, keys: list[tuple[str, int]]) -> None:
        self.log.append(f"index {keys[0][0]}")

    async def update_many(self, filter: dict[str, Any], update: dict[str, Any]) -> SimpleNamespace:  # noqa: A002
        self.filters.append((filter, None))
        self.log.append("mark")  # marking documents staged before the marker existed
        return SimpleNamespace(matched_count=0)

    def find(self, filter: dict[str, Any], projection: dict[str, Any], *, sort: Any = None, limit: int = 0) -> SimpleNamespace:  # noqa: A002
        self.filters.append((filter, sort))
        self.finds += 1
        found = [{"_id": d["_id"], "outbox": list(d.get("outbox", []))} for d in self.docs.values() if _matches(d, filter)]

        async def to_list() -> list[dict[str, Any]]:
            return found[: limit or None]

        return SimpleNamespace(to_list=to_list)

    async def update_one(self, filter: dict[str, Any], update: dict[str, Any]) -> SimpleNamespace:  # noqa: A002
        self.filters.append((filter, None))
        self.before_write()
        ops = "+".join(sorted(update))
        if self.conflicts:
            self.conflicts -= 1
            self.log.append(f"refused {ops}")
            raise OperationFailure("ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)", code=1)
        self.log.append(ops)
        doc = self.docs.get(filter["_id"])
        if doc is None or not _matches(doc, filter):
            return SimpleNamespace(matched_count=0)
        self._apply(doc, update)
        return SimpleNamespace(matched_count=1)

    @staticmethod
    def _apply(doc: dict[str, Any], update: dict[str, Any]) -> None:
        for field, value in update.get("$set", {}).items():
            doc[field] = value
        for field in update.get("$unset", {}):
            doc.pop(field, None)
        for field, values in update.get("$pullAll", {}).items():
            doc[field] = [v for v in doc[field] if v not in values]
        for field, value in update.get("$push", {}).items():
            doc.setdefault(field, []).append(value)


class Kafka:
    """A fake ``send``: records what was enqueued; acknowledgements resolve on :meth:`ack`."""

    def __init__(self) -> None:
        self.sent: list[OutgoingEvent] = []
        self.pending: list[asyncio.Future[object]] = []
        self.fail_ids: set[str] = set()

    async def send(self, event: OutgoingEvent) -> asyncio.Future[object]:
        self.sent.append(event)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        if event.id in self.fail_ids:
            future.set_exception(ConnectionError("kafka refused"))
        return future

    def ack(self) -> None:
        for future in self.pending:
            if not future.done():
                future.set_result(None)


async def _flush_acking(relay: OutboxRelay, kafka: Kafka) -> int:
    task = asyncio.create_task(relay.flush())
    while not task.done():
        await asyncio.sleep(0)
        kafka.ack()
    return await task


async def test_a_batch_is_sent_whole_before_any_acknowledgement_is_awaited() -> None:
    entries = {f"m{i}": [_entry(f"m{i}"), _entry(f"m{i}")] for i in range(5)}
    collection = MemoryCollection([{"_id": k, **staged(v)} for k, v in entries.items()])
    kafka = Kafka()
    relay = OutboxRelay([collection], kafka.send)  # type: ignore[list-item]

    task = asyncio.create_task(relay.flush())
    for _ in range(50):  # let the relay run as far as it can without acknowledgements
        await asyncio.sleep(0)
    # every entry is enqueued, in document order and array order, and nothing cleared yet
    assert [e.id for e in kafka.sent] == [e["id"] for v in entries.values() for e in v]
    assert all(doc["outbox"] for doc in collection.docs.values())
    kafka.ack()
    assert await task == 10
    assert all(doc["outbox"] == [] and "outbox_pending" not in doc for doc in collection.docs.values())


async def test_each_published_document_is_cleared_by_one_write_by_its_id() -> None:
    collection = MemoryCollection([{"_id": f"m{i}", **staged([_entry("x"), _entry("x")])} for i in range(3)])
    kafka = Kafka()
    relay = OutboxRelay([collection], kafka.send)  # type: ignore[list-item]
    assert await _flush_acking(relay, kafka) == 6
    writes = [line for line in collection.log if not line.startswith(("index", "mark"))]
    assert writes == ["$set+$unset"] * 3
    assert await _flush_acking(relay, kafka) == 0  # nothing pending any more
    assert all(doc["outbox"] == [] and "outbox_pending" not in doc for doc in collection.docs.values())


async def test_a_flush_asks_only_for_what_the_store_pushes_down() -> None:
    # FerretDB 1.13 evaluates anything but an equality (a sort, $in, $or) in Go over every
    # document the pushed-down part matched: with hundreds of large documents pending, one
    # such query per batch took seconds. The relay reads the pending set unsorted and writes
    # by _id only (the start-up marking aside).
    collection = MemoryCollection([{"_id": f"m{i}", **staged([_entry("x")])} for i in range(5)])
    kafka = Kafka()
    relay = OutboxRelay([collection], kafka.send, batch_size=2)  # type: ignore[list-item]
    await _flush_acking(relay, kafka)
    _, *flush = collection.filters  # the first one marks the documents staged before the marker
    reads = [(f, sort) for f, sort in flush if f == {"outbox_pending": True}]
    writes = [f for f, _ in flush if f != {"outbox_pending": True}]
    assert reads == [({"outbox_pending": True}, None)] * 3  # 2 + 2 + 1
    assert len(writes) == 5 and all(isinstance(f["_id"], str) for f in writes)
    assert not [f for f in writes if any(op in str(f) for op in ("$in", "$or"))]


async def test_batches_are_bounded_and_the_flush_goes_on_until_nothing_is_pending() -> None:
    collection = MemoryCollection([{"_id": f"m{i:02}", **staged([_entry("x")])} for i in range(25)])
    kafka = Kafka()
    relay = OutboxRelay([collection], kafka.send, batch_size=10)  # type: ignore[list-item]
    assert await _flush_acking(relay, kafka) == 25
    assert collection.finds == 3  # 10 + 10 + 5
    assert len(kafka.sent) == 25


async def test_an_entry_pushed_meanwhile_stays_pending_with_its_marker() -> None:
    first, late = _entry("m1"), _entry("m1")
    collection = MemoryCollection([{"_id": "m1", **staged([first])}])
    pushed = []

    def concurrent_push() -> None:  # a writer stages another event before the relay clears
        if not pushed:
            pushed.append(1)
            doc = collection.docs["m1"]
            update = stage({}, late)
            doc["outbox"].append(update["$push"]["outbox"])
            doc["outbox_pending"] = True

    collection.before_write = concurrent_push
    kafka = Kafka()
    relay = OutboxRelay([collection], kafka.send)  # type: ignore[list-item]
    task = asyncio.create_task(relay.flush())
    while not task.done():
        await asyncio.sleep(0)
        kafka.ack()
    assert await task == 1
    assert collection.docs["m1"]["outbox"] == [late]
    assert collection.docs["m1"]["outbox_pending"] is True
    assert await _flush_acking(relay, kafka) == 1
    assert collection.docs["m1"]["outbox"] == []
    assert "outbox_pending" not in collection.docs["m1"]
    assert [e.id for e in kafka.sent] == [first["id"], late["id"]]


async def test_a_refused_acknowledgement_leaves_only_its_document_pending() -> None:
    bad = _entry("m2")
    collection = MemoryCollection(
        [{"_id": "m1", **staged([_entry("m1")])}, {"_id": "m2", **staged([bad])}, {"_id": "m3", **staged([_entry("m3")])}]
    )
    kafka = Kafka()
    kafka.fail_ids = {bad["id"]}
    relay = OutboxRelay([collection], kafka.send)  # type: ignore[list-item]
    with pytest.raises(ConnectionError):
        await _flush_acking(relay, kafka)
    assert [doc["_id"] for doc in collection.docs.values() if doc["outbox"]] == ["m2"]
    assert collection.docs["m2"]["outbox_pending"] is True


async def test_the_metrics_count_what_was_published_and_what_a_failure_left_pending() -> None:
    bad = _entry("m2")
    collection = MemoryCollection(
        [{"_id": "m1", **staged([_entry("m1"), _entry("m1")])}, {"_id": "m2", **staged([bad])}]
    )
    kafka = Kafka()
    kafka.fail_ids = {bad["id"]}
    registry = CollectorRegistry()
    metrics = OutboxMetrics(registry)
    relay = OutboxRelay([collection], kafka.send, metrics=metrics.of("events"))  # type: ignore[list-item]
    metrics.of("other")  # another relay of the process: series of its own
    with pytest.raises(ConnectionError):
        await _flush_acking(relay, kafka)

    def value(name: str, relay: str = "events") -> float | None:
        return registry.get_sample_value(name, {"relay": relay})

    assert value("parley_outbox_published_total", "other") == 0
    assert value("parley_outbox_published_total") == 2
    assert value("parley_outbox_relay_failures_total") == 1
    assert value("parley_outbox_backlog_events") == 1  # m2's entry, still pending
    kafka.fail_ids = set()
    assert await _flush_acking(relay, kafka) == 1
    assert value("parley_outbox_published_total") == 3
    assert value("parley_outbox_relay_failures_total") == 1
    assert value("parley_outbox_backlog_events") == 0


async def test_a_send_that_raises_leaves_the_rest_pending() -> None:
    collection = MemoryCollection([{"_id": f"m{i}", **staged([_entry("x")])} for i in range(3)])
    calls = 0

    async def send(event: OutgoingEvent) -> asyncio.Future[object]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("producer closed")
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    relay = OutboxRelay([collection], send)  # type: ignore[list-item]
    with pytest.raises(ConnectionError):
        await relay.flush()
    assert [doc["_id"] for doc in collection.docs.values() if doc["outbox"]] == ["m1", "m2"]


async def test_a_clearing_write_refused_for_a_concurrent_write_is_retried() -> None:
    collection = MemoryCollection([{"_id": "m1", **staged([_entry("m1"), _entry("m1")])}], conflicts=2)
    kafka = Kafka()
    relay = OutboxRelay([collection], kafka.send)  # type: ignore[list-item]
    assert await _flush_acking(relay, kafka) == 2
    assert len(kafka.sent) == 2  # each published once: only the clearing write is run again
    writes = [line for line in collection.log if not line.startswith(("index", "mark"))]
    assert writes == ["refused $set+$unset", "refused $set+$unset", "$set+$unset"]


async def test_any_other_store_error_stops_the_flush_and_leaves_the_entry_pending() -> None:
    class Broken(MemoryCollection):
        async def update_one(self, filter: dict[str, Any], update: dict[str, Any]) -> SimpleNamespace:  # noqa: A002
            raise OperationFailure("disk full", code=14031)

    kafka = Kafka()
    relay = OutboxRelay([Broken([{"_id": "m1", **staged([_entry("m1")])}])], kafka.send)  # type: ignore[list-item]
    with pytest.raises(OperationFailure, match="disk full"):
        await _flush_acking(relay, kafka)


def _tasks_named(name: str) -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if task.get_name() == name]


async def test_notify_wakes_the_relay_before_its_poll_interval() -> None:
    collection = MemoryCollection([])
    kafka = Kafka()
    relay = OutboxRelay([collection], kafka.send, poll_interval_s=3600)  # type: ignore[list-item]
    relay.start("test-relay-notify")
    try:
        while collection.finds < 1:
            await asyncio.sleep(0.001)
        collection.docs["m1"] = {"_id": "m1", **staged([_entry("m1")])}
        relay.notify()
        async with asyncio.timeout(30):  # without the wake-up it would wait an hour
            while collection.docs["m1"]["outbox"]:
                await asyncio.sleep(0.001)
                kafka.ack()
    finally:
        await relay.stop()
    assert len(kafka.sent) == 1


async def test_start_runs_one_named_background_task_and_stop_cancels_it() -> None:
    collection = MemoryCollection([])
    relay = OutboxRelay([collection], Kafka().send, poll_interval_s=0.01)  # type: ignore[list-item]
    await relay.stop()  # not started: nothing to stop

    relay.start("test-relay")
    relay.start("test-relay")  # already running: no second task
    tasks = _tasks_named("test-relay")
    assert len(tasks) == 1
    async with asyncio.timeout(30):  # generous: a busy machine delays the poll's timer
        while collection.finds < 2:  # it flushes, then polls again
            await asyncio.sleep(0.01)

    await relay.stop()
    assert tasks[0].cancelled()
    assert _tasks_named("test-relay") == []
    await relay.stop()  # stopping twice is harmless
    finds = collection.finds
    await asyncio.sleep(0.05)
    assert collection.finds == finds  # nothing runs any more


def test_stage_puts_the_push_last() -> None:
    # FerretDB 1.13 writes an update only when its last operator changed the document
    entry = _entry("m1")
    update = stage({"$push": {"items": 1}, "$set": {"status": "ended"}, "$inc": {"n": 1}}, entry)
    assert list(update) == ["$inc", "$set", "$push"]
    assert update["$push"] == {"items": 1, "outbox": entry}
    assert update["$set"] == {"status": "ended", "outbox_pending": True}


async def test_an_idle_relay_polls_less_often_until_it_publishes_again() -> None:
    collection = MemoryCollection([])
    kafka = Kafka()
    # long intervals: only notify() drives the loop, so every step is observable
    relay = OutboxRelay([collection], kafka.send, poll_interval_s=100, idle_poll_interval_s=400)  # type: ignore[list-item]
    assert relay.next_poll_s == 100
    relay.start("test-relay-idle")
    try:
        async with asyncio.timeout(30):
            while relay.next_poll_s != 200:  # the first flush found nothing: twice as long
                await asyncio.sleep(0.001)
            finds = collection.finds
            relay.notify()
            while collection.finds == finds:
                await asyncio.sleep(0.001)
            while relay.next_poll_s != 400:  # nothing again: capped at idle_poll_interval_s
                await asyncio.sleep(0.001)
            collection.docs["m1"] = {"_id": "m1", **staged([_entry("m1")])}
            relay.notify()
            while collection.docs["m1"]["outbox"]:
                await asyncio.sleep(0.001)
                kafka.ack()
            while relay.next_poll_s != 100:  # it published: back to poll_interval_s
                await asyncio.sleep(0.001)
    finally:
        await relay.stop()
    assert len(kafka.sent) == 1
