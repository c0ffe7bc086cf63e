"""Issue Ed25519 access tokens and serve their JWKS from memory (unit tests only)."""

import asyncio
import json
import time
import uuid

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from parley_security import JwksVerifier


class TokenIssuer:
    """Signs tokens like auth does, with a throw-away key; ``jwks_transport()`` serves its JWKS."""

    def __init__(self, issuer: str = "parley-auth", audience: str = "parley") -> None:
        self.issuer = issuer
        self.audience = audience
        self.kid = uuid.uuid4().hex
        self._key = Ed25519PrivateKey.generate()

    def jwks(self) -> dict:
        jwk = json.loads(OKPAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def jwks_transport(self, delay_s: float = 0.0, fetching: asyncio.Event | None = None) -> httpx.MockTransport:
        """An httpx transport answering every request with this issuer's JWKS, after
        ``delay_s`` seconds (a slow auth); ``fetching`` is set when a request arrives."""

        async def answer(request: httpx.Request) -> httpx.Response:
            if fetching is not None:
                fetching.set()
            await asyncio.sleep(delay_s)
            return httpx.Response(200, json=self.jwks())

        return httpx.MockTransport(answer)

    def verifier(self, jwks_delay_s: float = 0.0, fetching: asyncio.Event | None = None) -> JwksVerifier:
        """A :class:`JwksVerifier` that fetches this issuer's JWKS from memory, each fetch
        taking ``jwks_delay_s`` seconds and setting ``fetching`` when it starts."""
        return JwksVerifier(
            "http://auth.invalid/api/auth/.well-known/jwks.json",
            issuer=self.issuer,
            audience=self.audience,
            http=httpx.AsyncClient(transport=self.jwks_transport(jwks_delay_s, fetching)),
        )

    def issue(self, user_id: str, name: str = "Test User", *, ttl_s: int = 900, **claims) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "name": name,
            "iat": now,
            "exp": now + ttl_s,
            "typ": "access",
            **claims,
        }
        return jwt.encode(payload, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    def issue_guest(self, meeting_id: str, name: str = "Guest", *, guest_id: str | None = None, ttl_s: int = 900) -> str:
        """A guest token of ``meeting_id`` as auth's ``POST /api/auth/guests`` signs it."""
        return self.issue(guest_id or f"guest-{uuid.uuid4().hex}", name, ttl_s=ttl_s, role="guest", meeting_id=meeting_id)


#: Ways an ``Authorization`` header can fail, for ``pytest.mark.parametrize``.
BAD_AUTHORIZATIONS = ("missing", "malformed", "expired", "forged", "wrong-audience")


def bad_authorization(issuer: TokenIssuer, case: str, user_id: str) -> dict[str, str]:
    """Headers for one of :data:`BAD_AUTHORIZATIONS`: no token, not a JWT, expired, signed by
    another key, or for another audience. Every one must get 401."""
    tokens = {
        "malformed": lambda: "not-a-jwt",
        "expired": lambda: issuer.issue(user_id, ttl_s=-60),
        "forged": lambda: TokenIssuer(issuer.issuer, issuer.audience).issue(user_id),
        "wrong-audience": lambda: issuer.issue(user_id, aud="other"),
    }
    if case == "missing":
        return {}
    return {"Authorization": f"Bearer {tokens[case]()}"}
