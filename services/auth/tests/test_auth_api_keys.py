"""API keys in auth: create (secret once, hash kept), list, revoke, the events meetings learns
keys from, and the last-use marks it sends back; against the real FerretDB and Kafka of the
test stack (app in-process)."""

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from parley_events import ApiKeyCreated, ApiKeyRevoked, ApiKeyUsed, encode
from parley_events.topics import API_KEYS
from parley_security.api_keys import is_well_formed, secret_hash
from parley_testing import Stack, tail_topic

pytestmark = pytest.mark.integration

PASSWORD = "analytical engine"


async def _signed_in(client: httpx.AsyncClient, name: str, unique: str) -> tuple[str, dict[str, str]]:
    email = f"{name.lower()}-{unique}@example.com"
    assert (await client.post("/api/auth/register", json={"email": email, "display_name": name, "password": PASSWORD})).status_code == 201
    login = (await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})).json()
    return login["user"]["user_id"], {"Authorization": f"Bearer {login['access_token']}"}


async def test_create_shows_the_secret_once_keeps_its_hash_and_publishes_it(
    client: httpx.AsyncClient, db: AsyncDatabase, stack: Stack, unique_name: str
) -> None:
    ada_id, ada = await _signed_in(client, "Ada", unique_name)
    async with tail_topic(stack.kafka_bootstrap_servers, API_KEYS.name) as tail:
        created = await client.post(
            "/api/auth/keys", json={"name": "  CRM  ", "scopes": ["meetings:write", "meetings:read", "meetings:write"]}, headers=ada
        )
        assert created.status_code == 201, created.text
        key = created.json()
        (event,) = await tail.events(subject=key["key_id"])
    assert created.headers["cache-control"] == "no-store"
    secret = key["secret"]
    assert is_well_formed(secret) and secret.startswith(key["shown"]) and key["shown"].startswith("parley_sk_")
    assert (key["name"], key["scopes"], key["last_used_at"], key["revoked_at"]) == ("CRM", ["meetings:write", "meetings:read"], None, None)

    assert isinstance(event.data, ApiKeyCreated)
    assert (event.data.owner_id, event.data.owner_name, event.data.scopes) == (ada_id, "Ada", ["meetings:write", "meetings:read"])
    assert event.data.secret_hash == secret_hash(secret)
    stored = await db["api_keys"].find_one({"_id": key["key_id"]})
    assert stored["secret_hash"] == secret_hash(secret)
    assert secret not in repr(stored) and secret not in event.data.model_dump_json()

    listed = await client.get("/api/auth/keys", headers=ada)
    assert listed.status_code == 200
    assert [k["key_id"] for k in listed.json()["keys"]] == [key["key_id"]]
    assert "secret" not in listed.json()["keys"][0]
    # another user sees none of it
    _, bob = await _signed_in(client, "Bob", unique_name)
    assert (await client.get("/api/auth/keys", headers=bob)).json() == {"keys": []}


async def test_revoke_once_publishes_once_and_only_the_owner_may(
    client: httpx.AsyncClient, stack: Stack, unique_name: str
) -> None:
    _, ada = await _signed_in(client, "Ada", unique_name)
    _, bob = await _signed_in(client, "Bob", unique_name)
    # tailed from before the creation: the relay may publish `api_key.created` at any time after it
    async with tail_topic(stack.kafka_bootstrap_servers, API_KEYS.name) as tail:
        key = (await client.post("/api/auth/keys", json={"name": "ci", "scopes": ["meetings:read"]}, headers=ada)).json()
        refused = await client.delete(f"/api/auth/keys/{key['key_id']}", headers=bob)
        first = await client.delete(f"/api/auth/keys/{key['key_id']}", headers=ada)
        again = await client.delete(f"/api/auth/keys/{key['key_id']}", headers=ada)
        events = await tail.events(subject=key["key_id"], count=3, timeout_s=5)
    assert (refused.status_code, refused.json()["detail"]["code"]) == (404, "api_key_not_found")
    assert first.status_code == again.status_code == 200
    assert first.json()["revoked_at"] is not None and first.json()["revoked_at"] == again.json()["revoked_at"]
    assert [type(e.data) for e in events] == [ApiKeyCreated, ApiKeyRevoked]


async def test_bad_requests_get_clear_errors(client: httpx.AsyncClient, unique_name: str) -> None:
    _, ada = await _signed_in(client, "Ada", unique_name)
    for body in ({"name": "x", "scopes": []}, {"name": "x", "scopes": ["meetings:admin"]}, {"name": " ", "scopes": ["meetings:read"]}):
        answer = await client.post("/api/auth/keys", json=body, headers=ada)
        assert answer.status_code == 422, (body, answer.text)
    assert (await client.post("/api/auth/keys", json={"name": "x", "scopes": ["meetings:read"]})).status_code == 401


async def test_last_use_reported_by_meetings_shows_in_the_list(
    client: httpx.AsyncClient, stack: Stack, unique_name: str
) -> None:
    _, ada = await _signed_in(client, "Ada", unique_name)
    key = (await client.post("/api/auth/keys", json={"name": "app", "scopes": ["meetings:read"]}, headers=ada)).json()
    used_at = datetime.now(UTC).replace(microsecond=0)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap_servers)
    await producer.start()
    try:
        for data in (ApiKeyUsed(key_id=key["key_id"], used_at=used_at), ApiKeyUsed(key_id=key["key_id"], used_at=used_at.replace(year=2020))):
            event = encode(data, source="/parley/meetings")
            await producer.send_and_wait(event.topic, event.value, key=event.key, headers=list(event.headers.items()))
    finally:
        await producer.stop()
    for _ in range(100):
        (listed,) = (await client.get("/api/auth/keys", headers=ada)).json()["keys"]
        if listed["last_used_at"]:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)  # the older mark, after it, must not move it back
    (listed,) = (await client.get("/api/auth/keys", headers=ada)).json()["keys"]
    assert datetime.fromisoformat(listed["last_used_at"]) == used_at
