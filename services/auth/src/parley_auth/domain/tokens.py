"""Access tokens: JWTs (RFC 7519) signed with EdDSA/Ed25519 (RFC 8037).

Header ``{"alg": "EdDSA", "typ": "JWT", "kid"}``; claims ``iss``, ``aud``, ``sub`` (user id),
``name`` (display name), ``sid`` (the sign-in session: its refresh-token family), ``iat``, ``exp`` (``iat`` + ttl seconds), ``jti`` (random hex),
``typ: "access"``. A guest token (:meth:`AccessTokens.issue_guest`) has ``sub``
``guest-<random>``, ``role: "guest"`` and ``meeting_id`` instead of ``sid``. Verification pins the algorithm and requires and checks ``iss``, ``aud``,
``exp``, ``iat``, ``sub`` (RFC 8725 §3.1, §3.8, §3.9), exactly like parley_security's
:class:`~parley_security.JwksVerifier` does with the published JWKS.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from parley_auth.domain.keys import KeySet, SigningKey
from parley_security import GUEST_PREFIX, InvalidToken, Principal, decode_access_token, token_kid
from parley_security.jwt import ALGORITHM


@dataclass(frozen=True)
class AccessToken:
    """A signed access token, its lifetime in seconds and its ``jti``."""

    token: str
    expires_in: int
    jti: str


class AccessTokens:
    """Signs this service's access tokens with the signing key, and verifies tokens signed by
    any published key of ``keys`` (a bare :class:`SigningKey` is a set of one)."""

    def __init__(self, keys: KeySet | SigningKey, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        self.keys = keys if isinstance(keys, KeySet) else KeySet(keys)
        self.key = self.keys.signing
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(
        self, user_id: str, display_name: str, *, session_id: str | None = None, now: datetime | None = None
    ) -> AccessToken:
        """Sign an access token for ``user_id`` of session ``session_id`` (the ``sid`` claim,
        left out when None) valid ``ttl_seconds`` from ``now``."""
        issued = (now or datetime.now(UTC)).replace(microsecond=0)
        jti = uuid.uuid4().hex
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "name": display_name,
            "iat": issued,
            "exp": issued + timedelta(seconds=self.ttl_seconds),
            "jti": jti,
            "typ": "access",
        }
        if session_id is not None:
            claims["sid"] = session_id
        token = jwt.encode(claims, self.key.private_key, algorithm=ALGORITHM, headers={"kid": self.key.kid})
        return AccessToken(token=token, expires_in=self.ttl_seconds, jti=jti)

    def issue_guest(
        self, meeting_id: str, display_name: str, *, ttl_seconds: int, now: datetime | None = None
    ) -> tuple[AccessToken, str]:
        """Sign a guest token for meeting ``meeting_id`` valid ``ttl_seconds`` from ``now``, and
        return it with the guest's new id (``guest-<random>``): no session, no refresh token."""
        issued = (now or datetime.now(UTC)).replace(microsecond=0)
        jti = uuid.uuid4().hex
        guest_id = f"{GUEST_PREFIX}{uuid.uuid4().hex}"
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": guest_id,
            "name": display_name,
            "role": "guest",
            "meeting_id": meeting_id,
            "iat": issued,
            "exp": issued + timedelta(seconds=ttl_seconds),
            "jti": jti,
            "typ": "access",
        }
        token = jwt.encode(claims, self.key.private_key, algorithm=ALGORITHM, headers={"kid": self.key.kid})
        return AccessToken(token=token, expires_in=ttl_seconds, jti=jti), guest_id

    async def verify(self, token: str) -> Principal:
        """The :class:`Principal` of a valid access token; raises :class:`InvalidToken`.

        Async and named like :meth:`JwksVerifier.verify`, so it can serve as
        ``app.state.verifier`` for parley_security's ``CurrentPrincipal``.
        """
        key = self.keys.public_key(token_kid(token))
        if key is None:
            raise InvalidToken.of("unknown_key")
        return decode_access_token(token, key, issuer=self.issuer, audience=self.audience)
