"""Settings of the chat service (environment variables ``PARLEY_*``)."""

from pydantic import Field

from parley_settings import (
    JwtSettings,
    KafkaSettings,
    MeetingsClientSettings,
    MongoSettings,
    ServiceSettings,
)


class Settings(ServiceSettings, KafkaSettings, MongoSettings, JwtSettings, MeetingsClientSettings):
    """Everything chat reads from the environment.

    Besides the shared slices (``PARLEY_MEETINGS_URL`` is where membership is asked):
    ``PARLEY_OUTBOX_POLL_INTERVAL_S`` (seconds between outbox scans when nothing wakes the
    relay); ``PARLEY_MEMBERSHIP_CACHE_S`` (seconds a membership meetings granted is reused for
    the same meeting and access token; 0 asks meetings on every request).
    """

    mongo_database: str = "chat"
    outbox_poll_interval_s: float = 1.0
    membership_cache_s: float = Field(default=5.0, ge=0, le=60)
