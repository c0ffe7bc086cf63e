"""Settings base shared by every Parley service.

Each service declares one ``Settings`` class that mixes in the slices it needs
(:class:`KafkaSettings`, :class:`MongoSettings`, :class:`JwtSettings`) on top of
:class:`ServiceSettings`. Values come from ``PARLEY_*`` environment variables and are read
only when a settings object is built, inside ``create_app(settings)``, never at import.
"""

from parley_settings.base import (
    JwtSettings,
    KafkaSettings,
    KafkaTopicSettings,
    MeetingsClientSettings,
    MongoSettings,
    ServiceSettings,
    require_secret,
)
from parley_settings.rate_limit import RateLimit

__all__ = [
    "JwtSettings",
    "KafkaSettings",
    "KafkaTopicSettings",
    "MeetingsClientSettings",
    "MongoSettings",
    "RateLimit",
    "ServiceSettings",
    "require_secret",
]
