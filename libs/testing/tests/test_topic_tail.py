"""TopicTail: a record that is no CloudEvent (some tests publish such records to the shared
topics on purpose) is skipped, not raised, by every way of reading the tail. Unit tests: the
consumer is a fake that hands out fixed batches (producing junk to a real shared topic would
disturb the tests that count it)."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from parley_events import ParticipantLeft, encode
from parley_testing import TopicTail


def record(value: bytes, headers: dict[str, bytes] | None = None, key: bytes = b"m1") -> SimpleNamespace:
    return SimpleNamespace(value=value, headers=list((headers or {}).items()), key=key)


class FakeConsumer:
    """``getmany`` hands out one batch per call, then nothing."""

    def __init__(self, *batches: list[SimpleNamespace]) -> None:
        self.batches = list(batches)

    async def getmany(self, timeout_ms: int) -> dict[str, list[SimpleNamespace]]:
        return {"partition": self.batches.pop(0)} if self.batches else {}


def left_event(meeting_id: str, sid: str) -> SimpleNamespace:
    left = ParticipantLeft(meeting_id=meeting_id, user_id="u1", sid=sid, replica_id="r1", reason="left",
                           left_at=datetime.now(UTC))
    event = encode(left, source="/parley/signaling")
    return record(event.value, dict(event.headers), event.key)


JUNK = [record(b"\x00\xffnot json at all", {"content-type": b"application/cloudevents+json"}), record(b"{}"),
        record(b"plain bytes without headers")]


async def test_find_skips_junk_and_keeps_what_it_read() -> None:
    tail = TopicTail(FakeConsumer([*JUNK, left_event("m1", "a")], [left_event("m1", "b")]))  # type: ignore[arg-type]
    first = await tail.find(lambda e: e.data.sid == "b")
    assert first.data.sid == "b"
    assert [e.data.sid for e in tail.seen] == ["a", "b"]
    assert (await tail.find(lambda e: e.data.sid == "a")).data.sid == "a"  # from what was read before
    with pytest.raises(AssertionError, match="not found"):
        await tail.find(lambda e: e.data.sid == "c", timeout_s=0.1)


async def test_events_and_events_until_skip_junk() -> None:
    tail = TopicTail(FakeConsumer([*JUNK, left_event("m1", "a"), left_event("m2", "b")]))  # type: ignore[arg-type]
    assert [e.data.sid for e in await tail.events(subject="m2", timeout_s=1)] == ["b"]
    tail = TopicTail(FakeConsumer(JUNK, [left_event("m1", "a")]))  # type: ignore[arg-type]
    assert [e.data.sid for e in await tail.events_until(lambda found: len(found) == 1, timeout_s=1)] == ["a"]
