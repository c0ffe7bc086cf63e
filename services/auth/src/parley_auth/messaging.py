"""Kafka for auth: the FastStream router (its lifespan connects the broker), the outbox
relay that publishes staged events (``user.registered`` to ``parley.users``, ``contact.*`` and
``user.blocked``/``unblocked`` to ``parley.contacts``, ``presence.changed`` to
``parley.presence``, ``session.revoked`` to ``parley.sessions``, ``api_key.created``/``revoked``
to ``parley.api_keys``), the presence consumer, the consumer of signaling's ``session.active``
heartbeats (``parley.sessions.activity``) that renews single-session leases, and the consumer
of meetings' ``api_key.used`` marks (the keys' last use), and the consumer of
``parley.meetings`` that keeps the guest projection (:mod:`parley_auth.domain.guests`).

The presence consumer reads ``parley.presence`` in the consumer group
``settings.presence_consumer_group`` (from ``settings.presence_offset_reset`` the first time), a
fetch at a time (up to :data:`PRESENCE_BATCH_RECORDS` records, applied as one batch by
:meth:`PresenceProjection.apply`), and commits a fetch only after it was applied (FastStream
``AckPolicy.NACK_ON_ERROR``: a failure redelivers it whole). Its own ``presence.changed``
records are skipped; a malformed record is logged and skipped.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from faststream import AckPolicy
from faststream.kafka.fastapi import KafkaRouter
from pymongo.asynchronous.collection import AsyncCollection

from parley_auth.config import Settings
from parley_auth.domain.presence import PresenceProjection
from parley_auth.domain.api_keys import ApiKeys
from parley_auth.domain.guests import GuestMeetings
from parley_events import (
    BATCH_POLL_MS,
    FEED_BATCHES,
    MEETING_CLOSED,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyUsed,
    ConsumedMessage,
    ContactAccepted,
    ContactDeclined,
    ContactInvited,
    ContactRemoved,
    EventData,
    MeetingCreated,
    MeetingUpdated,
    OutboxRelay,
    PresenceChanged,
    PresenceReplicaLost,
    PresenceSocket,
    RelayMetrics,
    SessionActive,
    SessionRevoked,
    UserBlocked,
    UserRegistered,
    UserUnblocked,
    apply_each_event,
    decoded_events,
    envelope_of,
    kafka_sender,
    raw_body,
    service_router,
)
from parley_events.topics import API_KEYS, MEETINGS, PRESENCE, SESSION_ACTIVITY

log = logging.getLogger(__name__)

#: AsyncAPI titles of the subscribers, and what each takes.
PRESENCE_CHANNEL = "presence"
SESSION_ACTIVITY_CHANNEL = "session-activity"
API_KEY_USE_CHANNEL = "api-key-use"
GUEST_MEETINGS_CHANNEL = "guest-meetings"
CONSUMES = {
    GUEST_MEETINGS_CHANNEL: (MeetingCreated, MeetingUpdated, *MEETING_CLOSED),
    PRESENCE_CHANNEL: (PresenceSocket, PresenceReplicaLost),
    SESSION_ACTIVITY_CHANNEL: (SessionActive,),
    API_KEY_USE_CHANNEL: (ApiKeyUsed,),
}

#: Seconds one lease renewal may take before it is dropped (the next heartbeat renews).
RENEW_TIMEOUT_S = 5.0


def build_kafka_router(settings: Settings) -> KafkaRouter:
    """The router connecting to ``PARLEY_KAFKA_BOOTSTRAP_SERVERS``; its AsyncAPI document is
    served by :func:`parley_events.asyncapi_router` (``/asyncapi.json``, ``/asyncapi.yaml``)."""
    router = service_router(
        settings.kafka_bootstrap_servers,
        acks="all",  # durable events: every in-sync replica has it (min.insync.replicas)
        client_id=f"parley-auth-{settings.instance_id}",
        description="Parley auth: user.*, contact.*, presence.changed and session.revoked events (published from the outbox); "
        "presence.socket/replica_lost and session.active in",
    )
    # Declared for the AsyncAPI document; records are sent by the outbox relay.
    for data, key in (
        (UserRegistered, "user id"),
        (ContactInvited, "contact id"),
        (ContactAccepted, "contact id"),
        (ContactDeclined, "contact id"),
        (ContactRemoved, "contact id"),
        (UserBlocked, "contact id"),
        (UserUnblocked, "contact id"),
        (PresenceChanged, "user id"),
        (SessionRevoked, "user id"),
        (ApiKeyCreated, "key id"),
        (ApiKeyRevoked, "key id"),
    ):
        short = data.event_type.removeprefix("parley.auth.").removesuffix(".v1")
        router.publisher(
            data.topic.name,
            title=f"{data.topic.name}:{short}",
            description=f"CloudEvent {data.event_type}, key = {key} (structured mode).",
            schema=envelope_of(data),
        )
    return router


#: Presence records applied at most at once (one Kafka fetch).
PRESENCE_BATCH_RECORDS = 200


def add_presence_consumer(router: KafkaRouter, settings: Settings, projection: PresenceProjection) -> None:
    """Subscribe the presence projection to ``parley.presence`` (see the module's docstring)."""

    @router.subscriber(
        PRESENCE.name,
        group_id=settings.presence_consumer_group,
        auto_offset_reset=settings.presence_offset_reset,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
        batch=True,
        max_records=PRESENCE_BATCH_RECORDS,
        batch_timeout_ms=BATCH_POLL_MS,
        title=PRESENCE_CHANNEL,
        description="presence.socket / presence.replica_lost from signaling: each user's sockets and presence",
    )
    async def on_presence(message: ConsumedMessage) -> None:
        records: list[PresenceSocket | PresenceReplicaLost] = []

        async def collect(data: EventData) -> None:
            if isinstance(data, (PresenceSocket, PresenceReplicaLost)):
                records.append(data)

        await apply_each_event(message, collect)
        await projection.apply(records)


#: session.active records renewed at most at once (one Kafka fetch; one store round trip).
SESSION_ACTIVITY_BATCH_RECORDS = 500


def add_session_activity_consumer(
    router: KafkaRouter, settings: Settings, renew: Callable[[Sequence[tuple[str, str]]], Awaitable[int]]
) -> None:
    """Renew leases from ``session.active`` (consumer group ``settings.session_activity_consumer_group``,
    default ``parley-auth-sessions``: one auth replica handles each record), what one fetch
    brought at once: ``renew`` gets its (user id, session id) pairs in one call (signaling sends
    a tick's sessions together). Renewing is idempotent; a malformed record is logged and
    skipped, and a renewal the store did not take within :data:`RENEW_TIMEOUT_S` is logged and
    dropped."""
    subscriber = router.subscriber(
        SESSION_ACTIVITY.name,
        group_id=settings.session_activity_consumer_group,
        auto_offset_reset="latest",
        decoder=raw_body,
        batch=True,
        max_records=SESSION_ACTIVITY_BATCH_RECORDS,
        batch_timeout_ms=BATCH_POLL_MS,
        title=SESSION_ACTIVITY_CHANNEL,
        description="session.active -> the session's lease runs PARLEY_SESSION_LEASE_SECONDS from now "
        "(if it is still the user's session).",
    )

    @subscriber
    async def on_session_active(message: ConsumedMessage) -> None:
        sessions = [
            (event.data.user_id, event.data.session_id)
            for event in decoded_events(message)
            if isinstance(event.data, SessionActive)
        ]
        if not sessions:
            return
        # A renewal that cannot be written (the store is down or slow) is dropped, not retried:
        # the sessions' next heartbeats renew them, and the lease outlasts a few missed ones.
        # The bound keeps the consumer polling (a handler stuck past max.poll.interval.ms
        # would be thrown out of the group).
        try:
            async with asyncio.timeout(RENEW_TIMEOUT_S):
                await renew(sessions)
        except Exception as exc:  # noqa: BLE001 - see above
            log.warning("leases of %d sessions not renewed: %r", len(sessions), exc)


def add_api_key_use_consumer(router: KafkaRouter, settings: Settings, keys: ApiKeys) -> None:
    """Apply meetings' ``api_key.used`` records of ``parley.api_keys`` to the keys'
    ``last_used_at`` (consumer group ``settings.api_key_use_consumer_group``; a record is
    committed once applied; applying one twice changes nothing). auth's own records on the
    topic are skipped; a malformed one is logged and skipped."""

    @router.subscriber(
        API_KEYS.name,
        group_id=settings.api_key_use_consumer_group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=API_KEY_USE_CHANNEL,
        description="api_key.used from meetings: the keys' last use",
    )
    async def on_api_key_record(message: ConsumedMessage) -> None:
        await apply_each_event(message, apply)

    async def apply(data: EventData) -> None:
        if isinstance(data, ApiKeyUsed):
            await keys.mark_used(data.key_id, data.used_at)


def add_guest_meetings_consumer(router: KafkaRouter, settings: Settings, guests: GuestMeetings) -> None:
    """Keep the guest projection from ``parley.meetings`` (consumer group
    ``settings.guest_meetings_consumer_group``, from the earliest retained record the first
    time; a record is committed once applied, and applying one twice changes nothing). Other
    event types and malformed records are skipped (the latter logged)."""

    @router.subscriber(
        MEETINGS.name,
        group_id=settings.guest_meetings_consumer_group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,  # the whole batch again: applying twice changes nothing
        **FEED_BATCHES,  # most records (meeting.joined) are skipped here
        title=GUEST_MEETINGS_CHANNEL,
        description="meeting.created / updated (allow_guests) and meeting.ended / cancelled / expired: "
        "which meetings auth issues guest tokens for",
    )
    async def on_meeting_record(message: ConsumedMessage) -> None:
        await apply_each_event(message, guests.apply)


def outbox_relay(router: KafkaRouter, collections: Sequence[AsyncCollection], metrics: RelayMetrics) -> OutboxRelay:
    """An :class:`OutboxRelay` over ``collections`` (users, contacts, presence) publishing
    through the router's broker; start it once the broker started. Every replica runs one
    (see :class:`OutboxRelay`)."""
    return OutboxRelay(collections, kafka_sender(router.broker), metrics=metrics)


async def kafka_ready(router: KafkaRouter) -> None:
    """Raise unless the broker answers a metadata request within a second."""
    if not await router.broker.ping(timeout=1.0):
        raise ConnectionError("Kafka broker not connected")
