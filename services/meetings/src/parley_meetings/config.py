"""Settings of the meetings service (environment variables ``PARLEY_*``)."""

from typing import Literal

from pydantic import Field

from parley_settings import JwtSettings, KafkaSettings, MongoSettings, ServiceSettings


class Settings(ServiceSettings, KafkaSettings, MongoSettings, JwtSettings):
    """Everything meetings reads from the environment.

    Besides the shared slices: ``PARLEY_PUBLIC_BASE_URL`` (the platform's public base URL,
    used in invite links ``{public_base_url}/m/{meeting_id}``), ``PARLEY_KAFKA_CONSUMER_GROUP``
    (consumer group of the roster consumer), ``PARLEY_KAFKA_AUTO_OFFSET_RESET`` (where a new
    consumer group starts reading), ``PARLEY_OUTBOX_POLL_INTERVAL_S`` (seconds between
    outbox scans when nothing wakes the relay), ``PARLEY_SUMMARY_CACHE_SIZE`` (meeting
    summaries a replica keeps) and ``PARLEY_SUMMARY_CACHE_TTL_S`` (seconds one is kept at most:
    how late a change made on another replica shows while Kafka is down;
    :mod:`parley_meetings.domain.summaries`).
    """

    mongo_database: str = "meetings"
    public_base_url: str = "http://127.0.0.1:18000"
    kafka_consumer_group: str = "meetings"
    kafka_auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    outbox_poll_interval_s: float = 1.0
    summary_cache_size: int = Field(default=10_000, ge=1)
    summary_cache_ttl_s: float = Field(default=30.0, gt=0)
