"""How long CPython's cyclic garbage collector stops the process, as a Prometheus histogram.

A collection of the oldest generation walks every tracked object the process holds, and the
event loop waits for it: with 10,000 sockets held by one signaling replica that is the tail of
every latency. :data:`GC_PAUSES` is one process-wide record fed by a ``gc.callbacks`` hook
(https://docs.python.org/3/library/gc.html#gc.callbacks), installed once; every app's registry
exposes it through :class:`GcPauseCollector` (tests build many apps in one process).

Exposed: ``parley_gc_pause_seconds{generation="0"|"1"|"2"}``, a histogram in seconds.
"""

from __future__ import annotations

import gc
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

#: Upper bounds of the buckets, in seconds.
BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class GcPauses:
    """Counts and sums of the collector's pauses per generation (0, 1, 2), in seconds."""

    def __init__(self) -> None:
        self.buckets = {generation: [0] * (len(BUCKETS) + 1) for generation in (0, 1, 2)}
        self.sums = {generation: 0.0 for generation in (0, 1, 2)}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        seconds = time.perf_counter() - self._started
        generation = info["generation"]
        self.buckets[generation][bisect_left(BUCKETS, seconds)] += 1
        self.sums[generation] += seconds

    def install(self) -> None:
        """Start recording (idempotent)."""
        if self not in gc.callbacks:
            gc.callbacks.append(self)


GC_PAUSES = GcPauses()


class GcPauseCollector(Collector):
    """The process's :data:`GC_PAUSES` as ``parley_gc_pause_seconds``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        GC_PAUSES.install()
        registry.register(self)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "parley_gc_pause_seconds",
            "Pauses of CPython's cyclic garbage collector, in seconds, by generation collected.",
            labels=["generation"],
        )
        for generation, counts in GC_PAUSES.buckets.items():
            cumulative, total = [], 0
            for bound, count in zip((*map(str, BUCKETS), "+Inf"), counts, strict=True):
                total += count
                cumulative.append((bound, total))
            family.add_metric([str(generation)], cumulative, GC_PAUSES.sums[generation])
        yield family
