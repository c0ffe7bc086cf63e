"""The HTTP API of turn-config, in-process, with a JWKS served from memory and the test
stack's Kafka (auth's ``session.revoked`` events, produced here as auth would)."""

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from parley_testing.lifespan import running

from parley_events import SessionRevoked, encode
from parley_security import JwksVerifier
from parley_testing import Stack, TokenIssuer
from parley_testing.waiting import eventually
from parley_turn_config.config import Settings
from parley_turn_config.main import create_app

SECRET = "a-turn-shared-secret-of-forty-characters"
TURN_URLS = ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]
STUN_URLS = ["stun:127.0.0.1:3478"]


@pytest.fixture
def settings(stack: Stack) -> Callable[..., Settings]:
    """``settings(**overrides)``: turn-config's settings on the test stack's Kafka."""
    return lambda **overrides: _settings(kafka_bootstrap_servers=stack.kafka_bootstrap_servers, **overrides)


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "production",
        "turn_secret": SECRET,
        "turn_urls": TURN_URLS,
        "stun_urls": STUN_URLS,
        "turn_ttl_seconds": 1800,
        "jwks_url": "http://auth.test/api/auth/.well-known/jwks.json",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def client(token_issuer: TokenIssuer, settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings(), verifier=token_issuer.verifier())
    async with running(app) as served:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(served), base_url="http://turn.test"
        ) as http:
            yield http


async def test_signed_in_user_gets_stun_and_turn_servers(
    client: httpx.AsyncClient, token_issuer: TokenIssuer
) -> None:
    token = token_issuer.issue("user-7", "Ada")
    before = int(time.time())
    response = await client.get("/api/turn/credentials", headers={"Authorization": f"Bearer {token}"})
    after = int(time.time())

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["ttl"] == 1800
    stun, turn = body["iceServers"]
    assert stun == {"urls": STUN_URLS}
    assert turn["urls"] == TURN_URLS
    expiry_text, user_id = turn["username"].split(":")
    expiry = int(expiry_text)
    assert user_id == "user-7"
    assert before + 1800 <= expiry <= after + 1800
    expected = base64.b64encode(hmac.new(SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest())
    assert turn["credential"] == expected.decode()
    assert datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp() == expiry


async def test_issued_credentials_are_counted(client: httpx.AsyncClient, token_issuer: TokenIssuer) -> None:
    headers = {"Authorization": f"Bearer {token_issuer.issue('user-8')}"}
    assert (await client.get("/api/turn/credentials", headers=headers)).status_code == 200
    assert (await client.get("/api/turn/credentials", headers=headers)).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert "parley_turn_credentials_issued_total 2.0" in metrics
    assert 'route="/api/turn/credentials"' in metrics


async def test_without_stun_urls_only_turn_is_listed(token_issuer: TokenIssuer, settings: Callable[..., Settings]) -> None:
    app = create_app(settings(stun_urls=[]), verifier=token_issuer.verifier())
    async with running(app) as served:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(served), base_url="http://t") as http:
            token = token_issuer.issue("user-9")
            body = (await http.get("/api/turn/credentials", headers={"Authorization": f"Bearer {token}"})).json()
    assert [server["urls"] for server in body["iceServers"]] == [TURN_URLS]


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/turn/credentials")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "iceServers" not in response.text


async def test_forged_token_is_401(client: httpx.AsyncClient, token_issuer: TokenIssuer) -> None:
    forger = TokenIssuer()
    forger.kid = token_issuer.kid  # same key id, different private key
    token = forger.issue("user-7")
    response = await client.get("/api/turn/credentials", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_401(client: httpx.AsyncClient, token_issuer: TokenIssuer) -> None:
    token = token_issuer.issue("user-7", ttl_s=-5)
    response = await client.get("/api/turn/credentials", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_wrong_audience_is_401(client: httpx.AsyncClient, token_issuer: TokenIssuer) -> None:
    token = token_issuer.issue("user-7", aud="someone-else")
    response = await client.get("/api/turn/credentials", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_garbage_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/turn/credentials", headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401


async def test_readiness_fetches_the_jwks(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"jwks": "ok"}
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_readiness_fails_when_the_jwks_is_unreachable(settings: Callable[..., Settings]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    verifier = JwksVerifier(
        "http://auth.test/jwks", issuer="parley-auth", audience="parley",
        http=httpx.AsyncClient(transport=httpx.MockTransport(refuse)),
    )
    app = create_app(settings(), verifier=verifier)
    async with running(app) as served:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(served), base_url="http://t") as http:
            response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["jwks"].startswith("error")


async def test_a_guest_gets_turn_credentials_for_its_guest_id(client: httpx.AsyncClient, token_issuer: TokenIssuer) -> None:
    token = token_issuer.issue_guest("abcd-efgh-ijkl", "Grace", guest_id="guest-5f2a")
    response = await client.get("/api/turn/credentials", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    _, turn = response.json()["iceServers"]
    expiry_text, user_id = turn["username"].split(":")
    assert user_id == "guest-5f2a" and int(expiry_text) > time.time()


async def test_a_token_of_a_revoked_session_gets_no_credentials(
    client: httpx.AsyncClient, token_issuer: TokenIssuer, stack: Stack
) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    ended, other = f"sid-{uuid.uuid4().hex}", f"sid-{uuid.uuid4().hex}"
    ended_bearer = {"Authorization": f"Bearer {token_issuer.issue(user, sid=ended)}"}
    other_bearer = {"Authorization": f"Bearer {token_issuer.issue(user, sid=other)}"}
    assert (await client.get("/api/turn/credentials", headers=ended_bearer)).status_code == 200

    event = encode(
        SessionRevoked(user_id=user, session_id=ended, reason="signed_out", revoked_at=datetime.now(UTC)),
        source="/parley/auth/test",
    )
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(event.topic, event.value, key=event.key, headers=list(event.headers.items()))
    finally:
        await producer.stop()

    async def refused() -> httpx.Response | None:
        answer = await client.get("/api/turn/credentials", headers=ended_bearer)
        return answer if answer.status_code == 401 else None

    answer = await eventually(refused, timeout_s=20)
    assert answer.json()["detail"]["code"] == "unauthorized"
    assert "session" in answer.json()["detail"]["message"]
    # another session of the same user is not affected
    assert (await client.get("/api/turn/credentials", headers=other_bearer)).status_code == 200
    assert 'reason="revoked"} 1.0' in (await client.get("/metrics")).text
