"""Settings of auth, from ``PARLEY_*`` environment variables.

=====================================  ==========================================================
``PARLEY_JWT_PRIVATE_KEY_FILE``        PEM file of the Ed25519 signing key (PKCS#8); required.
                                       Outside local it must exist; with
                                       ``PARLEY_ENVIRONMENT=local`` a missing file is generated
                                       there at start-up (mode 0600).
``PARLEY_JWT_PUBLISHED_KEY_FILES``     JSON list of PEM files (private or public Ed25519 keys)
                                       published in the JWKS and accepted besides the signing
                                       key: the next key of a rotation before it signs, the
                                       previous one until its tokens expired (default ``[]``;
                                       docs/operations.md). Each must exist.
``PARLEY_JWT_ISSUER``                  ``iss`` of issued tokens (default ``parley-auth``)
``PARLEY_JWT_AUDIENCE``                ``aud`` of issued tokens (default ``parley``)
``PARLEY_ACCESS_TOKEN_TTL_SECONDS``    access token lifetime, seconds (default 900)
``PARLEY_REFRESH_TOKEN_TTL_SECONDS``   refresh token lifetime, seconds (default 2592000, 30 days)
``PARLEY_GUEST_TOKEN_TTL_SECONDS``     guest token lifetime, seconds (default 14400, 4 hours;
                                       60–86400): a guest has no refresh token, so this is
                                       the longest a guest stays in a meeting
``PARLEY_MONGO_URI``,                  MongoDB connection string and database
``PARLEY_MONGO_DATABASE``
``PARLEY_KAFKA_BOOTSTRAP_SERVERS``     Kafka, for ``user.registered`` events
``PARLEY_LOGIN_LIMIT_PER_ADDRESS``     failed logins per client address (default
                                       ``100/15 minutes``)
``PARLEY_LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS``  logins per account from one address
                                       (default ``5/5 minutes``)
``PARLEY_LOGIN_LIMIT_PER_ACCOUNT``     logins per account from any address (default
                                       ``20/15 minutes``)
``PARLEY_REGISTER_LIMIT_PER_ADDRESS``  registrations per client address (default ``20/hour``)
``PARLEY_REFRESH_LIMIT_PER_ADDRESS``   refreshes per client address (default
                                       ``600/15 minutes``)
``PARLEY_GUEST_LIMIT_PER_ADDRESS``     guest tokens per client address (default ``30/hour``)
``PARLEY_SESSION_POLICY``              ``single`` (default: one active session per user; a
                                       sign-in elsewhere is refused with 409 ``active_session``
                                       while the session is live, unless it takes over) or
                                       ``multiple``
``PARLEY_SESSION_LEASE_SECONDS``       how long a session stays live after signaling's last
                                       ``session.active`` heartbeat for it (default 60, at least
                                       2; keep it above 2 x signaling's
                                       ``PARLEY_SESSION_HEARTBEAT_SECONDS``): a crashed browser
                                       locks its user out for at most this long
=====================================  ==========================================================

Limits are in the notation of the ``limits`` library (``N/period``); see
:mod:`parley_auth.throttle` for what each counts. The client address is what uvicorn reports:
run it with ``--forwarded-allow-ips`` set to the proxies' addresses (Traefik) and no other.
"""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from parley_settings import KafkaSettings, MongoSettings, RateLimit, ServiceSettings


class TokenSettings(BaseSettings):
    """How auth signs tokens: the key file, the issuer and audience, the lifetimes (seconds)."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    jwt_private_key_file: Path
    jwt_published_key_files: list[Path] = []
    jwt_issuer: str = "parley-auth"
    jwt_audience: str = "parley"
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=24 * 3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    guest_token_ttl_seconds: int = Field(default=4 * 3600, ge=60, le=24 * 3600)


class ThrottleSettings(BaseSettings):
    """How many login, registration and refresh attempts are allowed (``N/period``)."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    login_limit_per_address: RateLimit = "100/15 minutes"
    login_limit_per_account_and_address: RateLimit = "5/5 minutes"
    login_limit_per_account: RateLimit = "20/15 minutes"
    register_limit_per_address: RateLimit = "20/hour"
    refresh_limit_per_address: RateLimit = "600/15 minutes"
    guest_limit_per_address: RateLimit = "30/hour"


class SessionSettings(BaseSettings):
    """The session policy (``single`` or ``multiple``) and the single-session lease (seconds)."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    session_policy: Literal["single", "multiple"] = "single"
    session_lease_seconds: int = Field(default=60, ge=2, le=3600)


class Settings(ServiceSettings, KafkaSettings, MongoSettings, TokenSettings, ThrottleSettings, SessionSettings):
    """Everything auth reads. Start-up refuses a missing signing key outside local.

    ``presence_consumer_group`` (``PARLEY_PRESENCE_CONSUMER_GROUP``): the Kafka consumer group
    of the presence projection (every replica of a deployment shares it);
    ``presence_offset_reset`` where a group without committed positions starts (``earliest``:
    the whole retained topic, what a deployment wants; tests that do not look at presence
    start at ``latest``).
    """

    presence_consumer_group: str = "auth-presence"
    #: Kafka consumer group of the keys' last-use consumer (``PARLEY_API_KEY_USE_CONSUMER_GROUP``).
    api_key_use_consumer_group: str = "auth-api-key-use"
    #: Kafka consumer group of the guest projection (``PARLEY_GUEST_MEETINGS_CONSUMER_GROUP``).
    guest_meetings_consumer_group: str = "auth-guest-meetings"
    #: Kafka consumer group of the single-session lease renewals from ``session.active``
    #: (``PARLEY_SESSION_ACTIVITY_CONSUMER_GROUP``).
    session_activity_consumer_group: str = "parley-auth-sessions"
    presence_offset_reset: Literal["earliest", "latest"] = "earliest"

    @model_validator(mode="after")
    def _signing_key_exists(self) -> Self:
        if self.environment != "local" and not self.jwt_private_key_file.is_file():
            raise ValueError(
                f"PARLEY_JWT_PRIVATE_KEY_FILE={self.jwt_private_key_file} does not exist; "
                "a signing key is generated only when PARLEY_ENVIRONMENT=local"
            )
        missing = [str(path) for path in self.jwt_published_key_files if not path.is_file()]
        if missing:
            raise ValueError(f"PARLEY_JWT_PUBLISHED_KEY_FILES: {', '.join(missing)} do not exist")
        return self
