"""parley_gc_pause_seconds: every collection of the process is counted once per registry, by
generation, with its duration."""

from __future__ import annotations

import gc

from prometheus_client import CollectorRegistry

from parley_observability.gc_pauses import GC_PAUSES, GcPauseCollector


def test_each_collection_is_counted_by_generation_in_every_registry() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    GcPauseCollector(first)
    GcPauseCollector(second)
    assert gc.callbacks.count(GC_PAUSES) == 1

    def count(registry: CollectorRegistry, generation: str) -> float:
        return registry.get_sample_value("parley_gc_pause_seconds_count", {"generation": generation})

    before = {g: count(first, g) for g in ("0", "2")}
    gc.collect(0)
    gc.collect()
    gc.collect()
    assert count(first, "0") >= before["0"] + 1  # (the process may collect on its own meanwhile)
    assert count(first, "2") >= before["2"] + 2
    assert count(second, "2") == count(first, "2")
    total = first.get_sample_value("parley_gc_pause_seconds_bucket", {"generation": "2", "le": "+Inf"})
    assert total == count(first, "2")
    assert first.get_sample_value("parley_gc_pause_seconds_sum", {"generation": "2"}) > 0
