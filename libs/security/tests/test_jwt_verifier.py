import asyncio
import logging

import httpx
import pytest

from parley_security import InvalidToken, JwksVerifier
from parley_security.jwt import REFUSAL_MESSAGES
from parley_testing import FakeClock, TokenIssuer


def _verifier(issuer: TokenIssuer, **overrides) -> JwksVerifier:
    http = httpx.AsyncClient(transport=issuer.jwks_transport())
    options = {"issuer": "parley-auth", "audience": "parley", **overrides}
    return JwksVerifier("http://auth/jwks", http=http, **options)


async def test_a_valid_token_yields_its_principal() -> None:
    issuer = TokenIssuer()
    principal = await _verifier(issuer).verify(issuer.issue("u-1", "Ada"))
    assert (principal.user_id, principal.display_name) == ("u-1", "Ada")


#: A header that is not UTF-8 (``{\xb7"}``): PyJWT's error quotes the byte and the codec.
NOT_UTF8_HEADER = "e7cifQ.e30.c2ln"


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda issuer: issuer.issue("u", ttl_s=-10), "expired"),
        (lambda issuer: TokenIssuer().issue("u"), "unknown_key"),
        (lambda issuer: issuer.issue("u", aud="someone-else"), "invalid"),
        (lambda issuer: issuer.issue("u", iss="evil"), "invalid"),
        (lambda issuer: issuer.issue("u", typ="refresh"), "not_access"),
        (lambda issuer: "not-a-jwt", "malformed"),
        (lambda issuer: NOT_UTF8_HEADER, "malformed"),
    ],
)
async def test_bad_tokens_are_refused_with_the_fixed_sentence_of_their_reason(make_token, reason: str) -> None:
    issuer = TokenIssuer()
    with pytest.raises(InvalidToken) as refused:
        await _verifier(issuer).verify(make_token(issuer))
    assert (refused.value.reason, str(refused.value)) == (reason, REFUSAL_MESSAGES[reason])


async def test_the_librarys_words_go_to_a_debug_log_line_only(caplog) -> None:
    issuer = TokenIssuer()
    with caplog.at_level(logging.DEBUG, logger="parley_security.jwt"), pytest.raises(InvalidToken) as refused:
        await _verifier(issuer).verify(NOT_UTF8_HEADER)
    assert str(refused.value) == "the bearer token is malformed"
    [record] = [r for r in caplog.records if r.name == "parley_security.jwt"]
    assert record.levelno == logging.DEBUG and "utf-8" in record.getMessage() and "malformed" in record.getMessage()


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


# --- JWKS fetches: at most one per interval; refused tokens counted ------------------------


class Jwks:
    """Serves ``issuer``'s JWKS (or ``status``) and counts the requests."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer
        self.status = 200
        self.fetches = 0

    def transport(self) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            self.fetches += 1
            return httpx.Response(self.status, json=self.issuer.jwks())

        return httpx.MockTransport(answer)


def _counting_verifier(jwks: Jwks, clock: FakeClock[float], **options) -> JwksVerifier:
    http = httpx.AsyncClient(transport=jwks.transport())
    return JwksVerifier("http://auth/jwks", issuer="parley-auth", audience="parley", http=http, clock=clock, **options)


async def test_a_hundred_junk_tokens_fetch_the_jwks_once() -> None:
    issuer = TokenIssuer()
    jwks = Jwks(issuer)
    http = httpx.AsyncClient(transport=jwks.transport())
    verifier = JwksVerifier("http://auth/jwks", issuer="parley-auth", audience="parley", http=http)
    await verifier.verify(issuer.issue("u"))
    junk = TokenIssuer()
    for _ in range(100):
        with pytest.raises(InvalidToken):
            await verifier.verify(junk.issue("u"))
    assert jwks.fetches == 1


async def test_tokens_with_unknown_kids_refetch_the_jwks_at_most_once_per_interval() -> None:
    issuer, clock = TokenIssuer(), FakeClock(1000.0)
    jwks = Jwks(issuer)
    verifier = _counting_verifier(jwks, clock, min_refetch_interval_s=10)
    await verifier.verify(issuer.issue("u"))
    assert jwks.fetches == 1

    junk = TokenIssuer()  # signs with a kid auth never published
    for _ in range(100):
        with pytest.raises(InvalidToken, match="unknown key"):
            await verifier.verify(junk.issue("u"))
    results = await asyncio.gather(*(verifier.verify(junk.issue("u")) for _ in range(100)), return_exceptions=True)
    assert all(isinstance(r, InvalidToken) for r in results)
    assert jwks.fetches == 1  # fetched 0 s ago

    clock.now += 10
    for _ in range(100):
        with pytest.raises(InvalidToken):
            await verifier.verify(junk.issue("u"))
    assert jwks.fetches == 2
    await verifier.verify(issuer.issue("u"))  # known keys keep working meanwhile
    assert jwks.fetches == 2


async def test_a_new_key_is_learnt_once_the_interval_has_passed() -> None:
    old, new, clock = TokenIssuer(), TokenIssuer(), FakeClock(1000.0)
    jwks = Jwks(old)
    verifier = _counting_verifier(jwks, clock, min_refetch_interval_s=10)
    await verifier.verify(old.issue("u"))
    jwks.issuer = new  # auth rotated its key
    clock.now += 3
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(new.issue("u"))
    clock.now += 7
    assert (await verifier.verify(new.issue("u"))).user_id == "u"
    assert jwks.fetches == 2


async def test_a_failing_jwks_is_not_asked_more_than_once_per_interval() -> None:
    issuer, clock = TokenIssuer(), FakeClock(1000.0)
    jwks = Jwks(issuer)
    jwks.status = 503
    verifier = _counting_verifier(jwks, clock, min_refetch_interval_s=10)
    for _ in range(20):
        with pytest.raises(InvalidToken, match="unavailable"):
            await verifier.verify(issuer.issue("u"))
    assert jwks.fetches == 1
    jwks.status = 200
    clock.now += 10
    await verifier.verify(issuer.issue("u"))
    assert jwks.fetches == 2


async def test_before_a_first_successful_fetch_a_failed_one_is_tried_again_after_a_second() -> None:
    # auth still starting when the first token arrives: no key is known, so waiting the whole
    # interval would refuse every token for 10 s (seen right after the stack started)
    issuer, clock = TokenIssuer(), FakeClock(1000.0)
    jwks = Jwks(issuer)
    jwks.status = 503
    verifier = _counting_verifier(jwks, clock, min_refetch_interval_s=10)
    for _ in range(20):
        with pytest.raises(InvalidToken, match="unavailable"):
            await verifier.verify(issuer.issue("u"))
    assert jwks.fetches == 1
    jwks.status = 200
    clock.now += 0.5
    with pytest.raises(InvalidToken, match="unavailable"):  # not fetched again yet
        await verifier.verify(issuer.issue("u"))
    assert jwks.fetches == 1
    clock.now += 0.5
    assert (await verifier.verify(issuer.issue("u"))).user_id == "u"
    assert jwks.fetches == 2
    # once keys are known, unknown kids refetch once per interval again, not every second
    junk = TokenIssuer()
    clock.now += 1
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(junk.issue("u"))
    assert jwks.fetches == 2


async def test_tokens_arriving_while_the_first_fetch_is_in_flight_wait_for_it() -> None:
    # a burst of requests right after start: the first one fetches the JWKS, the others must
    # wait for that fetch instead of being refused as "not fetched yet" (seen once on the dev
    # stack: 1 of 8 concurrent create_meeting calls refused, with no fetch failed)
    issuer, fetches = TokenIssuer(), []

    async def slow_answer(request: httpx.Request) -> httpx.Response:
        fetches.append(request)
        await asyncio.sleep(0.05)
        return httpx.Response(200, json=issuer.jwks())

    http = httpx.AsyncClient(transport=httpx.MockTransport(slow_answer))
    verifier = JwksVerifier("http://auth/jwks", issuer="parley-auth", audience="parley", http=http)
    principals = await asyncio.gather(*(verifier.verify(issuer.issue(f"u{i}")) for i in range(8)))
    assert [p.user_id for p in principals] == [f"u{i}" for i in range(8)]
    assert len(fetches) == 1


async def test_known_keys_are_refreshed_after_the_cache_ttl() -> None:
    issuer, clock = TokenIssuer(), FakeClock(1000.0)
    jwks = Jwks(issuer)
    verifier = _counting_verifier(jwks, clock, cache_ttl_s=300, min_refetch_interval_s=10)
    await verifier.verify(issuer.issue("u"))
    clock.now += 299
    await verifier.verify(issuer.issue("u"))
    assert jwks.fetches == 1
    clock.now += 2
    await verifier.verify(issuer.issue("u"))
    await verifier.verify(issuer.issue("u"))
    assert jwks.fetches == 2


def test_the_interval_comes_from_the_settings() -> None:
    from parley_settings import JwtSettings

    verifier = JwksVerifier.from_settings(JwtSettings(jwks_min_refetch_seconds=2.5))
    assert verifier.min_refetch_interval_s == 2.5
    assert JwksVerifier.from_settings(JwtSettings()).min_refetch_interval_s == 10.0


async def test_refused_tokens_and_fetches_are_counted() -> None:
    from prometheus_client import CollectorRegistry

    issuer, clock = TokenIssuer(), FakeClock(1000.0)
    jwks = Jwks(issuer)
    registry = CollectorRegistry()
    verifier = _counting_verifier(jwks, clock)
    verifier.instrument(registry)
    tokens = {
        "malformed": "not-a-jwt",
        "unknown_key": TokenIssuer().issue("u"),
        "expired": issuer.issue("u", ttl_s=-10),
        "invalid": issuer.issue("u", aud="someone-else"),
        "not_access": issuer.issue("u", typ="refresh"),
    }
    for reason, token in tokens.items():
        with pytest.raises(InvalidToken) as refused:
            await verifier.verify(token)
        assert refused.value.reason == reason
    await verifier.verify(issuer.issue("u"))

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    for reason in tokens:
        assert value("parley_tokens_refused_total", reason=reason) == 1, reason
    assert value("parley_tokens_refused_total", reason="keys_unavailable") == 0
    assert value("parley_jwks_fetches_total", result="ok") == 1
    assert value("parley_jwks_fetches_total", result="failed") == 0


async def test_readiness_checks_fetch_at_most_once_per_interval_too() -> None:
    issuer, clock = TokenIssuer(), FakeClock(1000.0)
    jwks = Jwks(issuer)
    verifier = _counting_verifier(jwks, clock, min_refetch_interval_s=10)
    await verifier.ready()
    await verifier.ready()
    assert jwks.fetches == 1
    jwks.status = 503
    clock.now += 10
    for _ in range(3):
        await verifier.ready()  # auth down: the keys held still verify, so still ready
    assert jwks.fetches == 2
    await verifier.verify(issuer.issue("u"))  # the keys fetched before still verify
    jwks.status = 200
    clock.now += 10
    await verifier.ready()
    assert jwks.fetches == 3


async def test_readiness_fails_until_a_fetch_of_the_keys_succeeded() -> None:
    issuer, clock = TokenIssuer(), FakeClock(1000.0)
    jwks = Jwks(issuer)
    jwks.status = 503
    verifier = _counting_verifier(jwks, clock, min_refetch_interval_s=10)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="JWKS unavailable"):
            await verifier.ready()
        clock.now += 1  # the first fetch is retried after 1 s (FIRST_FETCH_RETRY_S)
    jwks.status = 200
    await verifier.ready()


# --- verified tokens are remembered, and refused again exactly when they would be ----------


async def test_a_token_verified_once_is_not_decoded_again(monkeypatch) -> None:
    import parley_security.jwt as jwt_module

    issuer = TokenIssuer()
    verifier = _verifier(issuer)
    decoded = []
    real = jwt_module._decode
    monkeypatch.setattr(jwt_module, "_decode", lambda *a, **kw: decoded.append(1) or real(*a, **kw))
    token = issuer.issue("u-1", "Ada")
    for _ in range(5):
        assert (await verifier.verify(token)).user_id == "u-1"
    assert len(decoded) == 1
    await verifier.verify(issuer.issue("u-2"))
    assert len(decoded) == 2


async def test_a_remembered_token_is_refused_as_expired_once_it_expires() -> None:
    issuer = TokenIssuer()
    verifier = _verifier(issuer)
    token = issuer.issue("u", ttl_s=2)
    await verifier.verify(token)
    await asyncio.sleep(2.1)
    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)


async def test_a_remembered_token_is_refused_once_its_key_is_gone_from_the_jwks() -> None:
    old, new, clock = TokenIssuer(), TokenIssuer(), FakeClock(1000.0)
    jwks = Jwks(old)
    verifier = _counting_verifier(jwks, clock, min_refetch_interval_s=10)
    token = old.issue("u")
    await verifier.verify(token)
    jwks.issuer = new  # auth dropped the old key
    clock.now += 10
    await verifier.verify(new.issue("u"))  # an unknown kid: the verifier refetches
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(token)


async def test_a_remembered_token_waits_for_the_key_refresh_like_any_other() -> None:
    old, new, clock = TokenIssuer(), TokenIssuer(), FakeClock(1000.0)
    jwks = Jwks(old)
    verifier = _counting_verifier(jwks, clock, cache_ttl_s=300, min_refetch_interval_s=10)
    token = old.issue("u", ttl_s=3600)
    await verifier.verify(token)
    jwks.issuer = new
    clock.now += 301  # the known keys are due: the next verification refetches them
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(token)
    assert jwks.fetches == 2


async def test_remembered_tokens_are_bounded() -> None:
    issuer = TokenIssuer()
    verifier = _verifier(issuer, verified_cache_size=3)
    tokens = [issuer.issue(f"u-{n}") for n in range(5)]
    for token in tokens:
        await verifier.verify(token)
    assert list(verifier._verified) == tokens[2:]
    none = _verifier(issuer, verified_cache_size=0)
    await none.verify(tokens[0])
    assert not none._verified
