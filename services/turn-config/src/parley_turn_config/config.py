"""Settings of turn-config, from ``PARLEY_*`` environment variables.

==================================  =====================================================
``PARLEY_TURN_SECRET``              shared secret with coturn (``static-auth-secret``);
                                    required; at least 32 characters outside local
``PARLEY_TURN_URLS``                JSON list of TURN URLs, e.g. ``["turn:host:3478?transport=udp"]``;
                                    required, at least one
``PARLEY_STUN_URLS``                JSON list of STUN URLs (default ``[]``)
``PARLEY_TURN_TTL_SECONDS``         credential lifetime in seconds (default 3600)
``PARLEY_JWKS_URL``,                how access tokens are verified (see parley_settings.JwtSettings)
``PARLEY_JWT_ISSUER``,
``PARLEY_JWT_AUDIENCE``
``PARLEY_KAFKA_BOOTSTRAP_SERVERS``  where auth's ``session.revoked`` events are read
==================================  =====================================================
"""

from typing import Self

from pydantic import Field, SecretStr, model_validator

from parley_settings import JwtSettings, KafkaSettings, ServiceSettings, require_secret


class TurnSettings(ServiceSettings):
    """The TURN slice: shared secret, server URLs and credential lifetime."""

    turn_secret: SecretStr
    turn_urls: list[str] = Field(min_length=1)
    stun_urls: list[str] = Field(default_factory=list)
    turn_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def _secret_is_usable(self) -> Self:
        require_secret(
            self.turn_secret.get_secret_value(), name="PARLEY_TURN_SECRET", environment=self.environment
        )
        return self


class Settings(TurnSettings, JwtSettings, KafkaSettings):
    """Everything turn-config reads. No MongoDB; Kafka for the revoked sessions only."""
