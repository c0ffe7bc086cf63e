"""The outbox relay: publishes the pending entries of :mod:`parley_events.outbox` to Kafka.

One flush reads up to ``batch_size`` pending documents (``{outbox_pending: true}``, an indexed
equality that FerretDB pushes down to PostgreSQL; unsorted, so the store stops reading at
``batch_size``), hands every entry of the batch to ``send`` in order without waiting (``send``
enqueues the record and returns its acknowledgement), then awaits all acknowledgements, and
clears each document whose entries were all acknowledged with a write by its ``_id``
(:func:`_clear`; the writes run concurrently). A document is one aggregate: its entries are
sent in array order, so the records of one key are enqueued in that order and Kafka keeps it
per partition; documents have no order among them.

Why no sort and no multi-document filter: FerretDB 1.13 pushes down only equalities (no
``$in``, no ``$or`` over sizes, no sort, no limit), so a sorted read or one ``update_many``
over the batch had it decode every pending document, each time. With 850 meetings pending
(~9 KB each, after 9,000 members were added) one such query took 1.2–8 s and the relay fell
minutes behind; an unsorted read decodes ``batch_size`` of them and a write by ``_id`` one.

Every replica runs its own relay over the same collections: two relays may both publish an
entry before either cleared it; consumers deduplicate by event id
(:class:`parley_events.ProcessedEvents`). A failed ``send`` or acknowledgement leaves that
document's entries pending (retried after ``retry_interval_s``); entries of the same key
acknowledged after the failure are already on the topic, so after a Kafka failure a retried
copy may follow a later event of its aggregate (at least once; see docs/events.md).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from parley_events.envelope import OutgoingEvent
from parley_events.metrics import RelayMetrics
from parley_events.outbox import OUTBOX_FIELD, PENDING_FIELD, outgoing
from parley_events.write_conflicts import retry_write_conflicts
from parley_observability import RepeatedFailure
from parley_observability.tasks import stop_task

_PENDING = {PENDING_FIELD: True}
# Documents staged before the marker existed (a dev stack's data): marked once per relay start.
_UNMARKED = {f"{OUTBOX_FIELD}.0": {"$exists": True}, PENDING_FIELD: {"$exists": False}}

log = logging.getLogger(__name__)

#: Enqueue one record; the returned awaitable completes once Kafka acknowledged it (or raises).
Send = Callable[[OutgoingEvent], Awaitable[Awaitable[object]]]


@retry_write_conflicts
async def _clear(collection: AsyncCollection, doc_id: object, entries: list[dict[str, Any]]) -> None:
    """Remove the published ``entries`` (the document's whole outbox when read) and the marker.

    Entries are only appended by writers and removed by relays as whole snapshots, so the
    outbox is always a run of the appended entries and ``entries`` was its start: when it
    still has ``len(entries)`` elements ending with the last of them, nothing was appended
    since, and one write empties it (the common case). Otherwise the exact entries are
    pulled (``$pullAll``; FerretDB 1.x matches exact values) and the marker is cleared only
    if the outbox is then empty, in a conditional write (an entry pushed in between keeps it).
    Each write is atomic; run again whole when the store refuses one for a collision.
    """
    n = len(entries)
    exact: dict[str, Any] = {"_id": doc_id, OUTBOX_FIELD: {"$size": n}}
    if n:
        exact[f"{OUTBOX_FIELD}.{n - 1}.id"] = entries[-1]["id"]
    result = await collection.update_one(exact, {"$set": {OUTBOX_FIELD: []}, "$unset": {PENDING_FIELD: ""}})
    if result.matched_count:
        return
    if n:
        await collection.update_one({"_id": doc_id}, {"$pullAll": {OUTBOX_FIELD: entries}})
    await collection.update_one({"_id": doc_id, OUTBOX_FIELD: {"$size": 0}}, {"$unset": {PENDING_FIELD: ""}})


@retry_write_conflicts
async def _index_and_mark(collection: AsyncCollection) -> None:
    """Index the marker and mark documents staged without it; both collide with another
    replica's relay doing the same at start-up, and are retried then."""
    await collection.create_index([(PENDING_FIELD, 1)])
    await collection.update_many(_UNMARKED, {"$set": {PENDING_FIELD: True}})


class IdleBackoff:
    """The wait of a poll that backs off while it finds nothing: ``base_s`` after a poll that
    found work, then twice the previous wait after each one that found none, up to ``idle_s``
    (seconds; never below ``base_s``). Used by :class:`OutboxRelay` and chat's sweep."""

    def __init__(self, base_s: float, idle_s: float) -> None:
        self._base_s, self._idle_s = base_s, max(base_s, idle_s)
        self.wait_s = base_s

    def after(self, found: bool) -> float:
        """The next wait, after a poll that ``found`` work or not."""
        self.wait_s = self._base_s if found else min(2 * self.wait_s, self._idle_s)
        return self.wait_s


class OutboxRelay:
    """Publishes the pending outbox entries of ``collections`` to Kafka through ``send``.

    :meth:`run` loops until cancelled: it flushes, then sleeps until :meth:`notify` is called
    (the request path does, after a write that staged an event) or the poll's wait passes (the
    fallback for entries that a crashed replica, or a failed relay, left behind); after a
    failure it waits ``retry_interval_s``. The poll waits ``poll_interval_s`` after a flush that
    published something, and twice as long as the previous wait after one that found nothing,
    up to ``idle_poll_interval_s`` (seconds; :attr:`next_poll_s`): an idle replica asks the
    store for its pending entries every few seconds, not every second. :meth:`start` /
    :meth:`stop` run it as a background task.
    ``metrics`` (optional) counts what :meth:`flush` published and what failed, and sets the
    backlog after each flush: 0 when it published all it read, else the entries of the
    documents it read and could not publish (so at most ``batch_size`` documents' worth).
    """

    def __init__(
        self,
        collections: Sequence[AsyncCollection],
        send: Send,
        *,
        poll_interval_s: float = 1.0,
        idle_poll_interval_s: float = 5.0,
        retry_interval_s: float = 1.0,
        batch_size: int = 200,
        metrics: RelayMetrics | None = None,
    ) -> None:
        self._collections = collections
        self._send = send
        self._poll = IdleBackoff(poll_interval_s, idle_poll_interval_s)
        self._retry_interval_s = retry_interval_s
        self._batch_size = batch_size
        self._metrics = metrics
        self._prepared = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failure = RepeatedFailure(log, "the outbox relay")

    @property
    def next_poll_s(self) -> float:
        """Seconds the next idle wait lasts, unless :meth:`notify` ends it sooner."""
        return self._poll.wait_s

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
            await stop_task(task)

    async def _prepare(self) -> None:
        """Once per relay: index the marker and mark documents staged without it."""
        if self._prepared:
            return
        for collection in self._collections:
            await _index_and_mark(collection)
        self._prepared = True

    async def flush(self) -> int:
        """Publish every pending entry once; returns how many were published and cleared.

        Raises the first error of ``send`` or of an acknowledgement, after clearing the
        documents whose entries were all acknowledged; the others stay pending.
        """
        try:
            published = await self._flush()
        except Exception:
            if self._metrics is not None:
                self._metrics.failures.inc()
            raise
        if self._metrics is not None:
            self._metrics.backlog.set(0)
        return published

    async def _flush(self) -> int:
        await self._prepare()
        published = 0
        for collection in self._collections:
            while True:
                docs = await collection.find(_PENDING, {OUTBOX_FIELD: 1}, limit=self._batch_size).to_list()
                if not docs:
                    break
                published += await self._relay(collection, docs)
                if len(docs) < self._batch_size:
                    break
        return published

    async def _relay(self, collection: AsyncCollection, docs: list[dict[str, Any]]) -> int:
        acks: list[list[Awaitable[object]]] = []
        error: BaseException | None = None
        for doc in docs:
            doc_acks: list[Awaitable[object]] = []
            try:
                for entry in doc.get(OUTBOX_FIELD, []):
                    doc_acks.append(await self._send(outgoing(entry)))
            except Exception as exc:  # noqa: BLE001 - settle what was sent, then raise
                error = exc
                for ack in doc_acks:  # this document stays pending: do not leak its acks
                    asyncio.ensure_future(ack).add_done_callback(_consume)
                break
            acks.append(doc_acks)
        flat = await asyncio.gather(*(ack for doc_acks in acks for ack in doc_acks), return_exceptions=True)
        done, start = [], 0
        for doc, doc_acks in zip(docs, acks, strict=False):
            results, start = flat[start : start + len(doc_acks)], start + len(doc_acks)
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                error = error or failures[0]
            else:
                done.append(doc)
        cleared = await asyncio.gather(
            *(_clear(collection, d["_id"], d.get(OUTBOX_FIELD, [])) for d in done), return_exceptions=True
        )
        published = 0
        for doc, result in zip(done, cleared, strict=True):
            if isinstance(result, BaseException):  # published, left pending: published again later
                error = error or result
            else:
                published += len(doc.get(OUTBOX_FIELD, []))
        if self._metrics is not None:
            self._metrics.published.inc(published)
        if error is not None:
            if self._metrics is not None:
                read = sum(len(d.get(OUTBOX_FIELD, [])) for d in docs)
                self._metrics.backlog.set(read - published)
            raise error
        return published

    async def run(self) -> None:
        """Relay until cancelled; never raises on a Kafka or MongoDB failure, it retries."""
        while True:
            self._wake.clear()
            try:
                published = await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep relaying; entries stay pending
                self._failure.failed(self._retry_interval_s)
                await asyncio.sleep(self._retry_interval_s)
                continue
            self._failure.succeeded()
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll.after(published > 0))
            except TimeoutError:
                pass


def _consume(future: "asyncio.Future[object]") -> None:
    if not future.cancelled():
        future.exception()
