"""Verify Parley access tokens against the JWKS that auth publishes.

Access tokens are JWTs (RFC 7519) signed with EdDSA (Ed25519, RFC 8037). Verification pins
the algorithm, requires ``exp``, ``iat``, ``sub``, and checks ``iss`` and ``aud`` (RFC 8725
§3.1, §3.9). Keys come from the JWKS (RFC 7517) at ``jwks_url``, cached for ``cache_ttl_s``
seconds and refetched when a token names an unknown ``kid`` — but never twice within
``min_refetch_interval_s`` seconds, so junk tokens cannot make every service hammer auth.
Until a first fetch has succeeded (auth still starting), a failed fetch is tried again after
at most :data:`FIRST_FETCH_RETRY_S` seconds instead: no key is known yet, so every token
would be refused for the whole interval.

A refusal says what is wrong in a fixed sentence per reason (:data:`REFUSAL_MESSAGES`), which
the services answer as the 401's ``message``; the library's own words (which may quote the
token's bytes, or the error of the key fetch) go to a DEBUG log line only.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx
import jwt
from prometheus_client import CollectorRegistry, Counter

from parley_settings import JwtSettings

#: seconds between fetches while none has succeeded yet (at most; ``min_refetch_interval_s``
#: when that is shorter)
FIRST_FETCH_RETRY_S = 1.0

#: The only signing algorithm accepted.
ALGORITHM = "EdDSA"

#: Why a token was refused (:attr:`InvalidToken.reason`, the metric's ``reason`` label).
RefusalReason = Literal[
    "malformed", "algorithm", "unknown_key", "keys_unavailable", "expired", "invalid", "not_access", "revoked"
]
REFUSAL_REASONS: tuple[RefusalReason, ...] = (
    "malformed",
    "algorithm",
    "unknown_key",
    "keys_unavailable",
    "expired",
    "invalid",
    "not_access",
    "revoked",
)


#: What the holder of a refused token is told, per reason: a fixed sentence, never the
#: library's words nor anything of the token.
REFUSAL_MESSAGES: dict[RefusalReason, str] = {
    "malformed": "the bearer token is malformed",
    "algorithm": f"the bearer token is not signed with the accepted algorithm ({ALGORITHM})",
    "unknown_key": "the bearer token is signed with an unknown key",
    "keys_unavailable": "the signing keys are unavailable for now (auth's key set could not be fetched); try again",
    "expired": "the bearer token has expired",
    "invalid": "the bearer token is not valid (its signature, issuer, audience or claims)",
    "not_access": "the bearer token is not an access token",
    "revoked": "the session of this token has ended (signed out, or used elsewhere)",
}

log = logging.getLogger(__name__)


class InvalidToken(Exception):
    """The token is missing, malformed, expired, forged, or for another issuer or audience.

    ``reason`` says which, in a word of :data:`REFUSAL_REASONS` (``invalid``: a bad signature
    or claim); the message is a sentence fit to show the token's holder (see :meth:`of`).
    """

    def __init__(self, message: str, reason: RefusalReason = "invalid") -> None:
        super().__init__(message)
        self.reason = reason

    @classmethod
    def of(cls, reason: RefusalReason, detail: object = None) -> "InvalidToken":
        """The refusal for ``reason`` with its fixed message (:data:`REFUSAL_MESSAGES`);
        ``detail`` (the library's error, or a word of ours) is logged at DEBUG, not shown."""
        if detail is not None:
            log.debug("bearer token refused (%s): %s", reason, detail)
        return cls(REFUSAL_MESSAGES[reason], reason)


#: ``sub`` of every guest token starts with this (user ids never do: auth issues UUIDs in hex).
#: A ``-``, not a ``:``: the id goes into TURN REST API usernames (``expiry:user-id``, where a
#: second ``:`` is refused), socket.io room names (``user:<id>``) and URL paths as it is.
GUEST_PREFIX = "guest-"


def is_guest_id(user_id: str) -> bool:
    """Is ``user_id`` a guest's (``guest-<random>``) rather than an account's?"""
    return user_id.startswith(GUEST_PREFIX)


@dataclass(frozen=True)
class Principal:
    """The signed-in user a verified token names: ``user_id`` (``sub``), ``display_name``
    (``name``) and ``session_id`` (``sid``: the sign-in session, None in tokens issued before
    sessions had ids).

    A guest (a token with ``role: "guest"``, ``POST /api/auth/guests``) has ``guest_meeting_id``:
    the one meeting it may use; its ``user_id`` is ``guest-<random>`` and it has no session.
    """

    user_id: str
    display_name: str
    token: str
    session_id: str | None = None
    guest_meeting_id: str | None = None

    @property
    def is_guest(self) -> bool:
        return self.guest_meeting_id is not None


class JwksVerifier:
    """Verifies access tokens; one per app, built from the app's settings.

    ``cache_ttl_s``: seconds before known keys are fetched again; ``min_refetch_interval_s``:
    seconds between two fetches at least (also after a failed one); ``clock``: monotonic
    seconds, ``wall_clock``: Unix seconds, against ``exp`` (both injectable for tests);
    ``verified_cache_size``: how many verified tokens are remembered (0: none; see the module
    documentation). :meth:`instrument` counts refusals and fetches.
    """

    @classmethod
    def from_settings(cls, settings: JwtSettings) -> "JwksVerifier":
        """The verifier of ``PARLEY_JWKS_URL``, ``PARLEY_JWT_ISSUER``, ``PARLEY_JWT_AUDIENCE``
        and ``PARLEY_JWKS_MIN_REFETCH_SECONDS``."""
        return cls(
            settings.jwks_url,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            min_refetch_interval_s=settings.jwks_min_refetch_seconds,
        )

    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        audience: str,
        http: httpx.AsyncClient | None = None,
        cache_ttl_s: float = 300.0,
        min_refetch_interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        verified_cache_size: int = 10_000,
    ) -> None:
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._http = http or httpx.AsyncClient(timeout=5.0)
        self._cache_ttl_s = cache_ttl_s
        self.min_refetch_interval_s = min_refetch_interval_s
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last attempt
        self._fetch_error: Exception | None = None  # of the last attempt
        self._lock = asyncio.Lock()
        self._refused: Counter | None = None
        self._fetches: Counter | None = None
        self._verified: dict[str, _Verified] = {}
        self._verified_cache_size = verified_cache_size
        self._wall_clock = wall_clock

    def instrument(self, registry: CollectorRegistry) -> None:
        """Count in ``registry``: ``parley_tokens_refused_total{reason}`` (a reason of
        :data:`REFUSAL_REASONS`) and ``parley_jwks_fetches_total{result}`` (``ok``, ``failed``)."""
        self._refused = Counter(
            "parley_tokens_refused_total", "Access tokens refused, by reason.", ("reason",), registry=registry
        )
        self._fetches = Counter(
            "parley_jwks_fetches_total", "Fetches of auth's JWKS, by result (ok, failed).", ("result",), registry=registry
        )
        for reason in REFUSAL_REASONS:
            self._refused.labels(reason)
        for result in ("ok", "failed"):
            self._fetches.labels(result)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _fetch(self) -> None:
        self._tried_at = self._clock()
        try:
            response = await self._http.get(self._jwks_url)
            response.raise_for_status()
            keyset = jwt.PyJWKSet.from_dict(response.json())
        except Exception as exc:
            self._fetch_error = exc
            if self._fetches is not None:
                self._fetches.labels("failed").inc()
            raise
        if self._fetches is not None:
            self._fetches.labels("ok").inc()
        self._keys = {key.key_id: key for key in keyset.keys if key.key_id}
        self._fetched_at = self._clock()
        self._fetch_error = None

    def _due(self, since: float | None, seconds: float) -> bool:
        return since is None or self._clock() - since >= seconds

    def _refetch_due(self) -> bool:
        interval = self.min_refetch_interval_s
        if self._fetched_at is None:
            interval = min(interval, FIRST_FETCH_RETRY_S)
        return self._due(self._tried_at, interval)

    async def _key(self, kid: str) -> jwt.PyJWK:
        stale = kid not in self._keys or self._due(self._fetched_at, self._cache_ttl_s)
        # A fetch in flight (the lock held) is waited for: its attempt time is already set, so
        # the tokens arriving meanwhile would otherwise be judged without its keys.
        if stale and (self._refetch_due() or self._lock.locked()):
            async with self._lock:  # one fetch for the tokens waiting meanwhile
                if self._refetch_due():
                    try:
                        await self._fetch()
                    except (httpx.HTTPError, jwt.PyJWKError, ValueError) as exc:
                        if kid not in self._keys:
                            raise InvalidToken.of("keys_unavailable", exc) from exc
        if kid not in self._keys:
            if self._fetched_at is None:
                raise InvalidToken.of("keys_unavailable", "auth's JWKS not fetched yet")
            raise InvalidToken.of("unknown_key")
        return self._keys[kid]

    async def ready(self) -> None:
        """A readiness check: raises ``RuntimeError`` until a fetch of auth's JWKS has
        succeeded, since no token verifies before. It fetches the JWKS when a fetch is due
        (never twice within the interval). Once the keys are held, a failed fetch (auth
        restarting, or down) is counted (``parley_jwks_fetches_total{result="failed"}``) but
        does not make the service unready: tokens keep verifying with the keys held, as
        :meth:`verify` does, so auth is never a single point of failure for the services that
        only check its tokens."""
        async with self._lock:
            if self._refetch_due():
                try:
                    await self._fetch()
                except Exception:  # noqa: BLE001 - counted in _fetch; the keys held still verify
                    pass
            if self._fetched_at is None:
                raise RuntimeError(f"auth's JWKS unavailable: {self._fetch_error}")

    def count_refusal(self, reason: RefusalReason) -> None:
        """Count a token refused after verification (``revoked``: its session ended)."""
        if self._refused is not None:
            self._refused.labels(reason).inc()

    async def verify(self, token: str) -> Principal:
        """Return the :class:`Principal` of a valid access token; raise :class:`InvalidToken`
        (counted by reason once :meth:`instrument` was called)."""
        remembered = self._verified.get(token)
        if remembered is not None:
            if self._still_valid(remembered):
                return remembered.principal
            del self._verified[token]
        try:
            kid = token_kid(token)
            key = await self._key(kid)
            principal, expires_at = _decode(token, key, issuer=self._issuer, audience=self._audience)
        except InvalidToken as exc:
            if self._refused is not None:
                self._refused.labels(exc.reason).inc()
            raise
        if self._verified_cache_size > 0:
            if len(self._verified) >= self._verified_cache_size:
                del self._verified[next(iter(self._verified))]  # the oldest entry
            self._verified[token] = _Verified(principal, expires_at, kid, key)
        return principal

    def _still_valid(self, remembered: "_Verified") -> bool:
        """Would the remembered token verify again now, with no fetch needed?"""
        return (
            self._wall_clock() < remembered.expires_at
            and self._keys.get(remembered.kid) is remembered.key
            and not self._due(self._fetched_at, self._cache_ttl_s)
        )


@dataclass(frozen=True)
class _Verified:
    """A verified token: its principal, ``exp`` (Unix seconds) and the key it verified with."""

    principal: Principal
    expires_at: float
    kid: str
    key: object


def token_kid(token: str) -> str:
    """The ``kid`` of ``token``'s header, once the header pins :data:`ALGORITHM`.

    Raises :class:`InvalidToken` for a malformed token or another algorithm (RFC 8725 §3.1).
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken.of("malformed", exc) from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken.of("algorithm", f"alg {header.get('alg')!r}")
    return str(header.get("kid", ""))


def decode_access_token(token: str, key: object, *, issuer: str, audience: str) -> Principal:
    """Verify ``token``'s signature with ``key`` and its claims; return its :class:`Principal`.

    Requires ``exp``, ``iat``, ``sub``, ``iss`` (= ``issuer``), ``aud`` (= ``audience``) and
    ``typ: "access"``; a guest token also ``role: "guest"``, ``meeting_id`` and a ``guest-…``
``sub``. Raises :class:`InvalidToken` (its ``reason`` says what is wrong).
    """
    return _decode(token, key, issuer=issuer, audience=audience)[0]


def _decode(token: str, key: object, *, issuer: str, audience: str) -> tuple[Principal, float]:
    """:func:`decode_access_token`, and the token's ``exp`` (Unix seconds)."""
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
        raise InvalidToken.of("expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken.of("invalid", exc) from exc
    if claims.get("typ") != "access":
        raise InvalidToken.of("not_access", f"typ {claims.get('typ')!r}")
    sid = claims.get("sid")
    principal = Principal(
        user_id=claims["sub"],
        display_name=claims.get("name", ""),
        token=token,
        session_id=sid if isinstance(sid, str) else None,
        guest_meeting_id=_guest_meeting(claims),
    )
    return principal, float(claims["exp"])


def _guest_meeting(claims: dict[str, object]) -> str | None:
    """The meeting of a guest token (``role: "guest"``, ``meeting_id``, ``sub`` ``guest-…``);
    None for a user's token. A token that is half one and half the other is refused."""
    guest_sub = is_guest_id(str(claims["sub"]))
    if claims.get("role") != "guest":
        if guest_sub:
            raise InvalidToken.of("invalid", "a guest subject without the guest role")
        return None
    meeting_id = claims.get("meeting_id")
    if not guest_sub or not isinstance(meeting_id, str) or not meeting_id:
        raise InvalidToken.of("invalid", "a guest token needs a guest subject and its meeting_id")
    return meeting_id
