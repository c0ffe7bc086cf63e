"""Memory back to the system after many sockets closed (bench/README.md, "Sockets: the C heap
given back").

A closed socket's objects are all freed, but freed memory is not returned: CPython's allocator
(pymalloc) keeps each 1 MiB arena while any block in it lives, and glibc keeps the free pages
of its heaps until ``malloc_trim(3)`` asks for them. Measured on one replica: 5,000 sockets
took 138 MiB; 30 s after they closed RSS had grown by 6 MiB more, and ``malloc_trim(0)`` gave
back 25 MiB of it. pymalloc's arenas keep the rest (fragmentation, not a leak).

:class:`HeapTrimmer` looks at this replica's socket count every ``interval_s`` seconds. When
the count has fallen by at least ``min_drop`` sockets and by at least a quarter from the
highest count seen since the last trim, and has stopped falling (a close of many sockets at
once takes seconds, and a trim in the middle of it found nothing to give back), it calls
``malloc_trim(0)`` in a worker thread (ctypes releases the GIL; glibc locks one arena at a time
while trimming it), logs what came back at INFO and counts it (``parley_signaling_heap_trims_total``,
``parley_signaling_heap_trimmed_bytes_total``, from RSS before and after). The close's own work
(the events it queued for Kafka, the connections still being taken down) frees much of its
memory after the count has settled, so a trim that gave back at least ``follow_up_bytes`` is
followed by another at the next look, until one gives back less: after 10,000 sockets closed,
the first trim gave back 6 MiB, the two after it 26 and 12 MiB more. Without glibc's
``malloc_trim`` (another C library) it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter

from parley_observability import Periodic

log = logging.getLogger(__name__)

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def glibc_malloc_trim() -> Callable[[], object] | None:
    """``malloc_trim(0)`` of the process's C library, or None where it has none (glibc has
    it; musl, for one, does not). The symbol is looked up in the running process, where the C
    library is already loaded."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


def rss_bytes() -> int:
    """This process's resident set size in bytes (``/proc/self/statm``; 0 where unreadable)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


class HeapTrimmer:
    """Trims the C heap once the socket count has fallen far from its peak, and again while
    the trims pay (module docstring)."""

    def __init__(
        self,
        count_sockets: Callable[[], int],
        registry: CollectorRegistry,
        *,
        interval_s: float = 10.0,
        min_drop: int = 500,
        follow_up_bytes: int = 4 * 2**20,
        trim: Callable[[], object] | None = None,
        rss: Callable[[], int] = rss_bytes,
    ) -> None:
        self._count = count_sockets
        self._interval_s = interval_s
        self._min_drop = min_drop
        self._follow_up_bytes = follow_up_bytes
        self._follow_up = False  # the last trim gave back enough to try again at the next look
        self._trim = trim if trim is not None else glibc_malloc_trim()
        self._rss = rss
        self._peak = self._last = 0
        self._looks = Periodic("heap-trimmer", interval_s, self.check, "trimming the heap failed")
        self.trims = Counter(
            "parley_signaling_heap_trims", "malloc_trim(0) calls after sockets closed.", registry=registry
        )
        self.trimmed_bytes = Counter(
            "parley_signaling_heap_trimmed_bytes",
            "Bytes of RSS given back to the system by those calls.",
            registry=registry,
        )

    def due(self, sockets: int) -> bool:
        """Record ``sockets`` (the count now); True when a trim is due: at least ``min_drop``
        and a quarter below the peak since the last trim, and no lower than at the previous
        look (a mass close still running holds its connections until it is done; a trim in
        the middle of it found nothing to give back). The peak then restarts from ``sockets``."""
        self._peak = max(self._peak, sockets)
        falling, self._last = sockets < self._last, sockets
        drop = self._peak - sockets
        if falling or drop < self._min_drop or drop * 4 < self._peak:
            return False
        self._peak = sockets
        return True

    async def check(self) -> None:
        """One look at the socket count, and a trim if one is due or the last one paid."""
        sockets = self._count()
        peak = self._peak
        follow_up = self._follow_up
        if self._trim is None or not (self.due(sockets) or follow_up):
            return
        before, started = self._rss(), time.perf_counter()
        await asyncio.to_thread(self._trim)
        given_back = max(0, before - self._rss())
        self._follow_up = given_back >= self._follow_up_bytes
        self.trims.inc()
        self.trimmed_bytes.inc(given_back)
        took_ms = (time.perf_counter() - started) * 1000
        if follow_up:
            log.info("gave back %.1f MiB more to the system (malloc_trim, %.0f ms)", given_back / 2**20, took_ms)
        else:
            log.info(
                "gave back %.1f MiB to the system after sockets fell from %d to %d (malloc_trim, %.0f ms)",
                given_back / 2**20, max(peak, sockets), sockets, took_ms,
            )

    def start(self) -> None:
        if self._trim is None:
            log.info("no malloc_trim in this C library: the heap is not trimmed after sockets close")
            return
        self._looks.start()

    async def stop(self) -> None:
        await self._looks.stop()
