"""Webhooks against the real Kafka and FerretDB of the test stack (app in-process), with a
receiver on loopback: the host's endpoint receives ``meeting.created``, ``meeting.started``,
``participant.joined`` and ``meeting.ended`` signed as Standard Webhooks says (verified with
the reference verifier), a delivery the receiver answered 500 twice comes a third time and
succeeds, the delivery log shows it and replays it; management needs ``webhooks:manage`` and
stays within the owner's endpoints."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import uvicorn
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley_events import ApiKeyCreated, ParticipantJoined
from parley_meetings.messaging import WEBHOOK_TOPICS, webhooks_group
from parley_security.api_keys import new_secret as new_api_key, secret_hash
from parley_testing import commit_group_at_end

pytestmark = pytest.mark.integration

# A webhook receiver: a Starlette app served by uvicorn on 127.0.0.1 (an ephemeral port) that
# records every request and answers 500 to the first requests of the types in ``failing``.


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it, and the status it answered."""

    headers: dict[str, str]
    body: str
    status: int

    @property
    def type(self) -> str:
        return json.loads(self.body)["type"]


@dataclass
class Receiver:
    url: str = ""
    failing: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.type == event_type]

    async def handle(self, request: Request) -> Response:
        body = (await request.body()).decode()
        event_type = json.loads(body)["type"]
        status = 200
        if self.failing.get(event_type, 0) > 0:
            self.failing[event_type] -= 1
            status = 500
        self.received.append(Received(dict(request.headers), body, status))
        return Response(status_code=status)


@asynccontextmanager
async def receiving(failing: dict[str, int] | None = None) -> AsyncIterator[Receiver]:
    """A running receiver at ``receiver.url`` (``http://127.0.0.1:<port>/hook``)."""
    receiver = Receiver(failing=dict(failing or {}))
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await serving


SUBSCRIBED = ["meeting.created", "meeting.started", "participant.joined", "meeting.ended"]
#: The endpoints' owner, one per test process: a meeting another test creates for its own
#: "alice" at the same moment (its ``meeting.created`` names its host) is not hers.
ALICE = f"alice-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def settings(settings, stack):
    """Short retries (0.02 s base: the second retry comes 1.2 s after the first), a quick
    poll, and the dispatcher's consumer group starting at the topics' ends."""
    for topic in WEBHOOK_TOPICS:
        await commit_group_at_end(stack.kafka_bootstrap_servers, webhooks_group(settings), topic)
    return settings.model_copy(update={"webhook_retry_base_s": 0.02, "webhook_poll_interval_s": 0.1})


async def register(client, owner: str, url: str, **headers: str) -> dict:
    answer = await client.http.post(
        "/api/webhooks", json={"url": url, "event_types": SUBSCRIBED, "description": "test"},
        headers=headers or client.auth(owner),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_the_host_receives_signed_events_and_a_retry_after_two_500s(client, produce, wait_until) -> None:
    async with receiving(failing={"meeting.created": 2}) as receiver:
        endpoint = await register(client, ALICE, receiver.url)
        verifier = Webhook(endpoint["secret"])
        others = await client.create("bob", title="Not Alice's")
        meeting = await client.create(ALICE, title="Kick-off")
        meeting_id = meeting["meeting_id"]
        await produce(ParticipantJoined(
            meeting_id=meeting_id, user_id="carol", display_name="Carol", sid="sid-1",
            replica_id="signaling-1", joined_at=datetime.now(UTC),
        ))
        await wait_until(lambda: _async(receiver.of_type("participant.joined")))
        ended = await client.http.post(f"/api/meetings/{meeting_id}/end", headers=client.auth(ALICE))
        assert ended.status_code == 200, ended.text

        def delivered(event_type: str) -> list:
            return [r for r in receiver.of_type(event_type) if r.status == 200]

        await wait_until(lambda: _async(all(delivered(t) for t in SUBSCRIBED)), timeout_s=30)

    for received in receiver.received:  # every request, the failed ones too, is signed
        payload = verifier.verify(received.body, received.headers)
        assert payload["data"]["meeting_id"] == meeting_id
    assert not any(others["meeting_id"] in r.body for r in receiver.received)  # bob's meeting: not alice's webhooks
    created = receiver.of_type("meeting.created")
    assert [r.status for r in created] == [500, 500, 200]
    assert len({r.headers["webhook-id"] for r in created}) == 1  # the same message, retried
    assert len({r.body for r in created}) == 1
    assert verifier.verify(created[-1].body, created[-1].headers)["data"]["title"] == "Kick-off"
    assert verifier.verify(delivered("participant.joined")[0].body, delivered("participant.joined")[0].headers)["data"]["user_id"] == "carol"
    started = verifier.verify(delivered("meeting.started")[0].body, delivered("meeting.started")[0].headers)
    assert started["data"]["host_id"] == ALICE and started["data"]["first_participant_id"] == "carol"
    assert verifier.verify(delivered("meeting.ended")[0].body, delivered("meeting.ended")[0].headers)["data"]["ended_by"] == ALICE

    # the delivery log: newest first, paged, the retried delivery with its three attempts
    log_url = f"/api/webhooks/{endpoint['endpoint_id']}/deliveries"
    first = await client.http.get(log_url, params={"limit": 2}, headers=client.auth(ALICE))
    assert first.status_code == 200, first.text
    rest = await client.http.get(log_url, params={"limit": 10, "cursor": first.json()["next_cursor"]}, headers=client.auth(ALICE))
    deliveries = first.json()["deliveries"] + rest.json()["deliveries"]
    assert rest.json()["next_cursor"] is None
    assert sorted(d["event_type"] for d in deliveries) == sorted(SUBSCRIBED)
    logged = next(d for d in deliveries if d["event_type"] == "meeting.created")
    assert (logged["state"], logged["attempts"], logged["last_status_code"]) == ("succeeded", 3, 200)
    assert logged["delivery_id"] == created[0].headers["webhook-id"]


async def test_the_owner_replays_a_delivery(client, wait_until) -> None:
    async with receiving() as receiver:
        endpoint = await register(client, ALICE, receiver.url)
        await client.create(ALICE, title="Replayed")
        await wait_until(lambda: _async(receiver.of_type("meeting.created")))
        log_url = f"/api/webhooks/{endpoint['endpoint_id']}/deliveries"

        async def succeeded() -> dict | None:
            page = (await client.http.get(log_url, headers=client.auth(ALICE))).json()["deliveries"]
            return page[0] if page and page[0]["state"] == "succeeded" else None

        delivery = await wait_until(succeeded)
        replay_url = f"{log_url}/{delivery['delivery_id']}/replay"
        assert (await client.http.post(replay_url, headers=client.auth("bob"))).status_code == 404
        replayed = await client.http.post(replay_url, headers=client.auth(ALICE))
        assert replayed.status_code == 202, replayed.text
        assert replayed.json()["state"] == "pending"
        await wait_until(lambda: _async(len(receiver.of_type("meeting.created")) == 2))
    first, again = receiver.of_type("meeting.created")
    assert again.headers["webhook-id"] == first.headers["webhook-id"] and again.body == first.body
    Webhook(endpoint["secret"]).verify(again.body, again.headers)
    assert (await wait_until(succeeded))["attempts"] == 2


async def test_managing_endpoints_needs_the_scope_and_stays_within_the_owner(client, produce, wait_until) -> None:
    manage, read_only = new_api_key(), new_api_key()
    for secret, scopes in ((manage, ["webhooks:manage"]), (read_only, ["meetings:read", "meetings:write"])):
        key_id = f"key_{uuid.uuid4().hex[:12]}"
        await produce(ApiKeyCreated(
            key_id=key_id, owner_id=ALICE, owner_name="Alice", name="app", scopes=scopes,
            secret_hash=secret_hash(secret), created_at=datetime.now(UTC),
        ))
        await wait_until(lambda key_id=key_id: client.app.state.api_keys.collection.find_one({"_id": key_id}))
    url = "http://127.0.0.1:9/hook"
    refused = await client.http.post("/api/webhooks", json={"url": url, "event_types": SUBSCRIBED}, headers={"X-API-Key": read_only})
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "insufficient_scope"
    endpoint = await register(client, ALICE, url, **{"X-API-Key": manage})
    assert endpoint["secret"].startswith("whsec_")

    listed = await client.http.get("/api/webhooks", headers=client.auth(ALICE))  # her token sees it too
    assert [e["endpoint_id"] for e in listed.json()["endpoints"]] == [endpoint["endpoint_id"]]
    assert "secret" not in listed.json()["endpoints"][0]
    one = f"/api/webhooks/{endpoint['endpoint_id']}"
    assert (await client.http.get(one, headers=client.auth("bob"))).json()["detail"]["code"] == "webhook_not_found"
    assert (await client.http.get("/api/webhooks", headers=client.auth("bob"))).json() == {"endpoints": []}

    rotated = await client.http.post(f"{one}/rotate-secret", headers={"X-API-Key": manage})
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (endpoint["secret"], None)

    for bad in ("http://hooks.example.com/h", "ftp://127.0.0.1/h", "https://u:p@hooks.example.com/", "https://exa mple.com/"):
        answer = await client.http.post("/api/webhooks", json={"url": bad, "event_types": ["meeting.created"]}, headers=client.auth(ALICE))
        assert answer.status_code == 422 and [e["type"] for e in answer.json()["detail"]] == ["invalid_webhook_url"], bad
    unknown_type = await client.http.post("/api/webhooks", json={"url": url, "event_types": ["meeting.exploded"]}, headers=client.auth(ALICE))
    assert unknown_type.status_code == 422

    assert (await client.http.delete(one, headers=client.auth("bob"))).status_code == 404
    assert (await client.http.delete(one, headers={"X-API-Key": manage})).status_code == 204
    assert (await client.http.get(one, headers=client.auth(ALICE))).status_code == 404


async def _async(value):
    return value
