"""The meetings HTTP API against the real FerretDB and Kafka of the test stack."""

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from parley_events import (
    MeetingCreated,
    MeetingEnded,
    MeetingExpired,
    ParticipantJoined,
    ParticipantLeft,
    decode,
    encode,
)
from parley_events.topics import MEETINGS
from parley_meetings.main import create_app
from parley_meetings.repository import MeetingRepository, due_filter
from parley_testing.lifespan import running
from parley_testing import BAD_AUTHORIZATIONS, bad_authorization, tail_topic

pytestmark = pytest.mark.integration


async def test_create_returns_the_meeting_and_publishes_meeting_created(client, stack) -> None:
    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        meeting = await client.create("alice", "Weekly sync", scheduled_start="2030-05-01T09:30:00+02:00")
        events = await tail.events(subject=meeting["meeting_id"])

    assert re.fullmatch(r"[a-z]{4}-[a-z]{4}-[a-z]{4}", meeting["meeting_id"])
    assert meeting["invite_url"] == f"http://parley.test/m/{meeting['meeting_id']}"
    assert meeting["title"] == "Weekly sync"
    assert meeting["host_id"] == "alice"
    assert meeting["status"] == "active"
    assert meeting["ended_at"] is None
    assert datetime.fromisoformat(meeting["scheduled_start"]) == datetime(2030, 5, 1, 7, 30, tzinfo=UTC)
    assert len(events) == 1
    event = events[0]
    assert event.type == "parley.meetings.meeting.created.v1"
    assert event.source == "/parley/meetings"
    assert isinstance(event.data, MeetingCreated)
    assert event.data.host_id == "alice"
    assert event.data.title == "Weekly sync"
    assert event.data.created_at == datetime.fromisoformat(meeting["created_at"])


async def test_get_and_list_mine_newest_first(client) -> None:
    first = await client.create("alice", "First")
    second = await client.create("alice", "Second")
    other = await client.create("bob", "Bob's")

    got = await client.http.get(f"/api/meetings/{first['meeting_id']}", headers=client.auth("carol"))
    assert got.status_code == 200
    assert got.json() == first

    mine = await client.http.get("/api/meetings", headers=client.auth("alice"))
    assert [m["meeting_id"] for m in mine.json()["meetings"]] == [second["meeting_id"], first["meeting_id"]]

    await client.http.post(f"/api/meetings/{other['meeting_id']}/join", headers=client.auth("alice"))
    mine = await client.http.get("/api/meetings", headers=client.auth("alice"))
    assert [m["meeting_id"] for m in mine.json()["meetings"]] == [
        other["meeting_id"], second["meeting_id"], first["meeting_id"]
    ]

    missing = await client.http.get("/api/meetings/nope-nope-nope", headers=client.auth("alice"))
    assert missing.status_code == 404
    assert missing.json()["detail"]["code"] == "meeting_not_found"


async def test_join_makes_a_participant_and_twice_is_harmless(client) -> None:
    meeting = await client.create("alice")
    mid = meeting["meeting_id"]

    for _ in range(2):
        joined = await client.http.post(f"/api/meetings/{mid}/join", headers=client.auth("bob"))
        assert joined.status_code == 200
        assert joined.json() == {"meeting": meeting, "role": "participant", "status": "joined"}

    host = await client.http.post(f"/api/meetings/{mid}/join", headers=client.auth("alice"))
    assert host.json()["role"] == "host"

    doc = await client.collection().find_one({"_id": mid})
    assert [(p["user_id"], p["role"]) for p in doc["participants"]] == [("alice", "host"), ("bob", "participant")]

    missing = await client.http.post("/api/meetings/nope-nope-nope/join", headers=client.auth("bob"))
    assert missing.status_code == 404


async def test_membership_answers_200_403_404(client) -> None:
    mid = (await client.create("alice"))["meeting_id"]
    await client.http.post(f"/api/meetings/{mid}/join", headers=client.auth("bob"))

    host = await client.http.get(f"/api/meetings/{mid}/membership", headers=client.auth("alice"))
    assert host.status_code == 200
    assert host.json() == {"meeting_id": mid, "user_id": "alice", "role": "host", "status": "active"}
    bob = await client.http.get(f"/api/meetings/{mid}/membership", headers=client.auth("bob"))
    assert bob.json() == {"meeting_id": mid, "user_id": "bob", "role": "participant", "status": "active"}

    stranger = await client.http.get(f"/api/meetings/{mid}/membership", headers=client.auth("mallory"))
    assert stranger.status_code == 403
    assert stranger.json()["detail"]["code"] == "not_a_participant"

    missing = await client.http.get("/api/meetings/nope-nope-nope/membership", headers=client.auth("bob"))
    assert missing.status_code == 404
    assert missing.json()["detail"]["code"] == "meeting_not_found"


async def test_end_by_a_non_host_is_refused_changes_nothing_and_publishes_nothing(client, stack) -> None:
    meeting = await client.create("alice")
    mid = meeting["meeting_id"]
    await client.http.post(f"/api/meetings/{mid}/join", headers=client.auth("bob"))
    collection = client.collection()
    await client.outbox_drained(mid)  # meeting.created is published
    before = await collection.find_one({"_id": mid})

    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        for user in ("bob", "mallory"):
            refused = await client.http.post(f"/api/meetings/{mid}/end", headers=client.auth(user))
            assert refused.status_code == 403
            assert refused.json()["detail"]["code"] == "not_host"
        assert await tail.events(subject=mid, timeout_s=1.5) == []

    assert await collection.find_one({"_id": mid}) == before
    got = await client.http.get(f"/api/meetings/{mid}", headers=client.auth("bob"))
    assert got.json() == meeting


async def test_end_by_the_host_publishes_meeting_ended_once(client, stack) -> None:
    mid = (await client.create("alice"))["meeting_id"]
    await client.http.post(f"/api/meetings/{mid}/join", headers=client.auth("bob"))
    await client.outbox_drained(mid)

    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        ended = await client.http.post(f"/api/meetings/{mid}/end", headers=client.auth("alice"))
        assert ended.status_code == 200
        body = ended.json()
        assert body["status"] == "ended"
        assert body["ended_at"] is not None
        again = await client.http.post(f"/api/meetings/{mid}/end", headers=client.auth("alice"))
        assert again.status_code == 200
        assert again.json() == body
        events = await tail.events(subject=mid, count=2, timeout_s=2)

    assert len(events) == 1
    assert isinstance(events[0].data, MeetingEnded)
    assert events[0].data.ended_by == "alice"
    assert events[0].data.ended_at == datetime.fromisoformat(body["ended_at"])

    late = await client.http.post(f"/api/meetings/{mid}/join", headers=client.auth("carol"))
    assert late.status_code == 410
    assert late.json()["detail"]["code"] == "meeting_ended"
    rejoin = await client.http.post(f"/api/meetings/{mid}/join", headers=client.auth("bob"))
    assert rejoin.status_code == 410
    membership = await client.http.get(f"/api/meetings/{mid}/membership", headers=client.auth("bob"))
    assert membership.json()["status"] == "ended"
    missing = await client.http.post("/api/meetings/nope-nope-nope/end", headers=client.auth("alice"))
    assert missing.status_code == 404


@pytest.mark.parametrize("case", BAD_AUTHORIZATIONS)
async def test_bad_tokens_get_401(client, case) -> None:
    mid = (await client.create("alice"))["meeting_id"]
    headers = bad_authorization(client.issuer, case, "alice")
    for method, path in [
        ("POST", "/api/meetings"),
        ("GET", "/api/meetings"),
        ("GET", f"/api/meetings/{mid}"),
        ("POST", f"/api/meetings/{mid}/join"),
        ("POST", f"/api/meetings/{mid}/end"),
        ("GET", f"/api/meetings/{mid}/membership"),
        ("GET", f"/api/meetings/{mid}/roster"),
    ]:
        body = {"title": "x"} if method == "POST" else None
        response = await client.http.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
    still = await client.http.get(f"/api/meetings/{mid}", headers=client.auth("alice"))
    assert still.json()["status"] == "active"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": 42},
        {"title": "ok", "scheduled_start": "tomorrow"},
        {"title": "ok", "scheduled_start": "2030-05-01T09:30:00"},
        {"title": "ok", "unexpected": True},
    ],
)
async def test_bad_bodies_get_422_and_store_nothing(client, body) -> None:
    response = await client.http.post("/api/meetings", json=body, headers=client.auth("alice"))
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    mine = await client.http.get("/api/meetings", headers=client.auth("alice"))
    assert mine.json() == {"meetings": [], "next_cursor": None}


async def test_health_readiness_and_metrics(client) -> None:
    assert (await client.http.get("/healthz")).json() == {"status": "ok"}
    ready = await client.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"mongo": "ok", "kafka": "ok"}

    mid = (await client.create("alice"))["meeting_id"]
    await client.http.post(f"/api/meetings/{mid}/end", headers=client.auth("alice"))
    text = (await client.http.get("/metrics")).text
    assert "parley_meetings_created_total 1.0" in text
    assert "parley_meetings_ended_total 1.0" in text
    assert 'route="/api/meetings/{meeting_id}/end"' in text
    assert 'parley_meetings_webhook_attempts_total{outcome="rejected"} 0.0' in text
    assert "parley_meetings_webhook_attempt_duration_seconds_bucket" in text
    assert mid not in text

    asyncapi = (await client.http.get("/asyncapi.json")).json()
    addresses = {channel["address"] for channel in asyncapi["channels"].values()}
    assert addresses == {
        "parley.meetings", "parley.participants", "parley.sessions", "parley.contacts", "parley.calls", "parley.api_keys",
        "parley.chat",  # the webhook dispatcher's (chat.message.posted)
    }
    webhook_channels = {key: set(channel["messages"]) for key, channel in asyncapi["channels"].items() if key.startswith("webhooks:")}
    assert webhook_channels == {
        "webhooks:parley.meetings": {"MeetingCreated", "MeetingEnded", "MeetingExpired"},
        "webhooks:parley.participants": {"ParticipantJoined", "ParticipantLeft"},
        "webhooks:parley.chat": {"ChatMessagePosted"},
    }


async def test_scheduled_start_is_optional_and_title_trimmed(client) -> None:
    meeting = await client.create("alice", "  Retro  ")
    assert meeting["title"] == "Retro"
    assert meeting["scheduled_start"] is None
    created = datetime.fromisoformat(meeting["created_at"])
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)


async def test_concurrent_joins_and_relay_lose_no_update(client) -> None:
    # Concurrent joins ($push) and the relay's $pull of one document: the store applies each
    # atomically (refused collisions are run again); nothing in the process serializes them.
    mid = (await client.create("alice"))["meeting_id"]
    users = [f"user{i}" for i in range(25)]
    answers = await asyncio.gather(
        *(client.http.post(f"/api/meetings/{mid}/join", headers=client.auth(u)) for u in users)
    )
    assert {a.status_code for a in answers} == {200}
    await client.http.post(f"/api/meetings/{mid}/end", headers=client.auth("alice"))
    await client.outbox_drained(mid)
    doc = await client.collection().find_one({"_id": mid})
    assert sorted(p["user_id"] for p in doc["participants"]) == sorted(["alice", *users])
    assert doc["status"] == "ended"


async def test_a_title_holding_nul_is_refused_with_422_and_nothing_stored(client) -> None:
    """U+0000 cannot be stored (FerretDB on PostgreSQL fails the write): schemathesis found a
    500 here; now it is a clear 422 at the edge."""
    response = await client.http.post(
        "/api/meetings", json={"title": "weekly\u0000sync"}, headers=client.auth("alice")
    )

    assert response.status_code == 422, response.text
    assert "U+0000" in response.text
    assert (await client.http.get("/api/meetings", headers=client.auth("alice"))).json()["meetings"] == []


async def test_routes_take_no_thread_pool_hop(client, monkeypatch) -> None:
    """Every dependency of the routes is async: FastAPI runs a plain ``def`` one in its thread
    pool, a hop per request that cost more than the dependency (issue 7)."""
    import fastapi.dependencies.utils as utils

    async def refuse(*args, **kwargs):
        raise AssertionError("a dependency went through the thread pool")

    monkeypatch.setattr(utils, "run_in_threadpool", refuse)
    created = await client.create("alice")
    mid = created["meeting_id"]
    assert (await client.http.get(f"/api/meetings/{mid}", headers=client.auth("bob"))).json() == created
    assert (await client.http.post(f"/api/meetings/{mid}/join", headers=client.auth("bob"))).status_code == 200
    assert (await client.http.get(f"/api/meetings/{mid}/membership", headers=client.auth("bob"))).status_code == 200
    assert (await client.http.get("/api/meetings", headers=client.auth("bob"))).status_code == 200


def _summary_reads(metrics_text: str, result: str) -> float:
    found = re.search(rf'parley_meetings_summary_reads_total{{result="{result}"}} ([0-9.e+]+)', metrics_text)
    assert found, metrics_text[:500]
    return float(found.group(1))


async def test_a_meeting_ended_on_another_replica_shows_ended_there_once_its_event_arrives(
    client, settings, token_issuer, wait_until
) -> None:
    other = create_app(settings.model_copy(update={"instance_id": "meetings-replica-2"}))
    other.state.verifier = token_issuer.verifier()
    async with running(other), httpx.AsyncClient(
        transport=httpx.ASGITransport(other), base_url="http://meetings-2.test"
    ) as replica_2:
        meeting = await client.create("alice")
        path = f"/api/meetings/{meeting['meeting_id']}"
        for _ in range(3):  # one store read, then the replica's cache
            seen = await replica_2.get(path, headers=client.auth("bob"))
            assert seen.status_code == 200 and seen.json()["status"] == "active"
        metrics = (await replica_2.get("/metrics")).text
        assert (_summary_reads(metrics, "miss"), _summary_reads(metrics, "hit")) == (1, 2)

        ended = await client.http.post(f"{path}/end", headers=client.auth("alice"))
        assert ended.status_code == 200 and ended.json()["status"] == "ended"
        assert (await client.http.get(path, headers=client.auth("bob"))).json()["status"] == "ended"

        async def ended_on_replica_2() -> bool:  # its cache keeps a summary 30 s: the event does it
            return (await replica_2.get(path, headers=client.auth("bob"))).json()["status"] == "ended"

        await wait_until(ended_on_replica_2, timeout_s=15)


async def test_the_empty_timeout_is_set_on_create_or_patch_by_the_host_within_bounds(client) -> None:
    meeting = await client.create("alice", "Expiring", empty_timeout_seconds=30)
    assert meeting["empty_timeout_seconds"] == 30
    assert (await client.create("alice", "Default"))["empty_timeout_seconds"] == 300  # PARLEY_MEETING_EMPTY_TIMEOUT_S
    path = f"/api/meetings/{meeting['meeting_id']}"
    for bad in (4, 86401, "30", 30.5, [30]):
        response = await client.http.patch(path, json={"empty_timeout_seconds": bad}, headers=client.auth("alice"))
        assert response.status_code == 422, (bad, response.text)
    response = await client.http.patch(path, json={"title": "no"}, headers=client.auth("alice"))
    assert response.status_code == 422, response.text
    response = await client.http.patch(path, json={"empty_timeout_seconds": 10}, headers=client.auth("bob"))
    assert (response.status_code, response.json()["detail"]["code"]) == (403, "not_host")
    response = await client.http.patch(path, json={"empty_timeout_seconds": 10}, headers=client.auth("alice"))
    assert (response.status_code, response.json()["empty_timeout_seconds"]) == (200, 10)
    response = await client.http.patch(path, json={"empty_timeout_seconds": None}, headers=client.auth("alice"))
    assert response.json()["empty_timeout_seconds"] == 300


async def test_the_sweep_asks_the_store_for_marked_deadlines_only_and_marks_older_ones(client) -> None:
    """FerretDB 1.13 pushes equalities down to PostgreSQL and decodes every other candidate in
    Go: the sweep's filter leads with the ``expiring`` marker, so the store reads the meetings
    with a deadline, not every active one. A deadline stored before the marker existed is
    marked when the repository starts."""
    collection = client.collection()
    service = client.app.state.meetings
    meeting_id = (await client.create("alice", "Emptied before the marker"))["meeting_id"]
    past = datetime.now(UTC) - timedelta(minutes=1)
    await collection.update_one({"_id": meeting_id}, {"$set": {"empty_since": past, "expires_at": past}})
    await service.expire_due()
    assert (await collection.find_one({"_id": meeting_id}))["status"] == "active"  # not marked: not read
    await MeetingRepository(collection.database).ensure_indexes()
    await service.expire_due()
    stored = await collection.find_one({"_id": meeting_id})
    assert (stored["status"], stored["end_reason"], stored["expiring"]) == ("ended", "expired", False)
    plan = await collection.database.command("explain", {"find": collection.name, "filter": due_filter(past)})
    assert plan["pushdown"] is True and "'expiring'" in str(plan["queryPlanner"])


async def test_an_emptied_meeting_expires_once_in_the_store_even_when_swept_at_once(client) -> None:
    """Against FerretDB: the roster write stores the deadline, the index query finds it, and of
    concurrent sweeps (besides the app's own sweeper) exactly one expires the meeting."""
    meeting = await client.create("alice", "Left empty", empty_timeout_seconds=5)
    meeting_id = meeting["meeting_id"]
    busy = await client.create("alice", "Someone stays", empty_timeout_seconds=5)
    service = client.app.state.meetings
    long_ago = datetime.now(UTC) - timedelta(minutes=1)

    def event(data) -> Any:
        return decode(encode(data, source="/tests").value)

    def joined(mid: str, sid: str) -> Any:
        return event(ParticipantJoined(meeting_id=mid, user_id="alice", display_name="A", sid=sid,
                                       replica_id="r", joined_at=long_ago))

    left = ParticipantLeft(meeting_id=meeting_id, user_id="alice", sid="s1", replica_id="r", reason="left",
                           left_at=long_ago)
    await client.outbox_drained(meeting_id)  # meeting.created is out before the tail starts
    async with tail_topic(client.app.state.settings.kafka_bootstrap_servers, MEETINGS.name) as tail:
        await service.apply_participant_events([joined(meeting_id, "s1"), joined(busy["meeting_id"], "s2"), event(left)])
        stored = await client.collection().find_one({"_id": meeting_id})
        assert stored["expires_at"] is not None and stored["empty_since"] is not None and stored["expiring"] is True
        await asyncio.gather(*(service.expire_due() for _ in range(4)))
        events = await tail.events(subject=meeting_id, count=2, timeout_s=8)
    assert [type(e.data) for e in events] == [MeetingExpired]
    shown = (await client.http.get(f"/api/meetings/{meeting_id}", headers=client.auth("alice"))).json()
    assert (shown["status"], shown["end_reason"]) == ("ended", "expired")
    still = (await client.http.get(f"/api/meetings/{busy['meeting_id']}", headers=client.auth("alice"))).json()
    assert still["status"] == "active"
