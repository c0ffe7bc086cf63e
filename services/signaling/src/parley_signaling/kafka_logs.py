"""Kafka client log records, once per bus state instead of once per retry.

While Kafka is unreachable, aiokafka logs every reconnection attempt, metadata refresh and
failed fetch (measured: 2,500-8,000 ERROR lines per replica per outage of 20-45 s). The fan-out
bus state (:mod:`parley_signaling.liveness`) already says, once, that the bus is lost and when
it is back. :class:`KafkaLogGate`, a :class:`logging.Filter` on aiokafka's loggers, lets the
first record of each kind (logger and message template) through until the bus is back (then
the next one passes again), and again at most once per ``repeat_after_s`` with the number
held back meanwhile; the others are counted
in ``parley_signaling_kafka_client_log_records_held_total`` (by level) and dropped. Records
below WARNING pass untouched.
"""

import logging
import time
from collections.abc import Callable

from prometheus_client import Counter

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


class KafkaLogGate(logging.Filter):
    """Passes the first WARNING+ record of each kind until :meth:`reset` (see the module docstring).

    ``held`` is the counter of records held back, labelled by level name.
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
        """The bus is back: the next record of every kind passes again."""
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
