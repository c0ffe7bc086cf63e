"""Processed event ids (the inbox of idempotent consumers) against the real Mongo-wire store."""

import pytest

from parley_events import ProcessedEvents
from parley_testing import drop_database

pytestmark = pytest.mark.integration


async def test_seen_among_finds_exactly_the_recorded_ids_of_a_batch(stack, mongo, unique_name) -> None:
    processed = ProcessedEvents(mongo[unique_name]["processed_events"])
    try:
        await processed.record_all([f"old-{i}" for i in range(50)])
        await processed.record("single")
        batch = ["old-3", "new-1", "old-3", "single", "new-2", "old-49"]  # a repeat inside the batch too
        assert await processed.seen_among(batch) == {"old-3", "single", "old-49"}
        assert await processed.seen_among([]) == set()
        await processed.record_all(["new-1", "old-3"])  # recording again is harmless
        assert await processed.seen_among(batch) == {"old-3", "single", "old-49", "new-1"}
        assert await processed.seen("new-1") and not await processed.seen("new-2")
    finally:
        await drop_database(mongo, unique_name)
