import httpx
import pytest

from parley_security import InvalidToken, JwksVerifier
from parley_testing import TokenIssuer


def _verifier(issuer: TokenIssuer, **overrides) -> JwksVerifier:
    http = httpx.AsyncClient(transport=issuer.jwks_transport())
    options = {"issuer": "parley-auth", "audience": "parley", **overrides}
    return JwksVerifier("http://auth/jwks", http=http, **options)


async def test_a_valid_token_yields_its_principal() -> None:
    issuer = TokenIssuer()
    principal = await _verifier(issuer).verify(issuer.issue("u-1", "Ada"))
    assert (principal.user_id, principal.display_name) == ("u-1", "Ada")


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda issuer: issuer.issue("u", ttl_s=-10), "expired"),
        (lambda issuer: TokenIssuer().issue("u"), "unknown key"),
        (lambda issuer: issuer.issue("u", aud="someone-else"), "(?i)audience"),
        (lambda issuer: issuer.issue("u", iss="evil"), "(?i)issuer"),
        (lambda issuer: issuer.issue("u", typ="refresh"), "not an access token"),
        (lambda issuer: "not-a-jwt", "malformed"),
    ],
)
async def test_bad_tokens_are_refused(make_token, reason: str) -> None:
    issuer = TokenIssuer()
    with pytest.raises(InvalidToken, match=reason):
        await _verifier(issuer).verify(make_token(issuer))


async def test_a_forged_signature_is_refused() -> None:
    issuer = TokenIssuer()
    header, payload, signature = issuer.issue("u").split(".")
    admin_payload = issuer.issue("admin").split(".")[1]
    with pytest.raises(InvalidToken):
        await _verifier(issuer).verify(f"{header}.{admin_payload}.{signature}")
    with pytest.raises(InvalidToken):
        await _verifier(issuer).verify(f"{header}.{payload}.")


async def test_hs256_tokens_are_refused_even_when_signed_with_the_public_key() -> None:
    import jwt

    issuer = TokenIssuer()
    token = jwt.encode({"sub": "u"}, "a-shared-secret-of-at-least-32-bytes", algorithm="HS256", headers={"kid": issuer.kid})
    with pytest.raises(InvalidToken, match="algorithm"):
        await _verifier(issuer).verify(token)
