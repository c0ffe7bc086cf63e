"""Unit tests of ParticipantEvents' windows: a fake ``send`` stands in for aiokafka's producer
(each record's acknowledgement is a future the test settles). The real publisher runs against
Kafka in test_signaling_cluster.py."""

import asyncio
import gc
import json
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from parley_events import OutgoingEvent, ParticipantJoined, ParticipantLeft, PresenceSocket
from parley_signaling.metrics import SignalingMetrics
from parley_signaling.participant_events import ParticipantEvents

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def joined(meeting: str, sid: str) -> ParticipantJoined:
    return ParticipantJoined(meeting_id=meeting, user_id="u", display_name="U", sid=sid, replica_id="r", joined_at=NOW)


def left(meeting: str, sid: str) -> ParticipantLeft:
    return ParticipantLeft(meeting_id=meeting, user_id="u", sid=sid, replica_id="r", reason="left", left_at=NOW)


class FakeProducer:
    """``send(event)`` records the event and returns a future; ``fail`` names the events
    (by sid) whose next acknowledgement fails."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # (e.g. "joined", sid) in send order
        self.fail: set[str] = set()
        self.release = asyncio.Event()
        self.release.set()

    async def send(self, event):
        sid = json.loads(event.value)["data"]["sid"]
        self.sent.append((event.type.split(".")[-2], sid))
        ack = asyncio.get_running_loop().create_future()

        async def settle() -> None:
            await self.release.wait()
            if sid in self.fail:
                self.fail.discard(sid)
                ack.set_exception(ConnectionError(f"no ack for {sid}"))
            else:
                ack.set_result(None)

        asyncio.get_running_loop().create_task(settle())
        return ack


def counts(metrics: SignalingMetrics, result: str) -> float:
    return sum(metrics.participant_events.labels(kind, result)._value.get() for kind in ("joined", "left", "presence"))


def publisher(producer: FakeProducer, **options) -> tuple[ParticipantEvents, SignalingMetrics]:
    metrics = SignalingMetrics(CollectorRegistry())
    return ParticipantEvents(producer.send, metrics, first_wait_s=0.001, **options), metrics


async def test_a_burst_goes_out_in_windows_without_a_round_trip_per_record() -> None:
    producer = FakeProducer()
    producer.release.clear()  # no acknowledgement until every record of the window was sent
    events, metrics = publisher(producer, window=100)
    for n in range(250):
        events.enqueue(joined("m1", f"s{n}"))
    events.start()
    async with asyncio.timeout(10):
        while len(producer.sent) < 100:
            await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)
    assert len(producer.sent) == 100  # a whole window in flight, the next waits for its acks
    producer.release.set()
    await events.stop()
    assert [sid for _, sid in producer.sent] == [f"s{n}" for n in range(250)]
    assert counts(metrics, "published") == 250


async def test_failed_records_are_sent_again_in_order_unless_a_later_one_of_their_key_was_acknowledged() -> None:
    producer = FakeProducer()
    producer.fail = {"a1", "b1"}
    events, metrics = publisher(producer)
    events.enqueue(joined("A", "a1"))  # fails; A's next record is acknowledged: superseded
    events.enqueue(joined("B", "b1"))  # fails; nothing later of B: sent again
    events.enqueue(left("A", "a1-next"))
    events.enqueue(PresenceSocket(user_id="u", sid="c1", state="online", replica_id="r", at=NOW))
    events.start()
    await events.stop()
    assert producer.sent == [
        ("joined", "a1"),
        ("joined", "b1"),
        ("left", "a1-next"),
        ("socket", "c1"),
        ("joined", "b1"),
    ]
    assert counts(metrics, "published") == 3
    assert metrics.participant_events.labels("joined", "failed")._value.get() == 1


async def test_a_record_never_acknowledged_is_counted_failed_after_its_attempts() -> None:
    producer = FakeProducer()
    events, metrics = publisher(producer, attempts=3)

    class AlwaysFails(set):
        def __contains__(self, sid: object) -> bool:
            return sid == "lost"

        def discard(self, sid: object) -> None:
            pass

    producer.fail = AlwaysFails()
    events.enqueue(joined("A", "lost"))
    events.enqueue(joined("B", "fine"))
    events.start()
    await events.stop()
    assert [sid for _, sid in producer.sent] == ["lost", "fine", "lost", "lost"]
    assert metrics.participant_events.labels("joined", "failed")._value.get() == 1
    assert metrics.participant_events.labels("joined", "published")._value.get() == 1


async def test_a_full_queue_drops_and_counts_the_event() -> None:
    events, metrics = publisher(FakeProducer(), capacity=2)
    for n in range(3):
        events.enqueue(joined("A", f"s{n}"))
    assert metrics.participant_events.labels("joined", "dropped")._value.get() == 1


async def test_a_published_window_is_not_kept_while_the_queue_waits_for_the_next_record() -> None:
    producer = FakeProducer()
    events, metrics = publisher(producer)
    events.start()
    for n in range(3):
        events.enqueue(left("kept-window", f"s{n}"))
    async with asyncio.timeout(10):
        while counts(metrics, "published") < 3:
            await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)  # the publisher waits for the next record now
    gc.collect()
    assert [o for o in gc.get_objects() if isinstance(o, OutgoingEvent) and o.key == b"kept-window"] == []
    await events.stop()
