"""Webhooks without a stack: which URLs are accepted (SSRF), the retry schedule, that a
signature made by meetings verifies with the Standard Webhooks reference verifier, and what
the dispatcher reads per batch of events."""

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from parley_events import ChatMessagePosted, ParticipantJoined, ReceivedEvent
from prometheus_client import CollectorRegistry

from parley_meetings.domain.errors import InvalidWebhookUrl
from parley_meetings.domain.webhook_delivery import DeliveryConfig, DeliveryWorker
from parley_meetings.domain import webhook_dispatch
from parley_meetings.domain.webhook_dispatch import WebhookDispatcher, body, delivery_id
from parley_meetings.domain.webhook_models import WebhookDelivery, WebhookEndpoint
from parley_meetings.domain.webhook_retries import MAX_ATTEMPTS, retry_delay
from parley_meetings.domain.webhook_signing import new_secret, signed_headers
from parley_meetings.domain.webhook_urls import check_destination, check_shape
from parley_meetings.metrics import WebhookMetrics


def resolving_to(*addresses: str):
    async def resolver(host: str) -> list[str]:
        return list(addresses)

    return resolver


async def never_resolves(host: str) -> list[str]:
    raise AssertionError(f"{host} must not be resolved here")


@pytest.mark.parametrize(
    ("url", "environment"),
    [
        ("https://hooks.example.com/parley", "production"),
        ("https://hooks.example.com:8443/p?x=1", "production"),
        ("http://127.0.0.1:8123/hook", "local"),
        ("http://localhost/hook", "local"),
        ("http://[::1]:9000/hook", "local"),
        ("https://10.1.2.3/hook", "local"),  # development: https anywhere
        ("https://bücher.example/hook", "production"),  # an internationalised name (IDNA)
        ("https://Hooks.Example.COM./hook", "production"),  # any case, the root's dot
        ("https://[2001:db8::1]:8443/hook", "production"),
    ],
)
def test_accepted_shapes(url: str, environment: str) -> None:
    assert check_shape(url, environment).hostname


@pytest.mark.parametrize(
    ("url", "environment"),
    [
        ("http://127.0.0.1:8123/hook", "production"),  # http never in production
        ("http://hooks.example.com/hook", "local"),  # http only to loopback
        ("http://192.168.1.10/hook", "local"),
        ("ftp://hooks.example.com/hook", "local"),
        ("https://user:pw@hooks.example.com/hook", "production"),
        ("https://hooks.example.com/hook#frag", "production"),
        ("https:///nohost", "production"),
        ("https://hooks.example.com:99999/", "production"),
        ("not a url", "production"),
        ("https://hooks.example.com/" + "a" * 2000, "production"),
    ],
)
def test_refused_shapes(url: str, environment: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_shape(url, environment)


@pytest.mark.parametrize(
    "url",
    [
        "https://exa mple.com/",  # a space: no DNS name has one
        "https://exa%20mple.com/",
        "https://hooks_1.example.com/",
        "https://-hooks.example.com/",
        "https://hooks..example.com/",
        "https://" + "a" * 64 + ".example.com/",  # a label longer than 63
        "https://xn--zz.example/",  # not punycode
        "https://[v1.future]/",  # brackets hold an IPv6 address only
        "https://127.1/",  # IPv4 shorthands a resolver still reads as an address
        "https://0x7f000001/",
        "https://2130706433/",
        "https://exa\tmple.com/",  # urlsplit would drop the tab and judge example.com
        "https://example.com/a\nb",
    ],
)
@pytest.mark.parametrize("environment", ["local", "production"])
def test_a_host_that_is_no_dns_name_nor_ip_literal_is_refused(url: str, environment: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_shape(url, environment)


@pytest.mark.parametrize(
    "address",
    ["10.0.0.5", "172.16.3.4", "192.168.0.1", "127.0.0.1", "169.254.169.254", "100.64.0.1", "224.0.0.1",
     "0.0.0.0", "240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "ff02::1"],
)
async def test_production_refuses_a_host_resolving_to_a_non_public_address(address: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match="public addresses only"):
        await check_destination("https://hooks.example.com/h", "production", resolving_to("93.184.216.34", address))


@pytest.mark.parametrize("literal", ["https://169.254.169.254/latest", "https://[::1]/h", "https://10.0.0.1/h"])
async def test_production_refuses_a_private_literal_address(literal: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        await check_destination(literal, "production", never_resolves)


async def test_production_accepts_a_host_resolving_to_public_addresses_only() -> None:
    await check_destination("https://hooks.example.com/h", "production", resolving_to("93.184.216.34", "2606:2800:220:1::1"))


async def test_production_refuses_a_host_that_resolves_to_nothing() -> None:
    with pytest.raises(InvalidWebhookUrl, match="does not resolve"):
        await check_destination("https://hooks.example.com/h", "production", resolving_to())


async def test_local_development_resolves_nothing() -> None:
    await check_destination("http://127.0.0.1:9/h", "local", never_resolves)


def test_the_retry_schedule_is_standard_webhooks_and_lasts_more_than_a_day() -> None:
    delays = [retry_delay(n, 5.0, rand=lambda: 0.0) for n in range(1, MAX_ATTEMPTS)]
    assert delays == [
        timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
        timedelta(hours=5), timedelta(hours=10), timedelta(hours=10),
    ]
    assert sum(delays, timedelta()) >= timedelta(hours=24)
    assert retry_delay(MAX_ATTEMPTS, 5.0) is None  # exhausted: the delivery failed
    assert retry_delay(0, 5.0) is None


def test_jitter_only_stretches_a_delay_by_at_most_a_tenth() -> None:
    assert retry_delay(2, 5.0, rand=lambda: 0.999) < timedelta(minutes=5) * 1.1
    assert retry_delay(2, 5.0, rand=lambda: 0.5) == timedelta(minutes=5) * 1.05
    assert retry_delay(1, 0.01, rand=lambda: 0.0) == timedelta(seconds=0.01)  # tests' short base


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_a_signature_verifies_with_the_reference_verifier() -> None:
    secret = new_secret()
    payload = body("meeting.created", datetime.now(UTC), {"meeting_id": "abcd-efgh-ijkl", "title": "Stand-up ☕"})
    headers = signed_headers(secret, "msg_1", datetime.now(UTC), payload)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(payload, headers)["data"]["title"] == "Stand-up ☕"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(payload.replace("Stand-up", "Stand-down"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(payload, headers)
    stale = signed_headers(secret, "msg_1", datetime.now(UTC) - timedelta(minutes=10), payload)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(payload, stale)


def test_a_delivery_id_is_stable_per_endpoint_event_and_type() -> None:
    assert delivery_id("we_1", "ev-1", "meeting.created") == delivery_id("we_1", "ev-1", "meeting.created")
    assert len({delivery_id("we_1", "ev-1", "meeting.created"), delivery_id("we_2", "ev-1", "meeting.created"),
                delivery_id("we_1", "ev-1", "meeting.started")}) == 3


class CountingRepository:
    """The dispatcher's side of WebhookRepository, in memory, counting the store's reads."""

    def __init__(self, endpoints: dict[str, list[WebhookEndpoint]]) -> None:
        self.endpoints, self.reads, self.owner_reads, self.enqueued, self.rev = endpoints, 0, 0, [], 0

    async def endpoint_owners(self) -> set[str]:
        self.owner_reads += 1
        return {owner for owner, endpoints in self.endpoints.items() if endpoints}

    async def endpoints_of(self, owner_id: str) -> list[WebhookEndpoint]:
        self.reads += 1
        return self.endpoints.get(owner_id, [])

    async def endpoints_rev(self) -> int:
        return self.rev

    async def mark_started(self, meeting_id: str, event_id: str) -> bool:
        return False

    async def enqueue(self, delivery: WebhookDelivery) -> bool:
        self.enqueued.append(delivery)
        return True


async def test_a_meetings_host_is_read_once_and_a_hosts_endpoints_until_an_endpoint_changes() -> None:
    now = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    endpoint = WebhookEndpoint(endpoint_id="ep_1", owner_id="host-a", url="https://hooks.example.com/p",
                               event_types=("chat.message.posted",), secret=new_secret(), created_at=now)
    repository = CountingRepository({"host-a": [endpoint]})
    host_reads: list[str] = []

    async def host_of(meeting_id: str) -> str | None:
        host_reads.append(meeting_id)
        return {"m-a1": "host-a", "m-a2": "host-a", "m-b": "host-b"}.get(meeting_id)

    def posted(n: int, meeting_id: str) -> ReceivedEvent:
        data = ChatMessagePosted(meeting_id=meeting_id, message_id=f"msg-{n}", sender_id="u", sender_name="U",
                                 text=f"hello {n}", posted_at=now, seq=n)
        return ReceivedEvent(id=f"ev-{n}", type=data.event_type, source="/parley/chat", subject=meeting_id,
                             time=now, data=data)

    wakes: list[None] = []
    dispatcher = WebhookDispatcher(repository, host_of, clock=lambda: now, wake=lambda: wakes.append(None))
    batch = [posted(n, meeting) for n, meeting in enumerate(["m-a1", "m-a1", "m-a2", "m-x", "m-a1", "m-x", "m-b"])]
    assert await dispatcher.apply(batch) == 4  # every message of host-a's meetings, none of m-x or m-b
    assert sorted(host_reads) == ["m-a1", "m-a2", "m-b", "m-x", "m-x"]  # once per meeting with a host
    # the owners with an endpoint once per batch at most; host-a's endpoints once, host-b's none
    assert repository.owner_reads == 1 and repository.reads == 1
    assert [d.event_id for d in repository.enqueued] == ["ev-0", "ev-1", "ev-2", "ev-4"] and wakes == [None]
    # the next batch: the hosts found are remembered (a meeting's host never changes), not that
    # a meeting had none (it may be created the next moment); so are the owners and the
    # endpoints, while the store's revision of the endpoints stays the same
    assert await dispatcher.apply([posted(7, "m-a1"), posted(8, "m-x"), posted(9, "m-b")]) == 1
    assert sorted(host_reads) == ["m-a1", "m-a2", "m-b", "m-x", "m-x", "m-x"]
    assert repository.owner_reads == 1 and repository.reads == 1
    # an endpoint created (the store's revision raised): read again, and its events follow,
    # host-b's first one included
    second = endpoint.model_copy(update={"endpoint_id": "ep_2"})
    repository.endpoints["host-a"] = [endpoint, second]
    repository.endpoints["host-b"] = [endpoint.model_copy(update={"endpoint_id": "ep_3", "owner_id": "host-b"})]
    repository.rev += 1
    assert await dispatcher.apply([posted(10, "m-a2"), posted(11, "m-b")]) == 3
    assert repository.owner_reads == 2 and repository.reads == 3


async def test_the_hosts_endpoints_are_read_again_after_a_minute_whatever_the_revision() -> None:
    now = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    endpoint = WebhookEndpoint(endpoint_id="ep_1", owner_id="host-a", url="https://hooks.example.com/p",
                               event_types=("chat.message.posted",), secret=new_secret(), created_at=now)
    repository = CountingRepository({"host-a": [endpoint]})
    clock = [now]

    async def host_of(meeting_id: str) -> str | None:
        return "host-a"

    joined = ParticipantJoined(meeting_id="m-a1", user_id="u", display_name="U", sid="s", replica_id="r", joined_at=now)
    event = ReceivedEvent(id="ev-1", type=joined.event_type, source="/parley/signaling", subject="m-a1", time=now, data=joined)
    dispatcher = WebhookDispatcher(repository, host_of, clock=lambda: clock[0], wake=lambda: None)
    await dispatcher.apply([event])
    clock[0] += webhook_dispatch.ENDPOINTS_KEPT
    await dispatcher.apply([event])
    assert repository.owner_reads == 1 and repository.reads == 1
    clock[0] += timedelta(seconds=1)
    await dispatcher.apply([event])
    assert repository.owner_reads == 2 and repository.reads == 2


class LaneRepository:
    """The worker's side of WebhookRepository, in memory: ``due`` deliveries to claim, and
    which lane (task name) asked for a claim and which claimed what."""

    def __init__(self, due: list[WebhookDelivery]) -> None:
        self.due, self.asked, self.claimed = due, [], []
        self.slow: dict[str, asyncio.Event] = {}  # delivery id -> its attempt's write waits for this

    async def claim(self, now: datetime, lease_until: datetime) -> tuple[WebhookDelivery, str] | None:
        lane = asyncio.current_task().get_name()  # type: ignore[union-attr]
        self.asked.append(lane)
        if not self.due:
            return None
        delivery = self.due.pop(0)
        self.claimed.append((lane, delivery.delivery_id))
        return delivery, "token"

    async def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        return None  # deleted: the attempt fails without a request

    async def finish(self, delivery_id: str, token: str, changes: dict) -> bool:
        await asyncio.sleep(0.05)  # the store's write: the lane is busy meanwhile
        if delivery_id in self.slow:
            await self.slow[delivery_id].wait()
        return True


def _worker(repository: LaneRepository, lanes: int, poll_interval_s: float) -> DeliveryWorker:
    config = DeliveryConfig(environment="development", retry_base_s=5, poll_interval_s=poll_interval_s, timeout_s=5, lanes=lanes)
    return DeliveryWorker(
        repository,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]  # no request is sent: the endpoint is gone
        config,
        WebhookMetrics(CollectorRegistry()),
        clock=lambda: datetime(2026, 12, 4, 17, 0, tzinfo=UTC),
    )


def _delivery(n: int) -> WebhookDelivery:
    at = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    return WebhookDelivery(delivery_id=f"msg_{n}", endpoint_id="ep_gone", owner_id="u1", event_type="meeting.started",
                           event_id=f"e{n}", meeting_id="m1", payload="{}", state="delivering", next_attempt_at=at, created_at=at)


async def test_an_idle_replica_asks_the_store_once_per_poll_interval_not_once_per_lane() -> None:
    repository = LaneRepository([])
    task = asyncio.create_task(_worker(repository, lanes=4, poll_interval_s=0.01).run())
    try:
        async with asyncio.timeout(30):
            while repository.asked.count("webhook-lane-0") < 6:
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    for lane in ("webhook-lane-1", "webhook-lane-2", "webhook-lane-3"):
        assert repository.asked.count(lane) == 1  # its first look at start-up, then only a wake


async def test_a_delivery_found_by_the_poll_wakes_the_other_lanes() -> None:
    repository = LaneRepository([])
    task = asyncio.create_task(_worker(repository, lanes=4, poll_interval_s=0.01).run())
    try:
        async with asyncio.timeout(30):
            while len(repository.asked) < 4:  # every lane looked once and waits
                await asyncio.sleep(0.005)
            repository.due.extend(_delivery(n) for n in range(6))  # retries coming due: no wake()
            while len(repository.claimed) < 6:
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(d for _, d in repository.claimed) == [f"msg_{n}" for n in range(6)]
    assert len({lane for lane, _ in repository.claimed}) > 1  # not lane 0 alone


async def test_while_the_polling_lane_sends_another_lane_polls() -> None:
    repository = LaneRepository([])
    repository.slow["msg_0"] = asyncio.Event()  # a slow endpoint: its attempt takes a while
    task = asyncio.create_task(_worker(repository, lanes=2, poll_interval_s=0.01).run())
    try:
        async with asyncio.timeout(30):
            while len(repository.asked) < 2:
                await asyncio.sleep(0.005)
            repository.due.append(_delivery(0))  # found by the poll (no wake)
            while len(repository.claimed) < 1:
                await asyncio.sleep(0.005)
            repository.due.append(_delivery(1))  # a retry coming due while msg_0 is being sent
            while len(repository.claimed) < 2:
                await asyncio.sleep(0.005)
            assert not repository.slow["msg_0"].is_set()  # msg_1 did not wait for msg_0's attempt
    finally:
        repository.slow["msg_0"].set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    (first_lane, _), (second_lane, _) = repository.claimed
    assert first_lane != second_lane


def test_the_openapi_document_declares_every_webhook_message_as_it_is_sent() -> None:
    """OpenAPI 3.1 ``webhooks``: one operation per event type an endpoint may subscribe to, and
    the body the dispatcher sends validates against its documented schema."""
    from datetime import UTC, datetime

    from fastapi import FastAPI

    from parley_meetings.api.webhook_messages import DATA, SUMMARIES, document_webhooks, message_model
    from parley_meetings.domain.webhook_dispatch import body
    from parley_meetings.domain.webhook_models import EVENT_TYPES, MeetingStartedData

    app = FastAPI()
    document_webhooks(app)
    webhooks = app.openapi()["webhooks"]
    assert set(webhooks) == set(EVENT_TYPES) == set(SUMMARIES) == set(DATA)
    started = webhooks["meeting.started"]["post"]
    assert {p["name"] for p in started["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    now = datetime.now(UTC)
    data = MeetingStartedData(meeting_id="abcd-efgh-ijkl", host_id="u1", started_at=now, first_participant_id="u2")
    sent = body("meeting.started", now, data.model_dump(mode="json"))
    message = message_model("meeting.started", MeetingStartedData).model_validate_json(sent)
    assert message.data == data


@pytest.mark.parametrize("url", ["https://hooks.example.com:99999/", "https://[::1x]/", "https://hooks.example.com:port/"])
def test_an_unreadable_port_or_address_is_refused_in_parleys_words(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl) as refused:
        check_shape(url, "production")
    assert str(refused.value) == "not a URL (its port or its address in brackets cannot be read)"
