"""A failure that repeats, logged once when it starts and once when it ends.

A loop that retries every second while Kafka or the store is down (the outbox relay, the chat
relay's sweep, the webhook lanes, the ring and expiry sweeps) would otherwise write a traceback
every second on every replica. The first failure of a run is logged at ERROR with its
traceback, the others at DEBUG; the loop's metrics count them all.
"""

import logging


class RepeatedFailure:
    """The log of one retrying loop, ``what`` naming it ("outbox relay", "ring sweep")."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._log = logger
        self._what = what
        #: Failed tries in a row (0 while it works).
        self.failures = 0

    def failed(self, retry_s: float) -> None:
        """Call in the ``except`` block of a failed try, which is tried again in ``retry_s``
        seconds: the first failure of a run is logged at ERROR with its traceback."""
        self.failures += 1
        if self.failures == 1:
            self._log.error("%s failed; trying again every %g s (logged again when it works)",
                            self._what, retry_s, exc_info=True)
        else:
            self._log.debug("%s failed again (%d in a row)", self._what, self.failures, exc_info=True)

    def succeeded(self) -> None:
        """Call after a try that worked: the end of a run of failures is logged at INFO."""
        if self.failures:
            self._log.info("%s works again after %d failed tries", self._what, self.failures)
            self.failures = 0
