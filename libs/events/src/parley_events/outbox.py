"""Transactional outbox: an event is written in the same single-document write as the state
change it describes, and a relay publishes it to Kafka afterwards.

Pending events ride in the aggregate's own document, in an ``outbox`` array field. MongoDB
writes to one document are atomic, so the state change and its event are stored together or
not at all, without multi-document transactions (which the local Mongo-wire server lacks).
The :class:`OutboxRelay` publishes pending entries in array order (so per aggregate in order)
and removes each one only after Kafka acknowledged it: when Kafka is down, entries wait and
are retried; an entry may be published twice after a crash, so consumers deduplicate by
event id (:class:`parley_events.inbox.ProcessedEvents`).
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bson import Binary
from pymongo.asynchronous.collection import AsyncCollection

from parley_events.envelope import OutgoingEvent, encode
from parley_events.schemas import EventData
from parley_events.write_conflicts import retry_write_conflicts

OUTBOX_FIELD = "outbox"
_PENDING = {f"{OUTBOX_FIELD}.0": {"$exists": True}}

log = logging.getLogger(__name__)

Publish = Callable[[OutgoingEvent], Awaitable[None]]


def outbox_entry(data: EventData, *, source: str) -> dict[str, Any]:
    """Encode ``data`` as an outbox entry (a BSON sub-document) to store with its aggregate.

    Use it in the aggregate's write: ``{**doc, "outbox": [entry]}`` on insert, or
    ``{"$push": {"outbox": entry}}`` in the same ``update_one`` as the state change.
    """
    event = encode(data, source=source)
    return {
        "id": event.id,
        "type": event.type,
        "topic": event.topic,
        "key": Binary(event.key),
        "value": Binary(event.value),
        "headers": {name: value.decode() for name, value in event.headers.items()},
    }


def _outgoing(entry: dict[str, Any]) -> OutgoingEvent:
    return OutgoingEvent(
        id=entry["id"],
        type=entry["type"],
        topic=entry["topic"],
        key=bytes(entry["key"]),
        value=bytes(entry["value"]),
        headers={name: value.encode() for name, value in entry["headers"].items()},
    )


@retry_write_conflicts
async def _remove(collection: AsyncCollection, doc_id: object, entry: dict[str, Any]) -> None:
    # Pull the exact entry: FerretDB 1.x supports $pull by value, not by query.
    await collection.update_one({"_id": doc_id}, {"$pull": {OUTBOX_FIELD: entry}})


class OutboxRelay:
    """Publishes the pending outbox entries of ``collections`` to Kafka.

    ``publish`` sends one event and returns once Kafka acknowledged it (or raises).
    :meth:`run` loops until cancelled: it flushes, then sleeps until :meth:`notify` is called
    or ``poll_interval_s`` seconds pass; after a failure it waits ``retry_interval_s``.
    :meth:`start` / :meth:`stop` run it as a background task (start once the broker is up).

    Every replica of a service runs its own relay over the same collections: two relays may
    both publish an entry before either removed it (consumers deduplicate by event id), and
    since each publishes a document's entries in array order and removes one only after Kafka
    acknowledged it, the first copy of every event still reaches Kafka in the aggregate's
    order. The removal (``$pull`` of the exact entry) is a single-document write, atomic in
    the store, retried when it collides with a concurrent write of that document
    (:func:`parley_events.retry_write_conflicts`).
    """

    def __init__(
        self,
        collections: Sequence[AsyncCollection],
        publish: Publish,
        *,
        poll_interval_s: float = 1.0,
        retry_interval_s: float = 1.0,
    ) -> None:
        self._collections = collections
        self._publish = publish
        self._poll_interval_s = poll_interval_s
        self._retry_interval_s = retry_interval_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """Wake the relay now: call after a write that staged an event."""
        self._wake.set()

    def start(self, name: str = "outbox-relay") -> None:
        """Run :meth:`run` as a background task called ``name``; no-op if already running."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=name)

    async def stop(self) -> None:
        """Cancel the background task and wait until it ended; no-op if not running."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def flush(self) -> int:
        """Publish every pending entry once; returns how many were published.

        Raises whatever ``publish`` raises; entries not yet published stay pending.
        """
        published = 0
        for collection in self._collections:
            async for doc in collection.find(_PENDING, {OUTBOX_FIELD: 1}):
                for entry in doc[OUTBOX_FIELD]:
                    await self._publish(_outgoing(entry))
                    await _remove(collection, doc["_id"], entry)
                    published += 1
        return published

    async def run(self) -> None:
        """Relay until cancelled; never raises on a Kafka or MongoDB failure, it retries."""
        while True:
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep relaying; entries stay pending
                log.exception("outbox relay failed; retrying in %ss", self._retry_interval_s)
                await asyncio.sleep(self._retry_interval_s)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)
            except TimeoutError:
                pass
