"""Access tokens and the JWKS: claims, and rejection by parley_security.JwksVerifier."""

import base64
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley_auth.domain.keys import SigningKey, generate_pem, load_key_set, load_signing_key
from parley_auth.domain.tokens import AccessTokens
from parley_security import InvalidToken, JwksVerifier

JWKS_URL = "http://auth.test/api/auth/.well-known/jwks.json"


def _tokens(key: SigningKey | None = None, **overrides: object) -> AccessTokens:
    values: dict = {"issuer": "parley-auth", "audience": "parley", "ttl_seconds": 900}
    values.update(overrides)
    return AccessTokens(key or SigningKey(Ed25519PrivateKey.generate()), **values)


def _verifier(key: SigningKey) -> JwksVerifier:
    """A JwksVerifier that fetches *this service's* JWKS document."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=key.jwks()))
    return JwksVerifier(JWKS_URL, issuer="parley-auth", audience="parley", http=httpx.AsyncClient(transport=transport))


def test_access_token_header_and_claims() -> None:
    tokens = _tokens()
    now = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    issued = tokens.issue("user-1", "Ada Lovelace", now=now)

    header = jwt.get_unverified_header(issued.token)
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": tokens.key.kid}
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert claims == {
        "iss": "parley-auth",
        "aud": "parley",
        "sub": "user-1",
        "name": "Ada Lovelace",
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 900,
        "jti": issued.jti,
        "typ": "access",
    }
    assert issued.expires_in == 900
    assert tokens.issue("user-1", "Ada").jti != tokens.issue("user-1", "Ada").jti


def test_jwks_publishes_only_the_public_key() -> None:
    key = SigningKey(Ed25519PrivateKey.generate())
    (jwk,) = key.jwks()["keys"]
    assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"], jwk["kid"]) == ("OKP", "Ed25519", "EdDSA", "sig", key.kid)
    raw = key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert base64.urlsafe_b64decode(jwk["x"] + "=") == raw


def test_kid_is_the_rfc7638_thumbprint_of_rfc8037_example() -> None:
    # RFC 8037 Appendix A.1 (private key d), A.2 (public x) and A.3 (JWK thumbprint).
    d = base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(d))
    assert key.public_jwk()["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert key.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


async def test_jwks_verifier_accepts_an_issued_token() -> None:
    tokens = _tokens()
    principal = await _verifier(tokens.key).verify(tokens.issue("user-1", "Ada").token)
    assert (principal.user_id, principal.display_name) == ("user-1", "Ada")


async def test_jwks_verifier_rejects_an_expired_token() -> None:
    tokens = _tokens()
    token = tokens.issue("user-1", "Ada", now=datetime.now(UTC) - timedelta(seconds=901)).token
    with pytest.raises(InvalidToken, match="expired"):
        await _verifier(tokens.key).verify(token)
    with pytest.raises(InvalidToken, match="expired"):
        await tokens.verify(token)


async def test_jwks_verifier_rejects_a_forged_token() -> None:
    genuine = _tokens()
    forger_key = SigningKey(Ed25519PrivateKey.generate())
    forger_key.kid = genuine.key.kid  # claims to be signed by auth's key
    forged = _tokens(forger_key).issue("user-1", "Mallory").token
    with pytest.raises(InvalidToken):
        await _verifier(genuine.key).verify(forged)
    with pytest.raises(InvalidToken):
        await genuine.verify(forged)


async def test_jwks_verifier_rejects_a_tampered_payload() -> None:
    tokens = _tokens()
    header, _, signature = tokens.issue("user-1", "Ada").token.split(".")
    other_payload = tokens.issue("user-2", "Eve").token.split(".")[1]  # validly signed, elsewhere
    with pytest.raises(InvalidToken):
        await _verifier(tokens.key).verify(f"{header}.{other_payload}.{signature}")


@pytest.mark.parametrize(("field", "value"), [("audience", "another-app"), ("issuer", "someone-else")])
async def test_jwks_verifier_rejects_wrong_audience_or_issuer(field: str, value: str) -> None:
    key = SigningKey(Ed25519PrivateKey.generate())
    token = _tokens(key, **{field: value}).issue("user-1", "Ada").token
    with pytest.raises(InvalidToken):
        await _verifier(key).verify(token)
    with pytest.raises(InvalidToken):
        await _tokens(key).verify(token)


async def test_non_access_tokens_and_other_algorithms_are_rejected() -> None:
    tokens = _tokens()
    now = datetime.now(UTC)
    claims = {"iss": "parley-auth", "aud": "parley", "sub": "u", "iat": now, "exp": now + timedelta(minutes=5)}
    refresh_like = jwt.encode({**claims, "typ": "refresh"}, tokens.key.private_key, "EdDSA", headers={"kid": tokens.key.kid})
    with pytest.raises(InvalidToken, match="not an access token"):
        await tokens.verify(refresh_like)
    hs256 = jwt.encode({**claims, "typ": "access"}, "shared-secret-of-thirty-two-bytes!!", "HS256", headers={"kid": tokens.key.kid})
    with pytest.raises(InvalidToken, match="algorithm"):
        await tokens.verify(hs256)
    with pytest.raises(InvalidToken):
        await tokens.verify("not-a-jwt")


def test_missing_key_file_is_generated_only_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "jwt.pem"
    with pytest.raises(FileNotFoundError):
        load_signing_key(path, generate_if_missing=False)
    assert not path.exists()

    key = load_signing_key(path, generate_if_missing=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(path, generate_if_missing=False).kid == key.kid  # stable across restarts


def test_key_file_must_hold_an_ed25519_key(tmp_path: Path) -> None:
    path = tmp_path / "rsa.pem"
    path.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="Ed25519"):
        load_signing_key(path, generate_if_missing=False)
    good = tmp_path / "ed.pem"
    good.write_bytes(generate_pem())
    assert load_signing_key(good, generate_if_missing=False).public_jwk()["crv"] == "Ed25519"


def _pem_public(pem: bytes) -> bytes:
    return (
        serialization.load_pem_private_key(pem, password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


async def test_a_key_set_signs_with_one_key_and_accepts_every_published_one(tmp_path: Path) -> None:
    current, previous, foreign = (tmp_path / name for name in ("current.pem", "previous.pem", "foreign.pem"))
    for path in (current, previous, foreign):
        path.write_bytes(generate_pem())
    previous_public = tmp_path / "previous.pub.pem"
    previous_public.write_bytes(_pem_public(previous.read_bytes()))  # the public part is enough
    keys = load_key_set(current, [previous_public, current], generate_if_missing=False)
    before = _tokens(load_signing_key(previous, generate_if_missing=False))
    after = _tokens(keys)
    stranger = _tokens(load_signing_key(foreign, generate_if_missing=False))

    assert keys.kids == [after.key.kid, before.key.kid]  # the signing key first, no duplicate
    assert [jwk["kid"] for jwk in keys.jwks()["keys"]] == keys.kids
    assert all("d" not in jwk for jwk in keys.jwks()["keys"])
    token_of_previous = before.issue("user-1", "Ada").token
    token_of_current = after.issue("user-1", "Ada").token
    assert jwt.get_unverified_header(token_of_current)["kid"] == after.key.kid
    # Auth and every verifier of its JWKS accept both; a key that is not published, neither.
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=keys.jwks()))
    verifier = JwksVerifier(JWKS_URL, issuer="parley-auth", audience="parley", http=httpx.AsyncClient(transport=transport))
    for token in (token_of_previous, token_of_current):
        assert (await after.verify(token)).user_id == "user-1"
        assert (await verifier.verify(token)).user_id == "user-1"
    with pytest.raises(InvalidToken, match="unknown key"):
        await after.verify(stranger.issue("user-1", "Ada").token)
    with pytest.raises(InvalidToken):
        await verifier.verify(stranger.issue("user-1", "Ada").token)


def test_published_key_files_must_hold_ed25519_keys(tmp_path: Path) -> None:
    current = tmp_path / "current.pem"
    current.write_bytes(generate_pem())
    rsa_public = tmp_path / "rsa.pub.pem"
    rsa_public.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="Ed25519"):
        load_key_set(current, [rsa_public], generate_if_missing=False)


async def test_a_guest_token_names_a_new_guest_of_one_meeting_and_no_session() -> None:
    tokens = AccessTokens(SigningKey(Ed25519PrivateKey.generate()), issuer="parley-auth", audience="parley", ttl_seconds=900)
    issued, guest_id = tokens.issue_guest("abcd-efgh-ijkl", "Grace", ttl_seconds=120)
    principal = await tokens.verify(issued.token)
    assert guest_id.startswith("guest-") and principal.user_id == guest_id
    assert (principal.guest_meeting_id, principal.display_name, principal.session_id) == ("abcd-efgh-ijkl", "Grace", None)
    assert issued.expires_in == 120
    assert tokens.issue_guest("abcd-efgh-ijkl", "Grace", ttl_seconds=120)[1] != guest_id
