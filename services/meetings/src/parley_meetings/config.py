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
    #: Minutes before a scheduled meeting's start from which participants may join it
    #: (``PARLEY_JOIN_LEAD_MINUTES``; its host may join at any time).
    join_lead_minutes: int = Field(default=15, ge=0, le=24 * 60)
    #: Seconds a meeting's room may stay empty (after someone was in it) before the meeting
    #: expires, unless the meeting sets its own ``empty_timeout_seconds``
    #: (``PARLEY_MEETING_EMPTY_TIMEOUT_S``; :mod:`parley_meetings.domain.expiry`).
    meeting_empty_timeout_s: int = Field(default=300, ge=5, le=24 * 60 * 60)
    #: Seconds between two looks of a replica for due deadlines (``PARLEY_EXPIRY_SWEEP_INTERVAL_S``):
    #: a meeting expires at most this long after its deadline.
    expiry_sweep_interval_s: float = Field(default=5.0, gt=0, le=300)
    #: Seconds a direct call rings before it becomes missed (``PARLEY_CALL_RING_TIMEOUT_S``).
    call_ring_timeout_s: float = Field(default=30.0, gt=0, le=600)
    #: Seconds from its answer that an accepted call waits for both to have been in its room
    #: (``PARLEY_CALL_ARRIVAL_TIMEOUT_S``): one leaving before the other came ends it only
    #: then, if nobody is in the room by then.
    call_arrival_timeout_s: float = Field(default=30.0, gt=0, le=600)
    #: Seconds between two runs of a replica's ring sweeper (``PARLEY_CALL_SWEEP_INTERVAL_S``):
    #: how late after its deadline a call becomes missed, at most.
    call_sweep_interval_s: float = Field(default=1.0, gt=0, le=60)
    #: Consumer group of the API keys' projection (``PARLEY_API_KEYS_CONSUMER_GROUP``).
    api_keys_consumer_group: str = "meetings-api-keys"
    #: Hours an ``Idempotency-Key`` of ``POST /api/meetings`` is remembered
    #: (``PARLEY_IDEMPOTENCY_TTL_HOURS``).
    idempotency_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    #: Base interval of the webhook retry schedule in seconds (``PARLEY_WEBHOOK_RETRY_BASE_S``):
    #: retries come 1, 60, 360, 1440, 3600, 7200 and 7200 base intervals after a failure
    #: (5 s … 10 h with the default; :mod:`parley_meetings.domain.webhook_retries`).
    webhook_retry_base_s: float = Field(default=5.0, gt=0, le=3600)
    #: Seconds between an idle replica's looks for due deliveries (``PARLEY_WEBHOOK_POLL_INTERVAL_S``;
    #: one idle lane at a time looks): how late a retry, or a delivery enqueued by another replica,
    #: may be sent at most.
    webhook_poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    #: Seconds a webhook request may take before it counts as failed (``PARLEY_WEBHOOK_TIMEOUT_S``).
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    #: Deliveries one replica sends at once (``PARLEY_WEBHOOK_LANES``).
    webhook_lanes: int = Field(default=4, ge=1, le=64)
