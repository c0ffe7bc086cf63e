"""Settings of the chat service (environment variables ``PARLEY_*``)."""

from typing import Literal

from parley_settings import (
    JwtSettings,
    KafkaSettings,
    MeetingsClientSettings,
    MongoSettings,
    RateLimit,
    ServiceSettings,
)


class Settings(ServiceSettings, KafkaSettings, MongoSettings, JwtSettings, MeetingsClientSettings):
    """Everything chat reads from the environment.

    Besides the shared slices (``PARLEY_MEETINGS_URL`` is where membership is asked):
    ``PARLEY_OUTBOX_POLL_INTERVAL_S`` (seconds between the relay's sweeps for meetings whose
    published messages lag behind, :mod:`parley_chat.relay`); ``PARLEY_KAFKA_CONSUMER_GROUP``
    (chat's contact projection consumes ``parley.contacts`` in the group ``{it}-contacts``)
    and ``PARLEY_KAFKA_AUTO_OFFSET_RESET`` (where that group starts the first time);
    ``PARLEY_CHAT_POST_LIMIT_PER_USER`` (posts one user may make, meeting chat and direct
    messages together, ``N/period``: :mod:`parley_chat.domain.post_limit`).
    """

    mongo_database: str = "chat"
    outbox_poll_interval_s: float = 1.0
    kafka_consumer_group: str = "chat"
    kafka_auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    chat_post_limit_per_user: RateLimit = "30/10 seconds"
