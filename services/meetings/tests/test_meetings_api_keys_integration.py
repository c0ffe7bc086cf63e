"""Applications with API keys: meetings learns keys from auth's events on ``parley.api_keys``
(published here as auth would), accepts them within their scopes, refuses revoked ones, marks
their use at most once a minute; idempotent creation and pages of the list. Against the real
FerretDB and Kafka of the test stack (app in-process)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from parley_events import ApiKeyCreated, ApiKeyRevoked, ApiKeyUsed, MeetingCancelled, MeetingCreated, MeetingRescheduled
from parley_events.topics import API_KEYS, MEETINGS
from parley_security.api_keys import new_secret, secret_hash
from parley_testing import tail_topic

pytestmark = pytest.mark.integration


def in_days(days: float) -> str:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(second=0, microsecond=0)
    return start.astimezone(ZoneInfo("Europe/Paris")).isoformat()


async def issued_key(client, produce, wait_until, owner: str, scopes: list[str]) -> tuple[str, str]:
    """A key of ``owner`` as auth announces it; returns ``(key_id, secret)`` once meetings knows it."""
    secret, key_id = new_secret(), f"key_{uuid.uuid4().hex[:12]}"
    await produce(
        ApiKeyCreated(
            key_id=key_id, owner_id=owner, owner_name=owner.title(), name="app", scopes=scopes,
            secret_hash=secret_hash(secret), created_at=datetime.now(UTC),
        )
    )
    projection = client.app.state.api_keys.collection
    await wait_until(lambda: projection.find_one({"_id": key_id}))
    return key_id, secret


async def test_an_application_with_a_scoped_key_schedules_reschedules_and_cancels(client, produce, wait_until, stack) -> None:
    _, secret = await issued_key(client, produce, wait_until, "alice", ["meetings:read", "meetings:write"])
    key = {"X-API-Key": secret}
    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        created = await client.http.post(
            "/api/meetings",
            json={"title": "Onboarding", "scheduled_start": in_days(2), "duration_minutes": 30, "time_zone": "Europe/Paris"},
            headers=key,
        )
        assert created.status_code == 201, created.text
        meeting = created.json()
        assert meeting["host_id"] == "alice"  # the key acts for its owner
        assert meeting["invite_url"] == f"http://parley.test/m/{meeting['meeting_id']}"
        moved = await client.http.put(
            f"/api/meetings/{meeting['meeting_id']}/schedule", json={"scheduled_start": in_days(3)},
            headers={"Authorization": f"Bearer {secret}"},  # the same key as a bearer token
        )
        assert moved.status_code == 200, moved.text
        cancelled = await client.http.post(f"/api/meetings/{meeting['meeting_id']}/cancel", headers=key)
        assert cancelled.status_code == 200, cancelled.text
        events = await tail.events(subject=meeting["meeting_id"], count=3)
    assert [type(e.data) for e in events] == [MeetingCreated, MeetingRescheduled, MeetingCancelled]
    assert cancelled.json()["end_reason"] == "cancelled"
    # the owner sees it with their own token
    mine = await client.http.get("/api/meetings", headers=client.auth("alice"))
    assert [m["meeting_id"] for m in mine.json()["meetings"]] == [meeting["meeting_id"]]


async def test_a_key_without_the_scope_gets_403_and_a_revoked_or_unknown_key_401(client, produce, wait_until) -> None:
    key_id, secret = await issued_key(client, produce, wait_until, "alice", ["meetings:read"])
    read_only = {"X-API-Key": secret}
    assert (await client.http.get("/api/meetings", headers=read_only)).status_code == 200
    refused = await client.http.post("/api/meetings", json={"title": "t"}, headers=read_only)
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"]["code"] == "insufficient_scope"
    assert "meetings:write" in refused.json()["detail"]["message"]
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="meetings:write"'

    await produce(ApiKeyRevoked(key_id=key_id, owner_id="alice", revoked_at=datetime.now(UTC)))
    projection = client.app.state.api_keys.collection
    await wait_until(lambda: projection.find_one({"_id": key_id, "revoked": True}))
    for headers in (read_only, {"X-API-Key": new_secret()}, {"X-API-Key": secret[:-1] + "x"}):
        answer = await client.http.get("/api/meetings", headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.json()["detail"]["code"] == "invalid_api_key"
        assert answer.headers["www-authenticate"] == "Bearer"
    assert "revoked" in (await client.http.get("/api/meetings", headers=read_only)).json()["detail"]["message"]


async def test_use_is_marked_at_most_once_a_minute(client, produce, wait_until, stack) -> None:
    key_id, secret = await issued_key(client, produce, wait_until, "alice", ["meetings:read"])
    async with tail_topic(stack.kafka_bootstrap_servers, API_KEYS.name) as tail:
        for _ in range(5):
            assert (await client.http.get("/api/meetings", headers={"X-API-Key": secret})).status_code == 200
        marks = await tail.events(subject=key_id, count=2, timeout_s=5)
    assert [type(e.data) for e in marks] == [ApiKeyUsed]
    stored = await client.app.state.api_keys.collection.find_one({"_id": key_id})
    assert stored["last_used_at"] == marks[0].data.used_at.replace(microsecond=marks[0].data.used_at.microsecond // 1000 * 1000)


async def test_idempotency_key_same_body_same_answer_other_body_refused(client) -> None:
    headers = {**client.auth("alice"), "Idempotency-Key": "order-4711"}
    body = {"title": "Kick-off", "scheduled_start": in_days(1)}
    first = await client.http.post("/api/meetings", json=body, headers=headers)
    again = await client.http.post("/api/meetings", json=dict(reversed(list(body.items()))), headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await client.collection().count_documents({"host_id": "alice"}) == 1

    other = await client.http.post("/api/meetings", json={**body, "title": "Other"}, headers=headers)
    assert other.status_code == 422, other.text
    assert other.json()["detail"]["code"] == "idempotency_key_reused"
    # keys are per caller: bob's same key is his own
    bobs = await client.http.post("/api/meetings", json=body, headers={**client.auth("bob"), "Idempotency-Key": "order-4711"})
    assert bobs.status_code == 201 and bobs.json()["meeting_id"] != first.json()["meeting_id"]
    # a failed first request stores nothing: the key can be used again
    past = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    failing = {**client.auth("alice"), "Idempotency-Key": "retry-me"}
    assert (await client.http.post("/api/meetings", json={"title": "x", "scheduled_start": past}, headers=failing)).status_code == 422
    assert (await client.http.post("/api/meetings", json={"title": "x"}, headers=failing)).status_code == 201
    bad = await client.http.post("/api/meetings", json=body, headers={**client.auth("alice"), "Idempotency-Key": "two words"})
    assert bad.status_code == 422


async def test_concurrent_requests_with_one_key_create_one_meeting(client) -> None:
    headers = {**client.auth("carol"), "Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(*(client.http.post("/api/meetings", json={"title": "race"}, headers=headers) for _ in range(4)))
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    assert len({a.json()["meeting_id"] for a in answers if a.status_code == 201}) == 1
    assert {a.json()["detail"]["code"] for a in answers if a.status_code == 409} <= {"idempotency_key_in_use"}
    assert await client.collection().count_documents({"host_id": "carol"}) == 1


async def test_pages_of_the_list_cover_every_meeting_once(client) -> None:
    created = [(await client.create("dave", f"m{i}"))["meeting_id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.http.get("/api/meetings", params=params, headers=client.auth("dave"))).json()
        assert len(page["meetings"]) <= 2
        seen += [m["meeting_id"] for m in page["meetings"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))
    everything = (await client.http.get("/api/meetings", headers=client.auth("dave"))).json()
    assert [m["meeting_id"] for m in everything["meetings"]] == seen and everything["next_cursor"] is None
    bad = await client.http.get("/api/meetings", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=client.auth("dave"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["type"] == "invalid_cursor"


def test_the_openapi_document_offers_the_key_header_beside_the_bearer_token_where_keys_work(settings) -> None:
    from parley_meetings.main import create_app

    document = create_app(settings).openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key", "description": schemes["ApiKey"]["description"],
    }
    assert schemes["BearerTokenOrApiKey"]["scheme"] == "bearer"
    for path, method in (("/api/meetings/{meeting_id}", "get"), ("/api/meetings", "post"),
                         ("/api/meetings/{meeting_id}/join", "post")):
        assert document["paths"][path][method]["security"] == [{"BearerTokenOrApiKey": []}, {"ApiKey": []}], path
    # users' own routes take no key: the bearer token alone
    assert document["paths"]["/api/calls"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in document["paths"]["/api/meetings/{meeting_id}/public"]["get"]
