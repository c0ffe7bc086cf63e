"""Client input refused before it reaches a handler: counted, and logged briefly.

A hostile client can send thousands of bad frames a second. Each one is counted in
``parley_signaling_rejected_inputs_total{reason}``; it is logged as one WARNING line without a
traceback, and only while its connection stays under :data:`LOG_PER_CONNECTION` lines and
the replica under :data:`LOG_PER_REPLICA` (``limits``' fixed windows, in memory).
"""

import logging
from typing import Literal

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from prometheus_client import Counter

log = logging.getLogger(__name__)

#: Why an input was refused (the ``reason`` label).
Reason = Literal["malformed", "too_large", "not_connected", "reserved_event", "unknown_event"]
REASONS: tuple[Reason, ...] = ("malformed", "too_large", "not_connected", "reserved_event", "unknown_event")

#: Log lines about one connection's refused input, at most.
LOG_PER_CONNECTION = RateLimitItemPerMinute(2)
#: Log lines about refused input on this replica, at most.
LOG_PER_REPLICA = RateLimitItemPerMinute(30)


class Rejections:
    """Counts refused client input by reason and logs some of it (see the module docstring)."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._limiter = FixedWindowRateLimiter(MemoryStorage())
        for reason in REASONS:
            counter.labels(reason)

    def reject(self, reason: Reason, connection: str, detail: str) -> None:
        """Count one refused input of ``connection`` (an Engine.IO or socket.io session id, or
        a client address); log ``detail`` (cut to 120 characters) if the limits allow."""
        self._counter.labels(reason).inc()
        if self.may_log(connection):
            log.warning("refused %s input from %s: %r", reason, connection, detail[:120])

    def may_log(self, connection: str) -> bool:
        """Take one log line from ``connection``'s and the replica's allowance; False when spent."""
        return self._limiter.hit(LOG_PER_CONNECTION, connection) and self._limiter.hit(LOG_PER_REPLICA, "replica")
