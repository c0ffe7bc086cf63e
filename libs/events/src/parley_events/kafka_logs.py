"""Kafka client log records, once per kind instead of once per retry.

While Kafka is unreachable, aiokafka logs every reconnection attempt, metadata refresh and
failed fetch: a 25 s Kafka stop on the local stack left 1,187 ERROR lines in turn-config,
4,717 in a chat replica, 10,066 in an auth replica and 11,220 in a meetings replica (and
2,500-8,000 per signaling replica before its gate). :class:`KafkaLogGate`, a
:class:`logging.Filter` on aiokafka's loggers, lets the first record of each kind (logger and
message template) through, then the same kind again at most once per ``repeat_after_s`` with
the number held back meanwhile; the others are counted in
``parley_kafka_client_log_records_held_total`` (by level) and dropped. Records below WARNING
pass untouched. Signaling, which knows when its fan-out bus is back
(:mod:`parley_signaling.liveness`), also calls :meth:`KafkaLogGate.reset` then, so the next
outage is logged at once.

auth, meetings, chat and turn-config hold one gate for their app's life (``async with gate:``
in the lifespan); signaling's fan-out attaches its own while it runs. The filter is on
aiokafka's process-wide loggers.
"""

import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter

#: aiokafka's loggers (one per module; ``aiokafka.client`` logs as ``aiokafka``).
AIOKAFKA_LOGGERS = (
    "aiokafka",
    "aiokafka.cluster",
    "aiokafka.conn",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.producer",
    "aiokafka.producer.sender",
)


def kafka_log_records_held(registry: CollectorRegistry) -> Counter:
    """``parley_kafka_client_log_records_held_total{level}`` in ``registry``, every level at 0."""
    held = Counter(
        "parley_kafka_client_log_records_held",
        "Log records of the Kafka client (aiokafka) held back as repeats of one already logged, "
        "by level (WARNING, ERROR, CRITICAL).",
        ("level",),
        registry=registry,
    )
    for level in ("WARNING", "ERROR", "CRITICAL"):
        held.labels(level)
    return held


class KafkaLogGate(logging.Filter):
    """Passes the first WARNING+ record of each kind, then one a ``repeat_after_s`` (see the
    module docstring); an async context manager that attaches it to aiokafka's loggers.

    ``held`` is the counter of records held back, labelled by level name
    (:func:`kafka_log_records_held`).
    """

    def __init__(
        self, held: Counter, *, repeat_after_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._held = held
        self._repeat_after_s = repeat_after_s
        self._clock = clock
        #: (logger, template) -> [time last passed, records held back since]
        self._seen: dict[tuple[str, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = [now, 0]
            return True
        if now - seen[0] >= self._repeat_after_s:
            held = int(seen[1])
            self._seen[key] = [now, 0]
            if held:
                record.msg = f"{record.msg} [{held} more like this in the last {now - seen[0]:.0f}s]"
            return True
        seen[1] += 1
        self._held.labels(record.levelname).inc()
        return False

    def reset(self) -> None:
        """Kafka is back: the next record of every kind passes again."""
        self._seen.clear()

    def attach(self) -> None:
        """Add this gate to aiokafka's loggers (idempotent)."""
        for name in AIOKAFKA_LOGGERS:
            logger = logging.getLogger(name)
            if self not in logger.filters:
                logger.addFilter(self)

    def detach(self) -> None:
        """Remove this gate from aiokafka's loggers."""
        for name in AIOKAFKA_LOGGERS:
            logging.getLogger(name).removeFilter(self)

    async def __aenter__(self) -> "KafkaLogGate":
        self.attach()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.detach()
