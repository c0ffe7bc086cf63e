"""Unit tests of the message relay's fast path with an in-memory repository and sender."""

import asyncio
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from parley_chat.domain.models import Message
from parley_chat.relay import MessageRelay
from parley_chat.repository import Head
from parley_events import OutboxMetrics, decode
from parley_testing import RecordingSend


class FakeRepository:
    """The relay's view of the store: stored messages, one watermark per meeting, and calls."""

    def __init__(self) -> None:
        self.messages: dict[int, Message] = {}
        self.published = 0
        self.calls: list[str] = []

    async def watermark(self, meeting_id: str) -> int:
        self.calls.append("watermark")
        return self.published

    async def between(self, meeting_id: str, first: int, last: int) -> list[Message]:
        self.calls.append(f"between {first}..{last}")
        return [m for seq, m in self.messages.items() if first <= seq <= last]

    async def lagging(self) -> list[Head]:
        top = max(self.messages, default=0)
        return [Head("m", top, self.published)] if top > self.published else []

    async def mark_published(self, meeting_id: str, published: int) -> None:
        self.calls.append(f"mark {published}")
        self.published = max(self.published, published)

    def store(self, seq: int) -> Message:
        message = Message(message_id=f"msg-{seq:04d}", meeting_id="m", sender_id="u", sender_name="U",
                          text=str(seq), posted_at=datetime.now(UTC), seq=seq)
        self.messages[seq] = message
        return message


async def _idle(relay: MessageRelay) -> None:
    """Wait until the relay's per-meeting tasks ended (publishing, then raising the watermark)."""
    while relay._tasks or relay._raisers:  # noqa: SLF001 - the test waits for them to end
        await asyncio.sleep(0.01)


async def _sent(relay: MessageRelay) -> None:
    """Wait until the relay's per-meeting publishing ended (its watermark may still be waiting)."""
    while relay._tasks:  # noqa: SLF001 - the test waits for the per-meeting task to end
        await asyncio.sleep(0.01)


async def test_batches_that_follow_each_other_are_sent_from_memory_and_marked_once_each() -> None:
    repo, send = FakeRepository(), RecordingSend()
    relay = MessageRelay(repo, send, watermark_delay_s=0)  # type: ignore[arg-type]
    relay.stored([repo.store(1), repo.store(2)])
    await _idle(relay)
    relay.stored([repo.store(3)])
    await _idle(relay)
    assert [decode(e.value).data.seq for e in send.sent] == [1, 2, 3]
    # the first batch reads the watermark once; no batch reads messages from the store
    assert repo.calls == ["watermark", "mark 2", "mark 3"]


async def test_batches_within_the_watermark_delay_raise_the_watermark_once() -> None:
    repo, send = FakeRepository(), RecordingSend()
    relay = MessageRelay(repo, send, watermark_delay_s=1.0)  # type: ignore[arg-type]  # a busy machine may stall for a while
    for seq in range(1, 6):
        relay.stored([repo.store(seq)])
        await _sent(relay)
    assert [decode(e.value).data.seq for e in send.sent] == [1, 2, 3, 4, 5]
    assert repo.calls == ["watermark"]  # every batch acknowledged, no write yet
    await _idle(relay)
    assert repo.calls == ["watermark", "mark 5"] and repo.published == 5


async def test_stop_writes_a_watermark_still_waiting_for_its_delay() -> None:
    repo, send = FakeRepository(), RecordingSend()
    relay = MessageRelay(repo, send, watermark_delay_s=60)  # type: ignore[arg-type]
    relay.stored([repo.store(1), repo.store(2)])
    await _sent(relay)
    await relay.stop()
    assert repo.published == 2 and relay._raisers == {}  # noqa: SLF001


async def test_a_batch_after_another_replicas_messages_sends_those_first() -> None:
    repo, send = FakeRepository(), RecordingSend()
    relay = MessageRelay(repo, send, watermark_delay_s=0)  # type: ignore[arg-type]
    relay.stored([repo.store(1)])
    await _idle(relay)
    repo.store(2)  # 2 and 3 stored by another replica, not published yet
    repo.store(3)
    relay.stored([repo.store(4)])
    await _idle(relay)
    assert [decode(e.value).data.seq for e in send.sent] == [1, 2, 3, 4]
    assert repo.calls == ["watermark", "mark 1", "watermark", "between 2..4", "mark 4"]


async def test_after_stop_nothing_is_taken_over() -> None:
    repo, send = FakeRepository(), RecordingSend()
    relay = MessageRelay(repo, send)  # type: ignore[arg-type]
    await relay.stop()
    relay.stored([repo.store(1)])
    await asyncio.sleep(0.05)
    assert send.sent == [] and relay._tasks == {}  # noqa: SLF001 - the sweep of a live replica publishes it


async def test_the_metrics_count_published_messages_failures_and_the_backlog_a_sweep_sees() -> None:
    repo, send = FakeRepository(), RecordingSend()
    registry = CollectorRegistry()
    relay = MessageRelay(repo, send, metrics=OutboxMetrics(registry).of("chat-messages"), retry_interval_s=0.01)  # type: ignore[arg-type]

    def value(name: str) -> float | None:
        return registry.get_sample_value(name, {"relay": "chat-messages"})

    relay.stored([repo.store(1), repo.store(2)])
    await _idle(relay)
    assert value("parley_outbox_published_total") == 2
    repo.store(3)  # stored by a replica that crashed before publishing
    repo.store(4)
    await relay.sweep()
    assert value("parley_outbox_backlog_events") == 2
    failures = 0

    async def refuse(event: object) -> object:
        nonlocal failures
        failures += 1
        raise ConnectionError("kafka refused")

    relay._send = refuse  # noqa: SLF001 - Kafka goes away
    relay.stored([repo.store(5)])
    while failures < 2:
        await asyncio.sleep(0.01)
    assert value("parley_outbox_relay_failures_total") >= 1
    assert value("parley_outbox_published_total") == 2
    await relay.stop()


async def test_an_idle_sweep_waits_longer_and_longer_until_a_head_is_marked_again() -> None:
    repo, send = FakeRepository(), RecordingSend()
    relay = MessageRelay(repo, send, sweep_interval_s=0.01, idle_sweep_interval_s=0.04)  # type: ignore[arg-type]
    relay.start()
    try:
        async with asyncio.timeout(30):
            while relay.next_sweep_s != 0.04:  # nothing marked: 0.02, then capped at 0.04
                await asyncio.sleep(0.001)
            repo.store(1)  # stored by a replica that crashed before publishing: never handed over
            while relay.next_sweep_s != 0.01:  # a marked head: back to sweep_interval_s
                await asyncio.sleep(0.001)
            while repo.published < 1:  # the next sweep publishes it
                await asyncio.sleep(0.001)
            while relay.next_sweep_s != 0.04:  # and idle again
                await asyncio.sleep(0.001)
    finally:
        await relay.stop()
    assert [decode(e.value).data.seq for e in send.sent] == [1]
