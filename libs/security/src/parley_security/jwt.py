"""Verify Parley access tokens against the JWKS that auth publishes.

Access tokens are JWTs (RFC 7519) signed with EdDSA (Ed25519, RFC 8037). Verification pins
the algorithm, requires ``exp``, ``iat``, ``sub``, and checks ``iss`` and ``aud`` (RFC 8725
§3.1, §3.9). Keys come from the JWKS (RFC 7517) at ``jwks_url``, cached for ``cache_ttl_s``
seconds and refetched at once when a token names an unknown ``kid``.
"""

import asyncio
import time
from dataclasses import dataclass

import httpx
import jwt

from parley_settings import JwtSettings

#: The only signing algorithm accepted.
ALGORITHM = "EdDSA"


class InvalidToken(Exception):
    """The token is missing, malformed, expired, forged, or for another issuer or audience."""


@dataclass(frozen=True)
class Principal:
    """The signed-in user a verified token names: ``user_id`` (``sub``) and ``display_name``."""

    user_id: str
    display_name: str
    token: str


class JwksVerifier:
    """Verifies access tokens; one per app, built from the app's settings."""

    @classmethod
    def from_settings(cls, settings: JwtSettings) -> "JwksVerifier":
        """The verifier of ``PARLEY_JWKS_URL``, ``PARLEY_JWT_ISSUER`` and ``PARLEY_JWT_AUDIENCE``."""
        return cls(settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience)

    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        audience: str,
        http: httpx.AsyncClient | None = None,
        cache_ttl_s: float = 300.0,
    ) -> None:
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._http = http or httpx.AsyncClient(timeout=5.0)
        self._cache_ttl_s = cache_ttl_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _refresh(self) -> None:
        async with self._lock:
            response = await self._http.get(self._jwks_url)
            response.raise_for_status()
            keyset = jwt.PyJWKSet.from_dict(response.json())
            self._keys = {key.key_id: key for key in keyset.keys if key.key_id}
            self._fetched_at = time.monotonic()

    async def _key(self, kid: str) -> jwt.PyJWK:
        stale = time.monotonic() - self._fetched_at > self._cache_ttl_s
        if kid not in self._keys or stale:
            try:
                await self._refresh()
            except (httpx.HTTPError, jwt.PyJWKError, ValueError) as exc:
                if kid not in self._keys:
                    raise InvalidToken(f"signing keys unavailable: {exc}") from exc
        if kid not in self._keys:
            raise InvalidToken("token signed with an unknown key")
        return self._keys[kid]

    async def ready(self) -> None:
        """Fetch the JWKS now; raises when auth does not serve it (a readiness check)."""
        await self._refresh()

    async def verify(self, token: str) -> Principal:
        """Return the :class:`Principal` of a valid access token; raise :class:`InvalidToken`."""
        key = await self._key(token_kid(token))
        return decode_access_token(token, key, issuer=self._issuer, audience=self._audience)


def token_kid(token: str) -> str:
    """The ``kid`` of ``token``'s header, once the header pins :data:`ALGORITHM`.

    Raises :class:`InvalidToken` for a malformed token or another algorithm (RFC 8725 §3.1).
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed token: {exc}") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"algorithm {header.get('alg')!r} not accepted")
    return str(header.get("kid", ""))


def decode_access_token(token: str, key: object, *, issuer: str, audience: str) -> Principal:
    """Verify ``token``'s signature with ``key`` and its claims; return its :class:`Principal`.

    Requires ``exp``, ``iat``, ``sub``, ``iss`` (= ``issuer``), ``aud`` (= ``audience``) and
    ``typ: "access"``. Raises :class:`InvalidToken` saying what is wrong.
    """
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from exc
    if claims.get("typ") != "access":
        raise InvalidToken("not an access token")
    return Principal(user_id=claims["sub"], display_name=claims.get("name", ""), token=token)
