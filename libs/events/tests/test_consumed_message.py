"""ConsumedMessage: a subscriber of FastStream's FastAPI integration gets the consumed message
from an ``async`` dependency, so FastAPI resolves it on the event loop instead of in its thread
pool (FastStream's own ``KafkaMessage`` is a plain ``def``). FastStream's in-memory test broker,
a unit test."""

from typing import Any

import fastapi.dependencies.utils as fastapi_dependencies
from faststream.kafka import TestKafkaBroker
from faststream.kafka.fastapi import KafkaMessage as FastStreamMessage, KafkaRouter
from faststream.kafka.message import KafkaMessage

from parley_events import ConsumedMessage


async def _consume_one(annotation: Any, monkeypatch) -> tuple[list[KafkaMessage], list[str]]:
    hops: list[str] = []
    original = fastapi_dependencies.run_in_threadpool

    async def counted(func, *args, **kwargs):
        hops.append(getattr(func, "__name__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(fastapi_dependencies, "run_in_threadpool", counted)
    router = KafkaRouter("127.0.0.1:9092")
    got: list[KafkaMessage] = []

    async def on_record(message: annotation) -> None:  # type: ignore[valid-type]
        got.append(message)

    router.subscriber("parley.test")(on_record)
    async with TestKafkaBroker(router.broker) as broker:
        await broker.publish(b'{"n": 1}', "parley.test", key=b"k")
    return got, hops


async def test_the_subscriber_gets_the_record_resolved_on_the_event_loop(monkeypatch) -> None:
    got, hops = await _consume_one(ConsumedMessage, monkeypatch)
    assert len(got) == 1 and isinstance(got[0], KafkaMessage)
    assert got[0].body == b'{"n": 1}' and got[0].raw_message.key == b"k"
    assert hops == []


async def test_faststreams_own_annotation_hops_to_the_thread_pool(monkeypatch) -> None:
    """What ConsumedMessage is for: this one goes through ``run_in_threadpool`` per record."""
    got, hops = await _consume_one(FastStreamMessage, monkeypatch)
    assert len(got) == 1 and hops == ["solve_context"]
