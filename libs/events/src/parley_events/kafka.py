"""FastStream glue: publishing encoded events and decoding received records, and the message
a subscriber of FastStream's FastAPI integration takes (:data:`ConsumedMessage`)."""

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol, get_args

from fastapi import Depends
from faststream.kafka import KafkaBroker
from faststream.kafka.fastapi import KafkaMessage as _ContextMessage
from faststream.kafka.fastapi import KafkaRouter
from faststream.kafka.message import KafkaMessage

from parley_events import batch_poll
from parley_events.envelope import EventDecodeError, OutgoingEvent, ReceivedEvent, decode
from parley_events.schemas import EventData

log = logging.getLogger(__name__)

#: FastStream's own dependency for the message (``Context("message")``) is a plain ``def``, so
#: FastAPI runs it in its thread pool for every record consumed: a hop to a worker thread and
#: back (~15 % of a signaling replica's busy time while it consumed the events of a mass join).
_context_message = get_args(_ContextMessage)[1].dependency


async def _consumed_message(**context: Any) -> Any:
    return _context_message(**context)


_consumed_message.__signature__ = inspect.signature(_context_message)  # type: ignore[attr-defined]

#: A subscriber's parameter: the consumed :class:`KafkaMessage`, resolved on the event loop
#: (FastStream's ``faststream.kafka.fastapi.KafkaMessage``, as an ``async`` dependency).
ConsumedMessage = Annotated[KafkaMessage, Depends(_consumed_message, use_cache=True)]


#: Every service's ``KafkaRouter(log_level=...)``: the level of FastStream's "Received" and
#: "Processed" lines, one of each per record consumed, below the services' INFO so that they
#: are not written. At INFO they were two lines per chat message on every signaling replica
#: (14% of its CPU at 200 chat posts/s, py-spy), and two per roster event, presence record
#: and session heartbeat in meetings and auth. A handler's failure is still logged at ERROR.
CONSUMER_LOG_LEVEL = logging.DEBUG

#: ``batch_timeout_ms`` of every batch subscriber: how often an idle one asks aiokafka again.
#: With :mod:`parley_events.batch_poll` a poll that found nothing is not followed by a sleep
#: as long, and a record reaches the handler when its fetch does, so the period costs no
#: latency; FastStream's default (200 ms) only woke idle subscribers five times a second.
BATCH_POLL_MS = 1000

#: Subscriber options (``router.subscriber(topic, **FEED_BATCHES)``) of a feed of many small
#: records, most of them skipped by the reader (a topic every replica reads whole, with no
#: consumer group, or a projection that takes a few of a topic's types): what arrived since the
#: last look, up to 500 records in partition order, goes to the handler at once
#: (:func:`records_of`). FastStream's per-message machinery (middlewares, context, parsing:
#: about 1 ms of CPU per record on a loaded machine) then runs once per batch. A record
#: reaches the handler as soon as its fetch does; an idle subscriber asks again every
#: :data:`BATCH_POLL_MS`, and its fetch waits at the broker up to 5 s for records
#: (``fetch_max_wait_ms``, aiokafka's default 0.5 s; the broker answers as soon as one
#: arrives). An idle feed costs a replica ~1 ms of CPU per second instead of 3–4
#: (bench/README.md, "Idle subscribers"). With a consumer group and
#: ``AckPolicy.NACK_ON_ERROR``, a failure gets the whole batch again, once the fetch under way
#: returned: on an idle topic up to 5 s later.
FEED_BATCHES: dict[str, Any] = {
    "batch": True,
    "max_records": 500,
    "batch_timeout_ms": BATCH_POLL_MS,
    "fetch_max_wait_ms": 5000,
}


def service_router(bootstrap_servers: str, *, client_id: str, description: str, **options: Any) -> KafkaRouter:
    """A service's FastStream router (FastAPI integration; include it in the app, whose
    lifespan runs its broker): FastStream's per-record lines at :data:`CONSUMER_LOG_LEVEL`, no
    AsyncAPI page of FastStream's own (:func:`parley_events.asyncapi_router` serves the
    document), and :func:`parley_events.batch_poll.install` done before any subscriber exists.
    ``options`` go to ``KafkaRouter`` as they are (``acks``, ``linger_ms``, ...)."""
    batch_poll.install()
    return KafkaRouter(
        bootstrap_servers,
        client_id=client_id,
        log_level=CONSUMER_LOG_LEVEL,
        schema_url=None,
        description=description,
        **options,
    )


def kafka_publisher(broker: KafkaBroker):
    """Return ``publish(event)`` sending an :class:`OutgoingEvent` through ``broker``.

    It returns once the broker acknowledged the record and raises on failure. Every service's
    router sets ``acks="all"`` (aiokafka's default is 1), so with the production topics'
    ``min.insync.replicas`` 2 an acknowledged event is on two brokers.
    """

    async def publish(event: OutgoingEvent) -> None:
        await broker.publish(
            event.value,
            event.topic,
            key=event.key,
            headers={name: value.decode() for name, value in event.headers.items()},
        )

    return publish


def kafka_sender(broker: KafkaBroker):
    """Return ``send(event)`` for :class:`parley_events.OutboxRelay`: it enqueues the record
    in the broker's producer and returns the future of Kafka's acknowledgement, so a batch is
    sent without one round trip per record (aiokafka groups what is enqueued meanwhile)."""

    async def send(event: OutgoingEvent):
        return await broker.publish(
            event.value,
            event.topic,
            key=event.key,
            headers={name: value.decode() for name, value in event.headers.items()},
            no_confirm=True,
        )

    return send


def received_event(message: KafkaMessage) -> ReceivedEvent:
    """Decode the FastStream ``message`` of a subscriber (the first record of a batch's);
    raises ``EventDecodeError``."""
    return decoded_record(records_of(message)[0])


def records_of(message: KafkaMessage) -> tuple[Any, ...]:
    """The aiokafka ``ConsumerRecord`` objects of a FastStream ``message``: one, or a batch
    subscriber's (``batch=True``) in partition order."""
    raw = message.raw_message
    return tuple(raw) if isinstance(raw, tuple | list) else (raw,)  # a list from FastStream's TestKafkaBroker


async def raw_body(message: Any) -> bytes:
    """A FastStream ``decoder`` that keeps each record's bytes as they are: decoding is
    :func:`decoded_record`'s job, per record in the handler, so a malformed record reaches the
    handler (which skips it) instead of failing in FastStream's JSON decoder and coming back
    for ever."""
    return message.body


def decoded_record(record: Any) -> ReceivedEvent:
    """Decode one aiokafka ``ConsumerRecord``; raises ``EventDecodeError``."""
    headers = {name: value for name, value in (record.headers or [])}
    return decode(record.value, headers, record.key)


def decoded_events(message: KafkaMessage, on_malformed: Callable[[], None] = lambda: None) -> list[ReceivedEvent]:
    """The events of ``message``'s records (one record, or a batch), in order; a malformed
    record is logged (with its topic), counted by ``on_malformed`` and left out."""
    events: list[ReceivedEvent] = []
    for record in records_of(message):
        try:
            events.append(decoded_record(record))
        except EventDecodeError as exc:
            log.warning("skipping a malformed record on %s: %s", record.topic, exc)
            on_malformed()
    return events


async def apply_each_event(message: KafkaMessage, apply: Callable[[EventData], Awaitable[object]]) -> None:
    """Await ``apply`` with the payload of each event of ``message`` (:func:`decoded_events`),
    in order."""
    for event in decoded_events(message):
        await apply(event.data)


class Relay(Protocol):
    """What :func:`relay_while_broker_runs` runs: an :class:`OutboxRelay`, or a service's own."""

    def start(self, name: str) -> None: ...

    async def stop(self) -> None: ...


def relay_while_broker_runs(router: Any, relay: Callable[[], Relay], name: str = "outbox-relay") -> None:
    """Start the outbox relay once the FastStream FastAPI ``router``'s broker has started, and
    stop it before the broker stops (its publisher needs the broker). ``relay`` returns the
    relay when called, so one built in the app's lifespan (after MongoDB) can be named."""

    @router.after_startup
    async def start_relay(app: Any) -> None:
        relay().start(name)

    @router.on_broker_shutdown
    async def stop_relay(app: Any) -> None:
        await relay().stop()
