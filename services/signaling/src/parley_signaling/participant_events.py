"""Signaling's publisher of participant.joined/left and presence.socket/replica_lost.

Signaling has no database, hence no transactional outbox: these events are published straight
to Kafka by :class:`ParticipantEvents`. The replica runs two, one for participant.* and one
for presence.* (``main``), so that a mass close's presence records never fill the queue a
``participant.left`` waits in.
"""

import asyncio
import logging
from collections.abc import Awaitable

from tenacity import AsyncRetrying, before_sleep_log, stop_after_attempt, wait_exponential

from parley_events import EventData, OutgoingEvent, ParticipantJoined, ParticipantLeft, encode
from parley_events.relay import Send
from parley_observability import stop_task
from parley_signaling.metrics import SignalingMetrics

log = logging.getLogger(__name__)

#: CloudEvents ``source`` of the events signaling publishes.
SOURCE = "/parley/signaling"

#: (metric label, event) of one queued record.
Record = tuple[str, OutgoingEvent]


async def _raise(error: Exception) -> None:
    """An acknowledgement that failed before it was asked for (the record was not enqueued)."""
    raise error


class NotAcknowledged(Exception):
    """Some records of a window were not acknowledged by Kafka (they are sent again)."""


class ParticipantEvents:
    """Publishes participant.* (or presence.*) events in order, a window at a time.

    :meth:`enqueue` never blocks the caller: it encodes the event (its id and time are fixed
    then) into a queue of ``capacity`` records, and drops it (logged, counted ``dropped``)
    when the queue is full. :meth:`run` (a background task) takes what is queued, up to
    ``window`` records, hands them all to ``send`` in queue order (aiokafka groups them into
    produce requests; see :func:`parley_events.kafka_sender`) and then awaits every
    acknowledgement, so a burst costs a few round trips to Kafka instead of one per record.

    A record that Kafka did not acknowledge is sent again with the records of its window that
    also failed, in order, up to ``attempts`` sends in all, with exponential back-off from
    ``first_wait_s`` up to 2 seconds; then it is logged at ERROR and counted ``failed``. A
    failed record whose key (meeting or user) had a *later* record of the window acknowledged
    is not sent again but counted ``failed`` at once: sending it after that record would put
    the key's events out of order on the topic (a ``participant.joined`` after its
    ``participant.left`` would leave a ghost on the roster), while what the key's later event
    says supersedes it.
    """

    def __init__(
        self,
        send: Send,
        metrics: SignalingMetrics,
        *,
        attempts: int = 5,
        first_wait_s: float = 0.1,
        capacity: int = 10_000,
        window: int = 500,
    ) -> None:
        self._send = send
        self._metrics = metrics
        self._attempts = attempts
        self._first_wait_s = first_wait_s
        self._window = window
        self._queue: asyncio.Queue[Record] = asyncio.Queue(capacity)
        self._task: asyncio.Task[None] | None = None

    def enqueue(self, data: EventData) -> None:
        """Queue ``data`` (participant.* or presence.*) for publishing (encoded now: its id and
        time are fixed here)."""
        label = "joined" if isinstance(data, ParticipantJoined) else "left" if isinstance(data, ParticipantLeft) else "presence"
        try:
            self._queue.put_nowait((label, encode(data, source=SOURCE)))
        except asyncio.QueueFull:
            log.error("participant event queue full: dropped %s %s", data.event_type, data.model_dump(mode="json"))
            self._metrics.participant_events.labels(label, "dropped").inc()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Publish what is queued (up to ``drain_timeout_s`` seconds), then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), drain_timeout_s)
        except TimeoutError:
            log.error("%d participant events not published at shutdown", self._queue.qsize())
        await stop_task(self._task)
        self._task = None

    async def run(self) -> None:
        while True:
            await self._publish_next_window()

    async def _publish_next_window(self) -> None:
        """Wait for a record, publish it with what else is queued (up to ``window`` records).
        A method of its own so that the window is freed when it returns, not kept until the
        next record comes (a mass close's last window would hold its records, and the
        allocator's arenas under them, for as long as the replica stays quiet)."""
        window = [await self._queue.get()]
        while len(window) < self._window and not self._queue.empty():
            window.append(self._queue.get_nowait())
        try:
            await self._publish(window)
        except Exception:  # noqa: BLE001 - a bug here must not stop the events after it
            log.exception("participant events publisher failed on a window of %d", len(window))
            for record in window:
                self._lost(record, "the publisher failed")
        finally:
            for _ in window:
                self._queue.task_done()

    async def _publish(self, window: list[Record]) -> None:
        pending = window
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts),
                wait=wait_exponential(multiplier=self._first_wait_s, max=2.0),
                before_sleep=before_sleep_log(log, logging.WARNING),
                reraise=True,
            ):
                with attempt:
                    pending, error = await self._send_window(pending)
                    if pending:
                        raise NotAcknowledged(f"{len(pending)} of {len(window)} records not acknowledged") from error
        except NotAcknowledged as failure:
            for record in pending:
                self._lost(record, f"after {self._attempts} attempts ({failure.__cause__!r})")

    async def _send_window(self, records: list[Record]) -> tuple[list[Record], BaseException | None]:
        """Send ``records`` in order, await every acknowledgement; return the failed records
        to send again (in order) and the first error, having counted the published and the
        superseded ones."""
        acks: list[Awaitable[object]] = []
        for _label, event in records:
            try:
                acks.append(await self._send(event))
            except Exception as error:  # noqa: BLE001 - the record is sent again
                acks.append(_raise(error))
        outcomes = await asyncio.gather(*acks, return_exceptions=True)
        again: list[Record] = []
        acknowledged_later: set[bytes] = set()
        for record, outcome in reversed(list(zip(records, outcomes))):
            label, event = record
            if not isinstance(outcome, BaseException):
                self._metrics.participant_events.labels(label, "published").inc()
                acknowledged_later.add(event.key)
            elif event.key in acknowledged_later:
                self._lost(record, f"superseded: a later event of its key was acknowledged ({outcome!r})")
            else:
                again.append(record)
        again.reverse()
        return again, next((o for o in outcomes if isinstance(o, BaseException)), None)

    def _lost(self, record: Record, why: str) -> None:
        label, event = record
        log.error("PARTICIPANT EVENT LOST %s: %s id=%s key=%s", why, event.type, event.id, event.key.decode(errors="replace"))
        self._metrics.participant_events.labels(label, "failed").inc()
