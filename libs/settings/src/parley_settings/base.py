"""Settings slices. Environment variables are ``PARLEY_`` + the upper-cased field name."""

import socket
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Minimum length of a secret outside local development (characters).
MIN_SECRET_LENGTH = 32


def require_secret(value: str, *, name: str, environment: str) -> str:
    """Return ``value`` if it is usable as a secret in ``environment``.

    Raises ``ValueError`` when the secret is empty, or shorter than
    :data:`MIN_SECRET_LENGTH` outside ``local``: start-up refuses a weak secret.
    """
    if not value:
        raise ValueError(f"{name} must be set")
    if environment != "local" and len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"{name} must be at least {MIN_SECRET_LENGTH} characters outside local")
    return value


class ServiceSettings(BaseSettings):
    """What every service has: its environment, instance id and log level, and
    ``gc_thaw_seconds`` (``PARLEY_GC_THAW_SECONDS``, default 900): the survivors of each full
    garbage collection are frozen, so later collections skip them; every this many seconds
    they are given back, so cyclic garbage among them waits at most this long
    (``parley_observability.gc_freeze``); ``access_log`` (``PARLEY_ACCESS_LOG``, default
    ``errors``): which HTTP requests the service's access log records, ``all``, ``errors``
    (answered 5xx) or ``off`` (``parley_observability.HttpMetricsMiddleware``; Traefik's access
    log has every request)."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    environment: Literal["local", "production"] = "production"
    instance_id: str = Field(default_factory=socket.gethostname)
    log_level: str = "INFO"
    gc_thaw_seconds: float = Field(default=900.0, gt=0)
    access_log: Literal["all", "errors", "off"] = "errors"


class KafkaSettings(BaseSettings):
    """Kafka bootstrap servers, as ``host:port[,host:port]``."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"


class KafkaTopicSettings(BaseSettings):
    """How durable Parley's topics are made when they are created (``parley_events.topics``).

    ``kafka_topic_replication_factor`` (``PARLEY_KAFKA_TOPIC_REPLICATION_FACTOR``): copies of
    every partition, at most the number of brokers; ``kafka_topic_min_insync_replicas``
    (``PARLEY_KAFKA_TOPIC_MIN_INSYNC_REPLICAS``): the topic's ``min.insync.replicas``, the
    copies that must have a record before a producer with ``acks=all`` gets its
    acknowledgement. Locally 1 and 1 (one broker); production: 3 and 2, so one broker may be
    down without losing an acknowledged record or refusing writes. Raises ``ValueError`` when
    the minimum exceeds the replication factor.
    """

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    kafka_topic_replication_factor: int = Field(1, ge=1)
    kafka_topic_min_insync_replicas: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _min_insync_within_replicas(self) -> Self:
        if self.kafka_topic_min_insync_replicas > self.kafka_topic_replication_factor:
            raise ValueError(
                f"min.insync.replicas ({self.kafka_topic_min_insync_replicas}) exceeds the replication "
                f"factor ({self.kafka_topic_replication_factor})"
            )
        return self


class MongoSettings(BaseSettings):
    """A MongoDB connection string and the service's own database name."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    mongo_uri: str = "mongodb://127.0.0.1:27017/"
    mongo_database: str
    #: How long an operation waits for a usable server (and a new connection for its
    #: handshake) before failing, in milliseconds: short, so that a request fails with 503
    #: within a few seconds while the store is down (PyMongo's default is 30 s).
    mongo_server_selection_timeout_ms: int = Field(3000, ge=100)

    def mongo_client_options(self) -> dict[str, int]:
        """Keyword arguments for ``AsyncMongoClient`` besides the URI (timeouts, milliseconds)."""
        timeout = self.mongo_server_selection_timeout_ms
        return {"serverSelectionTimeoutMS": timeout, "connectTimeoutMS": timeout}


class JwtSettings(BaseSettings):
    """How access tokens are verified: the JWKS of auth, the pinned issuer and audience."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    jwks_url: str = "http://127.0.0.1:8010/api/auth/.well-known/jwks.json"
    jwt_issuer: str = "parley-auth"
    jwt_audience: str = "parley"
    #: Seconds between two fetches of the JWKS at least, whatever tokens arrive (a token
    #: naming an unknown key asks for one; so does the cache's age).
    jwks_min_refetch_seconds: float = Field(10.0, ge=0)


class MeetingsClientSettings(BaseSettings):
    """Where the meetings service answers membership questions (internal base URL)."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    meetings_url: str = "http://127.0.0.1:8011"
