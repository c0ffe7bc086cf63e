"""Kafka: the FastStream router, the roster and contact consumers, the summary invalidations and the outbox relay.

Consumes ``participant.joined`` / ``participant.left`` (CloudEvents, :mod:`parley_events`)
from ``parley.participants`` in the consumer group ``settings.kafka_consumer_group``, in
batches (one Kafka fetch at a time). A batch is acknowledged (offsets committed) only after it
was processed; on a processing error it is redelivered (FastStream ``AckPolicy.NACK_ON_ERROR``
seeks back to its first record). A record that is not a
valid Parley event is logged, counted and skipped. Publishes this service's events only from
its outbox, through :class:`parley_events.OutboxRelay`.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from faststream import AckPolicy
from faststream.kafka.fastapi import KafkaRouter
from pymongo.asynchronous.collection import AsyncCollection

from parley_events import (
    BATCH_POLL_MS,
    CALL_EVENTS,
    FEED_BATCHES,
    LOBBY_EVENTS,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyUsed,
    ChatMessagePosted,
    ConsumedMessage,
    EventData,
    EventDecodeError,
    MeetingCancelled,
    MeetingCreated,
    MeetingEnded,
    MeetingExpired,
    MeetingJoined,
    MeetingRescheduled,
    MeetingRoleChanged,
    MeetingUpdated,
    OutboxRelay,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantRemoved,
    ReceivedEvent,
    RelayMetrics,
    apply_each_event,
    decoded_events,
    decoded_record,
    envelope_of,
    kafka_sender,
    raw_body,
    records_of,
    service_router,
)
from parley_events.contact_pairs import CONTACT_EVENTS
from parley_events.contact_pairs import add_contact_consumer as subscribe_contacts
from parley_events.topics import API_KEYS, CALLS, CHAT, MEETINGS, PARTICIPANTS
from parley_meetings.config import Settings

if TYPE_CHECKING:
    from parley_meetings.api_keys_repository import ApiKeyProjection


#: What meetings publishes on ``parley.meetings`` (and reads back to drop cached summaries).
MEETINGS_EVENTS = (
    MeetingCreated,
    MeetingJoined,
    MeetingUpdated,
    MeetingEnded,
    MeetingRescheduled,
    MeetingCancelled,
    MeetingExpired,
    *LOBBY_EVENTS,
    MeetingRoleChanged,
    ParticipantRemoved,
)

#: Applies one batch of participant events, in order.
ParticipantHandler = Callable[[list[ReceivedEvent]], Awaitable[object]]


def build_router(settings: Settings) -> KafkaRouter:
    """The FastStream router (its broker starts and stops with the app); its AsyncAPI document
    is served by :func:`parley_events.asyncapi_router` with :data:`CONSUMES`."""
    router = service_router(
        settings.kafka_bootstrap_servers,
        acks="all",  # durable events: every in-sync replica has it (min.insync.replicas)
        client_id=f"parley-meetings-{settings.instance_id}",
        description="Parley meetings: meeting.* events, roster from participant.* events",
    )
    # Declared for the AsyncAPI document only; the outbox relay does the publishing.
    for data in MEETINGS_EVENTS:
        router.publisher(
            MEETINGS.name,
            title=data.event_type.removeprefix("parley.meetings.").removesuffix(".v1"),
            description=f"CloudEvents type {data.event_type}, key = meeting id",
            schema=envelope_of(data),
        )
    for data in CALL_EVENTS:
        router.publisher(
            CALLS.name,
            title=data.event_type.removeprefix("parley.meetings.").removesuffix(".v1"),
            description=f"CloudEvents type {data.event_type}, key = call id",
            schema=envelope_of(data),
        )
    router.publisher(
        API_KEYS.name,
        title="api_key.used",
        description=f"CloudEvents type {ApiKeyUsed.event_type}, key = key id; at most once a minute per key",
        schema=envelope_of(ApiKeyUsed),
    )
    return router


#: What the subscriber channels take (their handlers read raw records, so FastStream cannot tell).
CONSUMES = {
    "participants": (ParticipantJoined, ParticipantLeft),
    "meetings": MEETINGS_EVENTS,
    "contacts": CONTACT_EVENTS,
    "api-keys": (ApiKeyCreated, ApiKeyRevoked),
    # the webhook dispatcher's one subscriber reads three topics: FastStream names a channel per topic
    f"webhooks:{MEETINGS.name}": (MeetingCreated, MeetingEnded, MeetingExpired),
    f"webhooks:{PARTICIPANTS.name}": (ParticipantJoined, ParticipantLeft),
    f"webhooks:{CHAT.name}": (ChatMessagePosted,),
}


#: Records handed to the roster handler at most at once (one Kafka fetch).
BATCH_MAX_RECORDS = 200


def add_participant_consumer(
    router: KafkaRouter,
    settings: Settings,
    handle: ParticipantHandler,
    on_malformed: Callable[[], None],
) -> None:
    """Subscribe ``handle`` to ``parley.participants`` (consumer group from settings), in
    batches: whatever one fetch returned (up to :data:`BATCH_MAX_RECORDS`, in partition order)
    goes to ``handle`` as one list, and the batch is committed once ``handle`` returned. A
    failing ``handle`` gets the whole batch again (it must be idempotent: dedupe by event id).
    Malformed records are logged, counted (again when their batch comes again) and left out of
    the list."""

    _subscribe_in_batches(
        router,
        (PARTICIPANTS.name,),
        group_id=settings.kafka_consumer_group,
        auto_offset_reset=settings.kafka_auto_offset_reset,
        handle=handle,
        on_malformed=on_malformed,
        title="participants",
        description="participant.joined / participant.left: keeps each meeting's roster",
    )


def _subscribe_in_batches(
    router: KafkaRouter,
    topics: Sequence[str],
    *,
    group_id: str,
    auto_offset_reset: str,
    handle: ParticipantHandler,
    on_malformed: Callable[[], None],
    title: str,
    description: str,
    fetch_wait_ms: int = 0,
) -> None:
    """``handle`` gets the valid events of each fetch of ``topics`` in the consumer group
    ``group_id`` as one list (up to :data:`BATCH_MAX_RECORDS`); the batch is committed once it
    returned, and comes again whole when it raised (:func:`add_participant_consumer`). With
    ``fetch_wait_ms``, Kafka holds each fetch that long (or until a MiB came) rather than
    answering at the first record: larger batches, each event up to that much later."""
    fetching = {"fetch_min_bytes": 1 << 20, "fetch_max_wait_ms": fetch_wait_ms} if fetch_wait_ms else {}

    @router.subscriber(
        *topics,
        group_id=group_id,
        auto_offset_reset=auto_offset_reset,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
        batch=True,
        max_records=BATCH_MAX_RECORDS,
        batch_timeout_ms=BATCH_POLL_MS,
        title=title,
        description=description,
        **fetching,
    )
    async def on_events(message: ConsumedMessage) -> None:
        events = decoded_events(message, on_malformed)
        if events:
            await handle(events)


def contacts_group(settings: Settings) -> str:
    """The consumer group of the contact projection: ``{PARLEY_KAFKA_CONSUMER_GROUP}-contacts``."""
    return f"{settings.kafka_consumer_group}-contacts"


def add_contact_consumer(
    router: KafkaRouter,
    settings: Settings,
    handle: ParticipantHandler,
    on_malformed: Callable[[], None],
) -> None:
    """Subscribe ``handle`` to auth's ``parley.contacts`` in the consumer group
    :func:`contacts_group`, in batches (:func:`parley_events.contact_pairs.add_contact_consumer`)."""
    subscribe_contacts(
        router,
        group_id=contacts_group(settings),
        auto_offset_reset=settings.kafka_auto_offset_reset,
        handle=handle,
        on_malformed=on_malformed,
        description="contact.* and user.blocked/unblocked: who may call whom (meetings' contact projection)",
    )


def webhooks_group(settings: Settings) -> str:
    """The consumer group of the webhook dispatcher: ``{PARLEY_KAFKA_CONSUMER_GROUP}-webhooks``."""
    return f"{settings.kafka_consumer_group}-webhooks"


#: The topics the webhook dispatcher reads.
WEBHOOK_TOPICS = (MEETINGS, PARTICIPANTS, CHAT)
#: How long Kafka holds a fetch of the webhook dispatcher (ms): a busy meeting's chat events then
#: come in batches of many, and each batch costs one read of its hosts' endpoints and one commit.
WEBHOOK_FETCH_WAIT_MS = 100


def add_webhook_consumer(
    router: KafkaRouter,
    settings: Settings,
    handle: ParticipantHandler,
    on_malformed: Callable[[], None],
) -> None:
    """Subscribe the webhook dispatcher ``handle`` to ``parley.meetings``, ``parley.participants``
    and ``parley.chat`` in the consumer group :func:`webhooks_group` (its own: it reads every
    record whatever the roster consumer does), in batches, as :func:`add_participant_consumer`
    does: a batch is committed only once ``handle`` stored its deliveries in the delivery log,
    and a failing one comes again (``handle`` is idempotent: delivery ids derive from event
    ids). Each fetch waits :data:`WEBHOOK_FETCH_WAIT_MS`."""

    _subscribe_in_batches(
        router,
        [topic.name for topic in WEBHOOK_TOPICS],
        group_id=webhooks_group(settings),
        auto_offset_reset=settings.kafka_auto_offset_reset,
        handle=handle,
        on_malformed=on_malformed,
        title="webhooks",
        description="meeting.*, participant.* and chat.message.posted: the webhook deliveries of the hosts' endpoints",
        fetch_wait_ms=WEBHOOK_FETCH_WAIT_MS,
    )


#: Events that change nothing a summary shows: a replica keeps its cached summary on these.
KEEPS_SUMMARY = (MeetingCreated, MeetingJoined, *LOBBY_EVENTS)


def add_meeting_event_consumer(router: KafkaRouter, forget: Callable[[str], None]) -> None:
    """Subscribe every replica (no consumer group, from the end) to ``parley.meetings``, this
    service's own events: ``forget(meeting_id)`` for each record but those of
    :data:`KEEPS_SUMMARY`, so that a replica's cached summary of a meeting changed on another
    replica is dropped (:mod:`parley_meetings.domain.summaries`). A record that is not a valid
    Parley event drops the summary of its key (the meeting id): when in doubt, read again."""

    @router.subscriber(
        MEETINGS.name,
        group_id=None,
        auto_offset_reset="latest",
        decoder=raw_body,
        **FEED_BATCHES,
        title="meetings",
        description="meeting.* events but created and joined (and lobby.*): this replica forgets its cached summary of the meeting",
    )
    async def on_meeting_events(message: ConsumedMessage) -> None:
        for record in records_of(message):
            try:
                event = decoded_record(record)
            except EventDecodeError:
                if record.key:
                    forget(record.key.decode(errors="replace"))
                continue
            if not isinstance(event.data, KEEPS_SUMMARY):
                forget(event.subject or (record.key or b"").decode(errors="replace"))


def add_api_key_consumer(
    router: KafkaRouter, settings: Settings, projection: Callable[[], "ApiKeyProjection"]
) -> None:
    """Keep the projection of auth's API keys from ``parley.api_keys`` (consumer group
    ``settings.api_keys_consumer_group``, from the topic's start the first time): ``api_key.created``
    adds a key, ``api_key.revoked`` refuses it from then on; meetings' own ``api_key.used`` is
    skipped. A record is committed once applied (a failure redelivers it; applying twice changes
    nothing); a malformed one is logged and skipped."""

    @router.subscriber(
        API_KEYS.name,
        group_id=settings.api_keys_consumer_group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
        title="api-keys",
        description="api_key.created / api_key.revoked from auth: the keys meetings accepts",
    )
    async def on_api_key_event(message: ConsumedMessage) -> None:
        await apply_each_event(message, apply)

    async def apply(data: EventData) -> None:
        if isinstance(data, ApiKeyCreated):
            await projection().apply_created(data)
        elif isinstance(data, ApiKeyRevoked):
            await projection().apply_revoked(data)


def outbox_relay(
    router: KafkaRouter,
    collections: Sequence[AsyncCollection],
    poll_interval_s: float,
    metrics: RelayMetrics | None = None,
) -> OutboxRelay:
    """An :class:`OutboxRelay` over ``collections`` (meetings, calls, the API keys' last use) publishing
    through the router's broker; start it once the broker started. Every replica runs one (see
    :class:`OutboxRelay`)."""
    return OutboxRelay(list(collections), kafka_sender(router.broker), poll_interval_s=poll_interval_s, metrics=metrics)


async def kafka_ready(router: KafkaRouter) -> None:
    """Readiness check: raises unless the Kafka cluster answers."""
    if not await router.broker.ping(timeout=1.5):
        raise ConnectionError("Kafka does not answer")
