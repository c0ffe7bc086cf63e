"""Topic declarations: the specs' partitions and retention, the deployment's replication."""

import pytest
from pydantic import ValidationError

from parley_events.topics import TOPICS, declarations
from parley_settings import KafkaTopicSettings


def test_locally_one_copy_of_each_partition() -> None:
    declared = declarations(KafkaTopicSettings())
    assert [d.name for d in declared] == [t.name for t in TOPICS]
    for topic, declaration in zip(TOPICS, declared, strict=True):
        assert declaration.partitions == topic.partitions
        assert declaration.replication_factor == 1
        assert declaration.configs == {"retention.ms": str(topic.retention_ms), "min.insync.replicas": "1"}


def test_production_replication_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_KAFKA_TOPIC_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("PARLEY_KAFKA_TOPIC_MIN_INSYNC_REPLICAS", "2")
    declared = declarations(KafkaTopicSettings())
    assert {(d.replication_factor, d.configs["min.insync.replicas"]) for d in declared} == {(3, "2")}


def test_min_insync_replicas_cannot_exceed_the_replication_factor() -> None:
    with pytest.raises(ValidationError, match="exceeds the replication factor"):
        KafkaTopicSettings(kafka_topic_replication_factor=1, kafka_topic_min_insync_replicas=2)
    with pytest.raises(ValidationError):
        KafkaTopicSettings(kafka_topic_replication_factor=0)
