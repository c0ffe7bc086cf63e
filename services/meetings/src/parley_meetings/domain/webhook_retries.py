"""The retry schedule of a delivery (docs/webhooks.md "Retries").

After the first attempt fails, attempt 2 comes 5 s later, then 5 min, 30 min, 2 h, 5 h, 10 h
and 10 h (Standard Webhooks' recommendation): 8 attempts over 27 h 35 min, more than the
24 hours the platform promises. The steps are multiples of a base interval
(``PARLEY_WEBHOOK_RETRY_BASE_S``, 5 s by default; tests use a fraction of a second), and each
delay is stretched by up to :data:`JITTER` (never shortened, so the whole stays ≥ 24 h) so
that many deliveries failing together do not come back together.
"""

import random
from collections.abc import Callable
from datetime import timedelta

#: The delay before attempt n + 1 after n failed attempts, in base intervals (5 s).
STEPS: tuple[int, ...] = (1, 60, 360, 1440, 3600, 7200, 7200)
#: Attempts of a delivery in one round (the first and one per step).
MAX_ATTEMPTS = len(STEPS) + 1
#: Largest share a delay is stretched by.
JITTER = 0.1


def retry_delay(failed_attempts: int, base_s: float, rand: Callable[[], float] = random.random) -> timedelta | None:
    """How long to wait after ``failed_attempts`` failed attempts (1 after the first), or
    ``None`` when the schedule is exhausted (the delivery has failed)."""
    if failed_attempts < 1 or failed_attempts > len(STEPS):
        return None
    return timedelta(seconds=STEPS[failed_attempts - 1] * base_s * (1 + JITTER * rand()))
