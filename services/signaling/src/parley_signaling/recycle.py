"""A new process for a replica that a burst of sockets left holding memory it no longer needs.

Every object a closed socket held is freed, but CPython does not give the memory back:
pymalloc keeps each 1 MiB arena while any block in it lives, and the few long-lived objects
made during a burst (a meeting's membership, a metric series, a Kafka record in flight) are
spread over the arenas the burst took. :mod:`parley_signaling.heap_trim` returns what glibc
can; the arenas stay (bench/README.md, "Sockets: where the memory goes after they close":
10,000 sockets took RSS from ~120 to ~380 MiB, and 90 s after they all closed it was ~420).
The only way to give that memory back is to let the process go, as uWSGI's ``reload-on-rss``
and gunicorn's ``max_requests`` do for their workers. A signaling replica can go without a
call noticing: the drain (:mod:`parley_signaling.drain`) moves its sockets to the others first,
and its supervisor (supervisord, or Kubernetes' ``restartPolicy: Always``) starts it afresh.

:class:`Recycler` looks every 10 seconds (:attr:`RecyclePolicy.look_s`) at the socket count
and the RSS. The RSS at a look with at most ``max_sockets`` sockets is the *floor*, until a
burst of at least ``burst_sockets`` came. Once a burst has fallen back to at most
``max_sockets`` sockets, the RSS must stay more than ``excess_bytes`` above the floor for
``wait_s`` seconds (the heap trimmer gives back what it can meanwhile), the process must have
run ``min_uptime_s`` seconds, and another replica must be alive on a working fan-out bus (a
lone replica would leave nobody to take new sockets while it starts again). Then it calls
``recycle`` once: in the app, SIGTERM to itself, which drains and stops as an operator's stop
does (uvicorn ends by raising SIGTERM again: exit code 143). A burst that leaves less than
``excess_bytes`` behind makes the RSS after it the new floor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from parley_observability import Periodic
from parley_signaling.heap_trim import rss_bytes

log = logging.getLogger(__name__)

MIB = 2**20


@dataclass(frozen=True)
class RecyclePolicy:
    """When an emptied replica starts afresh (module docstring); ``excess_bytes`` 0: never."""

    excess_bytes: int
    burst_sockets: int = 1000
    max_sockets: int = 0
    wait_s: float = 30.0
    min_uptime_s: float = 600.0

    @property
    def look_s(self) -> float:
        """Seconds between two looks: 10, or a third of the wait when that is shorter."""
        return min(10.0, max(self.wait_s / 3, 0.2))


class Recycler:
    """Decides, from the socket count and the RSS, when this replica should start afresh."""

    def __init__(
        self,
        count_sockets: Callable[[], int],
        others_alive: Callable[[], bool],
        recycle: Callable[[], object],
        policy: RecyclePolicy,
        *,
        rss: Callable[[], int] = rss_bytes,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._count = count_sockets
        self._others_alive = others_alive
        self._recycle = recycle
        self._policy = policy
        self._rss = rss
        self._clock = clock
        self._started = clock()
        self._floor: int | None = None  # RSS before the burst, bytes
        self._peak = 0  # the most sockets since the floor was taken
        self._above_since: float | None = None  # when the RSS was first seen too high after the burst
        self._looks = Periodic("recycler", policy.look_s, self.look, "looking at this replica's memory failed")
        self.recycled = False

    def due(self, sockets: int, rss: int) -> str | None:
        """Record one look; the reason to recycle (a log line) when it is due now, else None."""
        policy = self._policy
        now = self._clock()
        self._peak = max(self._peak, sockets)
        if sockets > policy.max_sockets:
            self._above_since = None
            return None
        if self._floor is None or self._peak < policy.burst_sockets:
            self._floor, self._peak = rss, sockets
            return None
        excess = rss - self._floor
        if excess <= policy.excess_bytes:  # the burst left little: what it left is the new floor
            self._floor, self._peak, self._above_since = rss, sockets, None
            return None
        if self._above_since is None:
            self._above_since = now
        if now - self._above_since < policy.wait_s or now - self._started < policy.min_uptime_s:
            return None
        if not self._others_alive():
            return None
        return (
            f"{sockets} sockets left after a burst of {self._peak}, and RSS has stayed at {rss / MIB:.0f} MiB "
            f"for {now - self._above_since:.0f} s, {excess / MIB:.0f} MiB above the {self._floor / MIB:.0f} "
            "before the burst"
        )

    async def look(self) -> None:
        """One look; recycles (once) when :meth:`due`."""
        if self.recycled:
            return
        reason = self.due(self._count(), self._rss())
        if reason is not None:
            self.recycled = True
            log.warning("recycling this replica to give its memory back: %s; draining, then exiting", reason)
            self._recycle()

    def start(self) -> None:
        if self._policy.excess_bytes <= 0:
            log.info("recycling after a burst of sockets is off")
            return
        self._started = self._clock()
        self._looks.start()

    async def stop(self) -> None:
        await self._looks.stop()
