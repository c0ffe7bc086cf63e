"""Publishing ``chat.message.posted``: the stored messages are chat's outbox.

A message's event is a function of its document (:func:`event_of`, with an event id derived
from ``(meeting_id, message_id)``), so a post writes the message and nothing else, and what has
been published is one number per meeting: the head's ``published`` watermark (every message
with ``seq <= published`` was acknowledged by Kafka; :mod:`parley_chat.repository`). Publishing
a meeting means sending its messages ``published + 1 .. target`` in ``seq`` order, awaiting
Kafka's acknowledgements (sent without a round trip each), then raising the watermark to
``target``: no write per message, and at most one write per meeting every
``watermark_delay_s`` (the write waits that long, then raises the watermark to the highest
number acknowledged meanwhile: a steady stream of posts costs a few writes per second instead
of one per batch; on FerretDB 1.13 each write costs about as much as storing a message,
bench/README.md). A crash loses at most that delay's raise: the sweep then publishes those
messages again (the same event ids, which consumers skip).

- **Fast path.** The process that stored a batch hands it over (:meth:`MessageRelay.stored`,
  after the head was raised). When the batch follows what this process last published in that
  meeting, it is sent as it is; otherwise (another replica stored messages in between, or the
  process does not know the meeting yet) the watermark is read and the messages between it and
  the batch are read from the store and sent first.
- **Sweep.** Every ``sweep_interval_s`` the relay lists the heads marked ``behind`` and
  publishes each one whose watermark has not moved since the previous sweep (the replica that
  stored those messages crashed, or its Kafka failed): up to ``published + MAX_BATCH``. After a
  sweep that found no head marked, the next one waits twice as long, up to
  ``idle_sweep_interval_s`` (an idle replica asks the store every few seconds, not every
  second); one that found any brings it back to ``sweep_interval_s``.

Order: each process sends a meeting's messages in ``seq`` order, from a watermark it read or
raised, and everything up to a watermark is on the topic already; so on the meeting's partition
the first copy of every message comes after the first copies of all messages before it, even
when two replicas publish overlapping ranges. Copies carry the same event id (at least once:
consumers skip a repeated id, docs/events.md).
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable

from parley_chat.domain.models import Message
from parley_chat.repository import MessageRepository
from parley_events import ChatMessagePosted, IdleBackoff, OutgoingEvent, RelayMetrics, encode
from parley_observability import RepeatedFailure, stop_task

#: CloudEvents ``source`` of every event chat publishes.
EVENT_SOURCE = "/parley/chat"
#: Messages of one meeting sent before the watermark is raised, at most.
MAX_BATCH = 500
#: Seconds a watermark write waits for more acknowledgements of its meeting, at most (and at
#: most a quarter of the sweep's interval).
WATERMARK_DELAY_S = 0.2
#: Meetings whose watermark a process remembers; forgetting one costs one read of its head.
KNOWN_MEETINGS = 10_000
_EVENT_IDS = uuid.UUID("6f1f2a0c-5b1e-4d8e-9d51-7c3a64b0e2a1")

log = logging.getLogger(__name__)

#: Enqueue one record; the returned awaitable completes once Kafka acknowledged it (or raises).
Send = Callable[[OutgoingEvent], Awaitable[Awaitable[object]]]


def event_of(message: Message) -> OutgoingEvent:
    """The ``chat.message.posted`` of a stored message; the same record every time (its
    CloudEvents id is a UUIDv5 of ``meeting_id`` and ``message_id``)."""
    event_id = uuid.uuid5(_EVENT_IDS, f"{message.meeting_id}:{message.message_id}")
    return encode(ChatMessagePosted(**message.model_dump()), source=EVENT_SOURCE, event_id=str(event_id))


class MessageRelay:
    """Publishes the stored messages of every meeting in ``repository`` through ``send``.

    :meth:`start` runs the sweep as a background task; :meth:`stored` publishes handed-over
    messages in a task per meeting; :meth:`stop` cancels all of them. A failed send, or a
    failure of the store, is retried after ``retry_interval_s`` (the messages stay unpublished
    meanwhile; nothing is dropped). ``metrics`` (optional) counts the messages published and
    the failed attempts, and each sweep sets the backlog: the messages of the heads marked
    ``behind`` that are not published yet (``seq - published``), on every replica alike.
    ``event`` makes a stored message's event (default :func:`event_of`; direct messages have
    their own, :func:`parley_chat.conversations_repository.dm_event_of`); ``what`` names the
    messages in the log ("chat messages", "direct messages").
    """

    def __init__(
        self,
        repository: MessageRepository,
        send: Send,
        *,
        sweep_interval_s: float = 1.0,
        idle_sweep_interval_s: float = 5.0,
        retry_interval_s: float = 1.0,
        watermark_delay_s: float | None = None,
        metrics: RelayMetrics | None = None,
        event: Callable[[Message], OutgoingEvent] = event_of,
        what: str = "chat messages",
    ) -> None:
        self._repo = repository
        self._send = send
        self._event_of = event
        self._sweep_wait = IdleBackoff(sweep_interval_s, idle_sweep_interval_s)
        self._retry_interval_s = retry_interval_s
        # well under the sweep's interval: a stream of posts moves the watermark at every sweep
        self._watermark_delay_s = (
            min(WATERMARK_DELAY_S, sweep_interval_s / 4) if watermark_delay_s is None else watermark_delay_s
        )
        self._acked: dict[str, int] = {}  # per meeting: acknowledged by Kafka, watermark not raised yet
        self._raisers: dict[str, asyncio.Task[None]] = {}  # per meeting: the pending watermark write
        self._pending: dict[str, dict[int, Message]] = {}  # per meeting: seq -> message to publish
        self._published: dict[str, int] = {}  # per meeting: the watermark last read or raised here
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._seen_lagging: dict[str, int] = {}  # the previous sweep: meeting -> watermark
        self._sweeper: asyncio.Task[None] | None = None
        self._stopped = False
        self._metrics = metrics
        # each logged when it starts failing and when it works again, across all meetings
        self._publish_failure = RepeatedFailure(log, f"publishing {what}")
        self._watermark_failure = RepeatedFailure(log, f"raising a watermark of {what}")
        self._sweep_failure = RepeatedFailure(log, f"the relay's sweep of {what}")

    def stored(self, messages: Iterable[Message]) -> None:
        """Publish these stored messages (their heads raised) and everything before them; after
        :meth:`stop`, nothing (their heads stay ``behind``: a sweep publishes them)."""
        if self._stopped:
            return
        for message in messages:
            self._pending.setdefault(message.meeting_id, {})[message.seq] = message
            if message.meeting_id not in self._tasks:
                self._tasks[message.meeting_id] = asyncio.create_task(
                    self._publish_meeting(message.meeting_id), name=f"chat-relay-{message.meeting_id}"
                )

    def start(self, name: str = "chat-relay-sweep") -> None:
        """Run the sweep every ``sweep_interval_s`` as a task called ``name``; no-op if running."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name=name)

    async def stop(self) -> None:
        """Cancel the sweep and every meeting's publishing, and wait until they ended; then
        write the watermarks still waiting for their delay (a failed write is logged: the
        sweep of a live replica publishes those messages again)."""
        self._stopped = True
        tasks = [*self._tasks.values(), *self._raisers.values(), *([self._sweeper] if self._sweeper else [])]
        self._sweeper = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            await stop_task(task)
        # a task cancelled before it ever ran skipped its own ``finally``
        self._tasks.clear()
        self._raisers.clear()
        for meeting_id, published in list(self._acked.items()):
            try:
                await self._repo.mark_published(meeting_id, published)
            except Exception:  # noqa: BLE001 - best effort at shutdown
                log.exception("raising the watermark of meeting %s to %s at shutdown failed", meeting_id, published)
        self._acked.clear()

    async def _publish_meeting(self, meeting_id: str) -> None:
        try:
            while self._pending.get(meeting_id):
                try:
                    await self._publish_pending(meeting_id)
                except Exception:  # noqa: BLE001 - Kafka or the store failed: retry, keep all
                    if self._metrics is not None:
                        self._metrics.failures.inc()
                    self._publish_failure.failed(self._retry_interval_s)
                    self._published.pop(meeting_id, None)  # read the watermark again
                    await asyncio.sleep(self._retry_interval_s)
                else:
                    self._publish_failure.succeeded()
        finally:
            del self._tasks[meeting_id]
            if not self._pending.get(meeting_id):
                self._pending.pop(meeting_id, None)

    async def _publish_pending(self, meeting_id: str) -> None:
        """Publish up to the highest pending message (at most ``MAX_BATCH`` past the watermark)
        and raise the watermark."""
        pending = self._pending[meeting_id]
        known = self._published.get(meeting_id)
        if known is None or min(pending) > known + 1:  # a gap: stored by another process
            # (acknowledged here but not yet in the stored watermark: published too)
            known = max(known or 0, self._acked.get(meeting_id, 0), await self._repo.watermark(meeting_id))
        target = min(max(pending), known + MAX_BATCH)
        if target > known:
            batch = [pending[seq] for seq in range(known + 1, target + 1) if seq in pending]
            if len(batch) < target - known:
                batch = sorted(await self._repo.between(meeting_id, known + 1, target), key=lambda m: m.seq)
            if [m.seq for m in batch] != list(range(known + 1, target + 1)):  # numbers have no gaps
                raise RuntimeError(f"messages {known + 1}..{target} of {meeting_id} are not all stored")
            acks = [await self._send(self._event_of(message)) for message in batch]
            await asyncio.gather(*acks)
            self._raise_watermark(meeting_id, target)
            if self._metrics is not None:
                self._metrics.published.inc(len(batch))
        self._remember(meeting_id, max(target, known))
        for seq in [seq for seq in pending if seq <= max(target, known)]:
            del pending[seq]

    def _raise_watermark(self, meeting_id: str, published: int) -> None:
        """Raise the meeting's watermark to ``published`` (acknowledged by Kafka) within
        ``watermark_delay_s``, together with whatever is acknowledged meanwhile."""
        self._acked[meeting_id] = max(published, self._acked.get(meeting_id, 0))
        if meeting_id not in self._raisers and not self._stopped:
            self._raisers[meeting_id] = asyncio.create_task(
                self._write_watermark(meeting_id), name=f"chat-watermark-{meeting_id}"
            )

    async def _write_watermark(self, meeting_id: str) -> None:
        try:
            while meeting_id in self._acked:
                await asyncio.sleep(self._watermark_delay_s)
                published = self._acked[meeting_id]
                try:
                    await self._repo.mark_published(meeting_id, published)
                except Exception:  # noqa: BLE001 - the store failed: retry, or the sweep publishes again
                    self._watermark_failure.failed(self._retry_interval_s)
                    await asyncio.sleep(self._retry_interval_s)
                    continue
                self._watermark_failure.succeeded()
                if self._acked.get(meeting_id) == published:
                    del self._acked[meeting_id]
        finally:
            del self._raisers[meeting_id]

    def _remember(self, meeting_id: str, published: int) -> None:
        self._published.pop(meeting_id, None)
        self._published[meeting_id] = published  # insertion order: least recently published first
        if len(self._published) > KNOWN_MEETINGS:
            del self._published[next(iter(self._published))]

    @property
    def next_sweep_s(self) -> float:
        """Seconds until the next sweep, counted from the end of the last one."""
        return self._sweep_wait.wait_s

    async def _sweep_forever(self) -> None:
        while not self._stopped:  # a cancellation a library swallowed ends it here
            await asyncio.sleep(self._sweep_wait.wait_s)
            try:
                marked = await self.sweep()
            except Exception:  # noqa: BLE001 - the store failed: sweep again soon
                if self._metrics is not None:
                    self._metrics.failures.inc()
                self._sweep_failure.failed(self._sweep_wait.after(True))
                continue
            self._sweep_failure.succeeded()
            self._sweep_wait.after(marked > 0)

    async def sweep(self) -> int:
        """Publish the meetings whose watermark lagged behind their head at the previous sweep
        too, without moving (see the module docstring); how many heads were marked ``behind``."""
        seen: dict[str, int] = {}
        lagging = await self._repo.lagging()
        if self._metrics is not None:
            self._metrics.backlog.set(sum(max(head.seq - head.published, 0) for head in lagging))
        for head in lagging:
            if head.published >= head.seq:
                await self._repo.unmark(head)
            elif head.meeting_id in self._tasks or head.meeting_id in self._raisers:
                continue  # being published here, or its watermark is about to be raised
            elif self._seen_lagging.get(head.meeting_id) == head.published:
                last = min(head.seq, head.published + MAX_BATCH)
                self._remember(head.meeting_id, head.published)
                self.stored(await self._repo.between(head.meeting_id, head.published + 1, last))
            else:
                seen[head.meeting_id] = head.published
        self._seen_lagging = seen
        return len(lagging)
