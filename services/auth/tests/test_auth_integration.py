"""auth against the real FerretDB and Kafka of the test stack, app run in-process."""

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase

from parley_auth.repository import MongoUserStore
from parley_events import UserRegistered
from parley_events.topics import USERS
from parley_security import JwksVerifier
from parley_testing import Stack, TopicTail, eventually, tail_topic

pytestmark = pytest.mark.integration

ADA = {"email": "Ada@Example.com", "display_name": "Ada Lovelace", "password": "analytical engine"}


@pytest.fixture
async def users_topic(stack: Stack) -> AsyncIterator[TopicTail]:
    """parley.users read from the end offsets noted before the test registers anyone."""
    async with tail_topic(stack.kafka_bootstrap_servers, USERS.name) as tail:
        yield tail


async def _register_and_login(client: httpx.AsyncClient) -> dict:
    assert (await client.post("/api/auth/register", json=ADA)).status_code == 201
    response = await client.post("/api/auth/login", json={"email": ADA["email"], "password": ADA["password"]})
    assert response.status_code == 200
    return response.json()


async def test_register_publishes_user_registered(
    client: httpx.AsyncClient, users_topic: TopicTail, db: AsyncDatabase
) -> None:
    response = await client.post("/api/auth/register", json=ADA)

    assert response.status_code == 201
    body = response.json()
    assert body == {"user_id": body["user_id"], "email": "ada@example.com", "display_name": "Ada Lovelace"}
    (event,) = await users_topic.events(subject=body["user_id"])
    assert event.type == "parley.auth.user.registered.v1"
    assert event.source == "/parley/auth"
    assert event.data == UserRegistered(user_id=body["user_id"], email="ada@example.com", display_name="Ada Lovelace")
    stored = await db.users.find_one({"_id": body["user_id"]})
    assert stored is not None
    assert stored["password_hash"].startswith("$argon2id$")
    # The relay removes the entry just after Kafka acknowledged it: wait for that with a
    # deadline (a busy machine can delay the relay by seconds, more than a fixed 2.5 s).
    async def outbox_cleared() -> bool:
        return (await db.users.find_one({"_id": body["user_id"]}))["outbox"] == []

    await eventually(outbox_cleared, timeout_s=15)
    assert (await db.users.find_one({"_id": body["user_id"]}))["outbox"] == []


async def test_duplicate_email_is_409_and_stores_nothing(client: httpx.AsyncClient, db: AsyncDatabase) -> None:
    assert (await client.post("/api/auth/register", json=ADA)).status_code == 201
    again = await client.post("/api/auth/register", json={**ADA, "email": "ADA@example.COM", "display_name": "Imposter"})
    assert again.status_code == 409
    assert again.json() == {"detail": {"code": "email_taken", "message": "an account with this email exists"}}
    assert await db.users.count_documents({}) == 1
    assert (await db.users.find_one({}))["display_name"] == "Ada Lovelace"


@pytest.mark.parametrize(
    "body",
    [
        {**ADA, "password": "seven77"},
        {**ADA, "email": "not-an-email"},
        {**ADA, "display_name": ""},
        {**ADA, "display_name": "x" * 81},
        {"email": ADA["email"], "password": ADA["password"]},
        {"display_name": "Ada", "password": ADA["password"]},
        {},
    ],
    ids=["short-password", "bad-email", "empty-name", "long-name", "no-name", "no-email", "empty"],
)
async def test_bad_registration_is_422_and_stores_nothing(
    client: httpx.AsyncClient, db: AsyncDatabase, body: dict
) -> None:
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    assert await db.users.count_documents({}) == 0


async def test_login_returns_a_token_pair_and_me_answers(client: httpx.AsyncClient, app: FastAPI) -> None:
    pair = await _register_and_login(client)
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 900
    assert pair["user"]["email"] == "ada@example.com"

    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
    assert me.json() == pair["user"]
    unauthenticated = await client.get("/api/auth/me")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"] == "Bearer"


async def test_wrong_password_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/auth/register", json=ADA)).status_code == 201
    for body in ({"email": ADA["email"], "password": "wrong password"}, {"email": "no@example.com", "password": "x" * 8}):
        response = await client.post("/api/auth/login", json=body)
        assert response.status_code == 401
        assert response.json()["detail"]["code"] == "invalid_credentials"
        assert response.headers["www-authenticate"] == "Bearer"


async def test_jwks_verifies_the_issued_token(client: httpx.AsyncClient, app: FastAPI) -> None:
    pair = await _register_and_login(client)
    jwks = (await client.get("/api/auth/.well-known/jwks.json")).json()
    (jwk,) = jwks["keys"]
    assert {k: jwk[k] for k in ("kty", "crv", "alg", "use")} == {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig"}
    assert "d" not in jwk

    # The same verifier every other service uses, fetching this app's JWKS over HTTP.
    verifier = JwksVerifier(
        "http://auth.test/api/auth/.well-known/jwks.json",
        issuer="parley-auth",
        audience="parley",
        http=httpx.AsyncClient(transport=httpx.ASGITransport(app)),
    )
    try:
        principal = await verifier.verify(pair["access_token"])
    finally:
        await verifier.aclose()
    assert (principal.user_id, principal.display_name) == (pair["user"]["user_id"], "Ada Lovelace")


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient, db: AsyncDatabase) -> None:
    first = await _register_and_login(client)

    second = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_pair = second.json()
    assert second_pair["refresh_token"] != first["refresh_token"]
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {second_pair['access_token']}"})
    assert me.status_code == 200

    reused = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["detail"]["code"] == "invalid_refresh_token"
    # The whole family is revoked: the newest token no longer works either.
    after = await client.post("/api/auth/refresh", json={"refresh_token": second_pair["refresh_token"]})
    assert after.status_code == 401
    records = await db.refresh_tokens.find({}).to_list()
    assert len(records) == 2
    assert all(record["revoked_at"] is not None for record in records)
    metrics = (await client.get("/metrics")).text
    assert 'parley_auth_token_refreshes_total{result="reused"} 1.0' in metrics
    assert 'parley_auth_token_refreshes_total{result="rotated"} 1.0' in metrics


async def test_refresh_tokens_are_stored_only_as_hashes(client: httpx.AsyncClient, db: AsyncDatabase) -> None:
    pair = await _register_and_login(client)
    (record,) = await db.refresh_tokens.find({}).to_list()
    assert record["_id"] == hashlib.sha256(pair["refresh_token"].encode()).hexdigest()
    assert record["user_id"] == pair["user"]["user_id"]
    assert record["family_id"]
    assert record["expires_at"] > record["created_at"]
    assert pair["refresh_token"] not in repr(record)


async def test_logout_revokes_the_session(client: httpx.AsyncClient) -> None:
    pair = await _register_and_login(client)
    response = await client.post("/api/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 204
    refused = await client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refused.status_code == 401
    assert (await client.post("/api/auth/logout", json={"refresh_token": "unknown"})).status_code == 204


async def test_logout_by_the_access_token_alone_revokes_its_session(client: httpx.AsyncClient) -> None:
    """A client that keeps no refresh token at hand signs out with its bearer token: that
    session ends too (it used to answer 204 and end nothing)."""
    pair = await _register_and_login(client)
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    response = await client.post("/api/auth/logout", headers=bearer)
    assert response.status_code == 204
    assert "content-type" not in response.headers and response.content == b""
    assert (await client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status_code == 401
    for headers in (bearer, {"Authorization": "Bearer not-a-token"}, {}):  # again, invalid, none: still 204
        assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204


async def test_a_new_login_revokes_the_previous_session(client: httpx.AsyncClient) -> None:
    laptop = await _register_and_login(client)
    phone = (await client.post("/api/auth/login", json={"email": ADA["email"], "password": ADA["password"]})).json()
    assert (await client.post("/api/auth/refresh", json={"refresh_token": laptop["refresh_token"]})).status_code == 401
    assert (await client.post("/api/auth/refresh", json={"refresh_token": phone["refresh_token"]})).status_code == 200


async def test_readiness_checks_mongo_and_kafka(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"mongo": "ok", "kafka": "ok"}


BROWSER = {"Origin": "http://auth.test"}  # every browser's POST carries one


def _refresh_cookie(response: httpx.Response) -> dict[str, str]:
    """The ``parley_refresh`` Set-Cookie of ``response``: its value and attributes (lower case)."""
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith("parley_refresh=")]
    name_value, *attributes = [part.strip() for part in header.split(";")]
    cookie = {"value": name_value.split("=", 1)[1].strip('"')}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        cookie[key.lower()] = value
    return cookie


async def test_browsers_get_the_refresh_token_only_in_an_httponly_cookie(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/auth/register", json=ADA)).status_code == 201
    login = await client.post(
        "/api/auth/login", json={"email": ADA["email"], "password": ADA["password"]}, headers=BROWSER
    )
    assert login.status_code == 200
    assert "refresh_token" not in login.json()  # out of any script's reach
    cookie = _refresh_cookie(login)
    assert {k: cookie.get(k) for k in ("path", "samesite", "max-age")} == {
        "path": "/api/auth",
        "samesite": "strict",
        "max-age": str(30 * 24 * 3600),
    }
    assert "httponly" in cookie and "secure" in cookie
    first = cookie["value"]

    # Refresh with the cookie alone: rotated, in a new cookie.
    refreshed = await client.post("/api/auth/refresh", headers={**BROWSER, "Cookie": f"parley_refresh={first}"})
    assert refreshed.status_code == 200, refreshed.text
    assert "refresh_token" not in refreshed.json()
    second = _refresh_cookie(refreshed)["value"]
    assert second != first
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"})
    assert me.status_code == 200

    # The rotated cookie presented again: refused, and the browser is told to drop it.
    reused = await client.post("/api/auth/refresh", headers={**BROWSER, "Cookie": f"parley_refresh={first}"})
    assert reused.status_code == 401
    assert _refresh_cookie(reused)["max-age"] == "0"


async def test_logout_with_the_cookie_revokes_the_session_and_clears_the_cookie(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/auth/register", json=ADA)).status_code == 201
    login = await client.post(
        "/api/auth/login", json={"email": ADA["email"], "password": ADA["password"]}, headers=BROWSER
    )
    token = _refresh_cookie(login)["value"]
    out = await client.post("/api/auth/logout", headers={**BROWSER, "Cookie": f"parley_refresh={token}"})
    assert out.status_code == 204
    cleared = _refresh_cookie(out)
    assert cleared["max-age"] == "0" and cleared["path"] == "/api/auth"
    again = await client.post("/api/auth/refresh", headers={**BROWSER, "Cookie": f"parley_refresh={token}"})
    assert again.status_code == 401
    assert (await client.post("/api/auth/refresh", headers=BROWSER)).status_code == 401  # no token at all


async def test_non_browser_clients_keep_the_refresh_token_in_the_body(client: httpx.AsyncClient) -> None:
    pair = await _register_and_login(client)  # no Origin header
    assert pair["refresh_token"]
    refreshed = await client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != pair["refresh_token"]


async def test_leases_are_renewed_in_one_bulk_write_only_for_the_users_current_sessions(db: AsyncDatabase) -> None:
    """``MongoUserStore.renew_leases`` on FerretDB: a fetch's heartbeats in one round trip; a
    session that is no longer its user's (or a user that is gone) renews nothing."""
    before, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    await db.users.insert_many([
        {"_id": "u-ada", "session_family": "f-ada", "session_lease_until": before},
        {"_id": "u-bob", "session_family": "f-bob", "session_lease_until": before},
        {"_id": "u-cy", "session_family": "f-cy-new", "session_lease_until": before},
    ])
    store = MongoUserStore(db.users)
    sessions = [("u-ada", "f-ada"), ("u-bob", "f-bob"), ("u-cy", "f-cy-old"), ("u-gone", "f-gone")]
    assert await store.renew_leases(sessions, until) == 2
    leases = {doc["_id"]: doc["session_lease_until"].replace(tzinfo=UTC) async for doc in db.users.find({})}
    assert leases == {"u-ada": until, "u-bob": until, "u-cy": before}
    assert await store.renew_leases([], until) == 0
