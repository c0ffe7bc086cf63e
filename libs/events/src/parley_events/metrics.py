"""Metrics of the event plumbing: the outbox relays and the Kafka consumers (docs/metrics.md).

- :class:`OutboxMetrics`: what each relay of a process published, how often it failed, what it
  left pending, labelled by ``relay`` (:class:`parley_events.OutboxRelay` of auth and meetings;
  chat's ``MessageRelay`` of meeting chat and of direct messages and its read marks' relay).
- :class:`ConsumerLag`: records behind the end of each partition a consumer reads, measured on
  every record (or batch) handled: :meth:`ConsumerLag.middleware` for FastStream subscribers,
  :meth:`ConsumerLag.observe` for a bare aiokafka consumer (signaling's fan-out).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import TopicPartition
from faststream import BaseMiddleware
from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True)
class RelayMetrics:
    """One relay's series of :class:`OutboxMetrics`: ``published`` and ``failures`` (counters),
    ``backlog`` (a gauge, in events)."""

    published: Any
    failures: Any
    backlog: Any


class OutboxMetrics:
    """``parley_outbox_*{relay}`` in ``registry`` (made once per registry); each relay of the
    process takes its own series with :meth:`of`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._published = Counter(
            "parley_outbox_published_total",
            "Events the outbox relay published and Kafka acknowledged.",
            ["relay"],
            registry=registry,
        )
        self._failures = Counter(
            "parley_outbox_relay_failures_total",
            "Relay attempts that failed (Kafka or the store); the events stay pending and are retried.",
            ["relay"],
            registry=registry,
        )
        self._backlog = Gauge(
            "parley_outbox_backlog_events",
            "Events stored but not yet acknowledged by Kafka, as this replica's relay last saw them.",
            ["relay"],
            registry=registry,
        )

    def of(self, relay: str) -> RelayMetrics:
        """The series of relay ``relay`` (e.g. ``events``, ``chat-messages``), shown at 0 from now."""
        return RelayMetrics(self._published.labels(relay), self._failures.labels(relay), self._backlog.labels(relay))


class _Record(Protocol):
    topic: str
    partition: int
    offset: int


class _Consumer(Protocol):
    def highwater(self, partition: TopicPartition) -> int | None: ...


class ConsumerLag:
    """``parley_kafka_consumer_lag_records{topic, partition}`` in ``registry``: after a record
    (or batch) of a partition was handled, the partition's high watermark as the consumer last
    fetched it minus the offset after that record; 0 when the consumer is at the end."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Gauge(
            "parley_kafka_consumer_lag_records",
            "Records behind the end of the partition after the last one this process handled.",
            ("topic", "partition"),
            registry=registry,
        )

    def observe(self, consumer: _Consumer, records: Iterable[_Record]) -> None:
        """Set the lag of each partition of ``records`` (handled, in offset order) from
        ``consumer.highwater``; a partition whose high watermark is not known yet is skipped."""
        last: dict[tuple[str, int], int] = {}
        for record in records:
            last[(record.topic, record.partition)] = record.offset
        for (topic, partition), offset in last.items():
            highwater = consumer.highwater(TopicPartition(topic, partition))
            if highwater is not None:
                self.lag.labels(topic, str(partition)).set(max(highwater - offset - 1, 0))

    def middleware(self) -> type[BaseMiddleware]:
        """A FastStream broker middleware (``router.broker.add_middleware(...)``) that calls
        :meth:`observe` after every record or batch a subscriber handled, failed or not."""
        lag = self

        class ConsumerLagMiddleware(BaseMiddleware):
            async def consume_scope(self, call_next: Any, msg: Any) -> Any:
                try:
                    return await call_next(msg)
                finally:
                    consumer = getattr(msg, "consumer", None)
                    raw = msg.raw_message
                    if consumer is not None and hasattr(consumer, "highwater"):
                        lag.observe(consumer, raw if isinstance(raw, tuple | list) else (raw,))

        return ConsumerLagMiddleware
