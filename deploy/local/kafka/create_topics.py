"""Create Parley's Kafka topics (``parley_events.topics.TOPICS``) on a running broker.

    python create_topics.py <bootstrap-servers>

Replication factor and ``min.insync.replicas`` come from ``PARLEY_KAFKA_TOPIC_REPLICATION_FACTOR``
and ``PARLEY_KAFKA_TOPIC_MIN_INSYNC_REPLICAS`` (:class:`parley_settings.KafkaTopicSettings`;
1 and 1 unless set, as the local single broker needs). Idempotent: a topic that already exists
is left as it is. Exits non-zero when the broker does not answer within the retry budget or a
topic cannot be created.
"""

from __future__ import annotations

import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from parley_events.topics import TOPICS, declarations
from parley_settings import KafkaTopicSettings
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed


def new_topics(settings: KafkaTopicSettings | None = None) -> list[NewTopic]:
    return [
        NewTopic(
            name=t.name,
            num_partitions=t.partitions,
            replication_factor=t.replication_factor,
            topic_configs=dict(t.configs),
        )
        for t in declarations(settings or KafkaTopicSettings())
    ]


async def create(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(120),
        wait=wait_fixed(1),
        retry=retry_if_exception_type((KafkaConnectionError, OSError)),
        reraise=True,
    ):
        with attempt:
            await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in new_topics() if t.name not in existing]
        for topic in missing:
            try:
                await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                pass
            print(f"created topic {topic.name} partitions={topic.num_partitions} "
                  f"replication={topic.replication_factor} "
                  f"retention.ms={topic.topic_configs['retention.ms']} "
                  f"min.insync.replicas={topic.topic_configs['min.insync.replicas']}", flush=True)
        for name in sorted(existing & {t.name for t in TOPICS}):
            print(f"topic {name} exists", flush=True)
        # metadata of new topics reaches the broker's cache a moment after creation
        absent: set[str] = set()
        for _ in range(40):
            absent = {t.name for t in TOPICS} - set(await admin.list_topics())
            if not absent:
                break
            await asyncio.sleep(0.25)
        if absent:
            raise SystemExit(f"topics still missing: {sorted(absent)}")
    finally:
        await admin.close()


def main() -> None:
    asyncio.run(create(sys.argv[1]))


if __name__ == "__main__":
    main()
