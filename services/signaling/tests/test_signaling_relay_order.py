"""Unit tests of RelayOrder: one sender's relays in order across Kafka and the replica link."""

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from parley_signaling.metrics import SignalingMetrics
from parley_signaling.relay_order import ACK_WAIT_S, SHARED_PARTITION, RelayOrder


@dataclass
class Metadata:
    partition: int
    offset: int


class Emitted:
    def __init__(self, failing: object = None) -> None:
        self.data: list[Any] = []
        self._failing = failing

    async def __call__(self, message: dict) -> None:
        assert message["method"] == "emit" and message["namespace"] == "/"
        if message["data"][0] == self._failing:
            raise RuntimeError("socket went away")
        self.data.append(message["data"][0])


SEQ = iter(range(1, 1_000_000))


def relay(data: Any, after: tuple[int, int] = (-1, -1), room: Any = "s1", seq: int | None = None) -> dict:
    return {"seq": next(SEQ) if seq is None else seq, "after": list(after), "event": "offer", "data": data, "room": room}


def acked(partition: int, offset: int) -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()
    future.set_result(Metadata(partition, offset))
    return future


async def test_after_names_the_last_acknowledged_offsets_and_settled_waits_for_the_rest() -> None:
    order = RelayOrder(Emitted(), SignalingMetrics(CollectorRegistry()))
    assert order.after(3) == (-1, -1) and await order.settled()
    order.sending(3)
    order.acknowledged(acked(SHARED_PARTITION, 7))
    order.acknowledged(acked(3, 2))
    assert order.after(3) == (7, 2) and order.after(4) == (7, -1)
    waiting = asyncio.create_task(order.settled())
    await asyncio.sleep(0)
    assert not waiting.done()
    failed = asyncio.get_running_loop().create_future()
    failed.set_exception(OSError("Kafka away"))
    order.acknowledged(failed)  # done, not acknowledged: the offsets stay
    assert await asyncio.wait_for(waiting, 1) and order.after(3) == (7, 2)


async def test_settled_gives_up_after_the_wait() -> None:
    order = RelayOrder(Emitted(), SignalingMetrics(CollectorRegistry()))
    order.sending(1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert not await order.settled()
    assert loop.time() - started >= ACK_WAIT_S * 0.9


async def test_a_relay_waits_for_its_records_and_the_senders_later_ones_wait_behind_it() -> None:
    emitted = Emitted()
    order = RelayOrder(emitted, SignalingMetrics(CollectorRegistry()))
    order.start(3, {SHARED_PARTITION: 4, 3: 10})
    await order.on_frame("r2", "h2", relay(1, after=(5, 10)))
    await order.on_frame("r2", "h2", relay(2))  # nothing before it, but behind the first
    await order.on_frame("r3", "h3", relay(3, after=(4, 10), room=["s1", "s2"]))  # another sender: not held
    assert emitted.data == [3] and order.holding
    order.handled(3, 11)
    await order.release()
    assert emitted.data == [3]  # still waiting for the shared partition
    order.handled(SHARED_PARTITION, 5)
    await order.release()
    assert emitted.data == [3, 1, 2] and not order.holding


@pytest.mark.parametrize(
    "frame",
    [
        {"seq": 1, "after": [1], "event": "offer", "data": 1, "room": "s1"},
        {"seq": 1, "after": [1, "2"], "event": "offer", "data": 1, "room": "s1"},
        {"after": [1, True], "event": "offer", "data": 1, "room": "s1"},
        {"after": [1, 2], "event": 7, "data": 1, "room": "s1"},
        {"after": [1, 2], "event": "offer", "data": 1, "room": ["s1", 2]},
        {"after": [1, 2], "event": "offer", "data": 1},
        {"after": [1, 2], "event": "offer", "data": 1, "room": "s1"},  # no seq
        {"seq": "1", "after": [1, 2], "event": "offer", "data": 1, "room": "s1"},
    ],
)
async def test_a_malformed_relay_is_counted_and_skipped(frame: dict) -> None:
    emitted, metrics = Emitted(), SignalingMetrics(CollectorRegistry())
    order = RelayOrder(emitted, metrics)
    await order.on_frame("r2", "h2", frame)
    assert emitted.data == [] and not order.holding
    assert metrics.link_relays.labels("malformed")._value.get() == 1  # noqa: SLF001


async def test_a_relay_that_fails_to_emit_stops_none_behind_it() -> None:
    emitted = Emitted(failing=1)
    order = RelayOrder(emitted, SignalingMetrics(CollectorRegistry()))
    order.start(3, {SHARED_PARTITION: 4})
    await order.on_frame("r2", "h2", relay(1, after=(5, -1)))
    await order.on_frame("r2", "h2", relay(2, after=(5, -1)))
    await order.on_frame("r3", "h3", relay(1))  # fails at once, logged
    order.handled(SHARED_PARTITION, 5)
    await order.release()
    assert emitted.data == [2] and not order.holding


def resent(data: Any, seq: Any, host_id: Any = "h2") -> dict:
    """A link relay sent again through Kafka, as the fan-out reads it."""
    return {"method": "emit", "event": "offer", "data": [data], "namespace": "/", "room": "s1", "host_id": host_id, "link_seq": seq}


async def test_each_seq_of_a_sender_is_taken_once_whichever_path_brings_it_first() -> None:
    """A link broke after relays 1-3 were written: 1 and 2 had arrived, 3 had not. All three
    come again through Kafka: only 3 is handled. Then the next link relay, 4, and a late
    link copy of 3 (skipped)."""
    emitted, metrics = Emitted(), SignalingMetrics(CollectorRegistry())
    order = RelayOrder(emitted, metrics)
    await order.on_frame("r2", "h2", relay(1, seq=1))
    await order.on_frame("r2", "h2", relay(2, seq=2))
    assert [order.handle_now(resent(n, seq=n)) for n in (1, 2, 3)] == [False, False, True]
    await order.on_frame("r2", "h2", relay(4, seq=4))
    await order.on_frame("r2", "h2", relay(3, seq=3))
    assert order.handle_now(resent(9, seq=3, host_id="h3"))  # another sender's seq of its own
    assert emitted.data == [1, 2, 4]
    assert metrics.link_relays.labels("duplicate")._value.get() == 3  # noqa: SLF001
    assert order.handle_now({"method": "emit", "event": "x", "data": [0], "room": "m1", "host_id": "h2"})  # not a relay
    assert not order.handle_now(resent(5, seq="5")) and not order.handle_now(resent(5, seq=5, host_id=None))
    assert metrics.link_relays.labels("malformed")._value.get() == 2  # noqa: SLF001


async def test_a_relay_sent_again_waits_behind_its_senders_held_link_relays() -> None:
    """Relay 1 over the link waits for a record; the link breaks; relay 2, sent again through
    Kafka, is read before that record: it is emitted after 1, not before."""
    emitted = Emitted()
    order = RelayOrder(emitted, SignalingMetrics(CollectorRegistry()))
    order.start(3, {SHARED_PARTITION: 4, 3: 10})
    await order.on_frame("r2", "h2", relay(1, after=(5, 10), seq=1))
    assert not order.handle_now(resent(2, seq=2))
    assert emitted.data == []
    order.handled(SHARED_PARTITION, 5)
    await order.release()
    assert emitted.data == [1, 2] and not order.holding
