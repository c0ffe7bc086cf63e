"""Guest tokens against the real Kafka and FerretDB: auth learns from meetings' events which
meetings allow guests, issues a short-lived token scoped to one meeting, and throttles."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from aiokafka import AIOKafkaProducer

from parley_auth.config import Settings
from parley_auth.domain.guests import GuestMeeting
from parley_auth.guests_repository import GUEST_MEETINGS, MongoGuestMeetingStore
from parley_events import EventData, MeetingCreated, MeetingEnded, MeetingUpdated, encode
from parley_security import JwksVerifier
from parley_testing import Stack


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"guest_limit_per_address": "8/hour", "guest_token_ttl_seconds": 600})


@pytest.fixture
async def publish(stack: Stack, settings: Settings) -> AsyncIterator[Callable[[EventData], Awaitable[None]]]:
    """Publish a meetings event as meetings' relay does (the app's group starts at the end)."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap_servers)
    await producer.start()

    async def send(data: EventData) -> None:
        event = encode(data, source="/parley/meetings")
        await producer.send_and_wait(event.topic, event.value, key=event.key, headers=list(event.headers.items()))

    try:
        yield send
    finally:
        await producer.stop()


def _meeting_id() -> str:
    tail = uuid.uuid4().hex
    return f"{tail[:4]}-{tail[4:8]}-{tail[8:12]}"


async def _ask(client: httpx.AsyncClient, meeting_id: str, name: str = "Grace") -> httpx.Response:
    return await client.post("/api/auth/guests", json={"meeting_id": meeting_id, "display_name": name})


async def _answer_once_applied(
    client: httpx.AsyncClient, db, meeting_id: str, applied: Callable[[GuestMeeting], bool], timeout_s: float = 20.0
) -> httpx.Response:
    """Wait until auth's projection shows the event (``applied``), then ask once: the answer.
    Asking until the answer changed spent the per-address budget (8 an hour here) whenever the
    consumer was slow, and the last answer was a 429."""
    store = MongoGuestMeetingStore(db[GUEST_MEETINGS])
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not ((known := await store.get(meeting_id)) is not None and applied(known)):
        assert asyncio.get_running_loop().time() < deadline, f"not applied in {timeout_s:.0f} s: {known}"
        await asyncio.sleep(0.1)
    return await _ask(client, meeting_id)


def _created(meeting_id: str, allow_guests: bool) -> MeetingCreated:
    return MeetingCreated(
        meeting_id=meeting_id, host_id="u-host", title="Standup", created_at=datetime.now(UTC), allow_guests=allow_guests
    )


async def test_a_meeting_that_allows_guests_gets_a_scoped_short_lived_guest_token(client, app, db, publish) -> None:
    meeting_id = _meeting_id()
    assert (await _ask(client, meeting_id)).json()["detail"]["code"] == "meeting_not_found"
    await publish(_created(meeting_id, allow_guests=True))
    answer = await _answer_once_applied(client, db, meeting_id, lambda m: m.allow_guests)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert answer.headers["Cache-Control"] == "no-store"
    assert "refresh_token" not in body and "parley_refresh" not in answer.headers.get("set-cookie", "")
    assert body["expires_in"] == 600
    assert body["guest"]["meeting_id"] == meeting_id and body["guest"]["display_name"] == "Grace"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == body["guest"]["user_id"] and claims["sub"].startswith("guest-")
    assert (claims["role"], claims["meeting_id"], claims["typ"]) == ("guest", meeting_id, "access")
    assert claims["exp"] - claims["iat"] == 600 and "sid" not in claims
    verifier = JwksVerifier(  # what every other service sees, through this app's JWKS
        "http://auth.test/api/auth/.well-known/jwks.json",
        issuer="parley-auth",
        audience="parley",
        http=httpx.AsyncClient(transport=httpx.ASGITransport(app)),
    )
    try:
        principal = await verifier.verify(body["access_token"])
    finally:
        await verifier.aclose()
    assert principal.is_guest and principal.guest_meeting_id == meeting_id
    # the token opens nothing of auth's own: /me refuses guests
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 403 and me.json()["detail"]["code"] == "guest_not_allowed"
    other = await _ask(client, meeting_id, "Gus")
    assert other.json()["guest"]["user_id"] != body["guest"]["user_id"]  # each guest is new


async def test_guests_are_refused_where_the_host_did_not_allow_them_or_the_meeting_ended(client, db, publish) -> None:
    closed = _meeting_id()
    await publish(_created(closed, allow_guests=False))
    refused = await _answer_once_applied(client, db, closed, lambda m: not m.allow_guests)
    assert (refused.status_code, refused.json()["detail"]["code"]) == (403, "guests_not_allowed")
    # the host allows guests later (meeting.updated), then ends the meeting
    await publish(MeetingUpdated(meeting_id=closed, allow_guests=True, updated_by="u-host", updated_at=datetime.now(UTC)))
    assert (await _answer_once_applied(client, db, closed, lambda m: m.allow_guests)).status_code == 201
    await publish(MeetingEnded(meeting_id=closed, ended_by="u-host", ended_at=datetime.now(UTC)))
    ended = await _answer_once_applied(client, db, closed, lambda m: m.ended)
    assert (ended.status_code, ended.json()["detail"]["code"]) == (410, "meeting_ended")


async def test_an_allow_guests_applied_after_the_end_does_not_reopen_the_meeting(db) -> None:
    store = MongoGuestMeetingStore(db[GUEST_MEETINGS])
    await store.set_ended("m-1")  # a redelivered meeting.created after meeting.ended
    await store.set_allow_guests("m-1", True)
    assert await store.get("m-1") == GuestMeeting("m-1", allow_guests=True, ended=True)
    assert await store.get("m-2") is None


async def test_bad_requests_are_422(client) -> None:
    for body in ({"meeting_id": "a/b", "display_name": "G"}, {"meeting_id": "abcd", "display_name": "  "}, {"meeting_id": "abcd"}):
        assert (await client.post("/api/auth/guests", json=body)).status_code == 422


async def test_guest_tokens_are_throttled_per_address(client, app) -> None:
    answers = [await _ask(client, _meeting_id()) for _ in range(9)]
    assert [a.status_code for a in answers[:8]] == [404] * 8
    assert answers[8].status_code == 429
    assert answers[8].json()["detail"]["code"] == "too_many_attempts"
    assert int(answers[8].headers["Retry-After"]) >= 1
