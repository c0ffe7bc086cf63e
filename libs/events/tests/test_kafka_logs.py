"""The Kafka client's log gate (parley_events.kafka_logs): one record of each kind, not one a retry."""

import logging

from prometheus_client import CollectorRegistry

from parley_events import KafkaLogGate, kafka_log_records_held
from parley_testing import FakeClock


def test_the_gate_lets_one_record_of_each_kind_through_then_one_a_minute_with_the_count() -> None:
    clock = FakeClock(100.0)
    registry = CollectorRegistry()
    held = kafka_log_records_held(registry)
    gate = KafkaLogGate(held, repeat_after_s=60.0, clock=clock)

    def record(name: str, msg: str, level: int = logging.ERROR, *args: object) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, msg, args, None)

    unable = "Unable connect to node with id %s: %s"
    assert gate.filter(record("aiokafka", unable, logging.ERROR, 1, "refused"))
    assert not gate.filter(record("aiokafka", unable, logging.ERROR, 1, "refused again"))
    assert gate.filter(record("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s"))
    assert gate.filter(record("aiokafka", "Connected", logging.INFO))  # below WARNING: untouched
    assert not gate.filter(record("aiokafka", unable))
    assert registry.get_sample_value("parley_kafka_client_log_records_held_total", {"level": "ERROR"}) == 2
    clock.now += 61  # a long outage: a reminder with the count
    again = record("aiokafka", unable, logging.ERROR, 1, "refused")
    assert gate.filter(again) and "[2 more like this in the last 61s]" in again.getMessage()
    assert not gate.filter(record("aiokafka", unable))
    gate.reset()  # Kafka is back (signaling: its fan-out bus)
    assert gate.filter(record("aiokafka", unable))


async def test_the_gate_attaches_to_aiokafkas_loggers_once_while_held() -> None:
    gate = KafkaLogGate(kafka_log_records_held(CollectorRegistry()))
    async with gate:
        gate.attach()
        assert logging.getLogger("aiokafka").filters.count(gate) == 1
        assert gate in logging.getLogger("aiokafka.producer.sender").filters
    assert gate not in logging.getLogger("aiokafka").filters
