"""Kafka of signaling (FastStream): meeting.ended / cancelled / expired / updated / role_changed /
participant_removed, lobby.*, chat.message.posted,
presence.changed, contact.*, call.* and dm.* in; participant.* and presence.socket/replica_lost out.

Consumers. Every replica must deliver these events to *its own* sockets, so every replica
reads every record: the subscribers have no consumer group (``group_id=None``: all partitions
assigned, nothing committed) and start at the end of the topic (``auto_offset_reset="latest"``,
positions resolved before the app reports started). Each replica emits only to its local
sockets (``ignore_queue=True``), so a socket receives an event once, from the replica that
holds it. An event published twice (the outbox relay may, after a crash) is skipped by its
CloudEvents id (:class:`parley_events.RecentIds`, in memory: signaling has no database). A malformed record
is logged and skipped.

Publisher: participant.joined/left and presence.socket/replica_lost go out through
:class:`parley_signaling.participant_events.ParticipantEvents`.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition
from faststream.kafka.fastapi import KafkaRouter

from parley_events import (
    CALL_EVENTS,
    DM_EVENTS,
    FEED_BATCHES,
    LOBBY_EVENTS,
    MEETING_CLOSED,
    CallEvent,
    ChatMessagePosted,
    ConsumedMessage,
    ContactEvent,
    DmConversationRead,
    DmMessagePosted,
    EventDecodeError,
    LobbyEvent,
    MeetingRoleChanged,
    MeetingUpdated,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantRemoved,
    PresenceChanged,
    PresenceReplicaLost,
    PresenceSocket,
    RecentIds,
    decoded_record,
    envelope_of,
    named_model,
    records_of,
    service_router,
)
from parley_events.contact_pairs import CONTACT_EVENTS
from parley_events.topics import CALLS, CHAT, CONTACTS, DM, MEETINGS, PARTICIPANTS, PRESENCE
from parley_signaling.metrics import SignalingMetrics

if TYPE_CHECKING:
    from parley_signaling.calls import CallDelivery
    from parley_signaling.direct_messages import DirectMessageDelivery
    from parley_signaling.domain.rooms import RoomService
    from parley_signaling.lobby import LobbyDelivery
    from parley_signaling.presence import PresenceDelivery

log = logging.getLogger(__name__)


#: Titles (AsyncAPI channel keys) of the subscribers, and the event types each one takes (the
#: handlers read raw records, so FastStream cannot tell; see parley_events.asyncapi).
MEETINGS_CHANNEL = "meetings"
CHAT_CHANNEL = "chat"
PRESENCE_CHANNEL = "presence"
CONTACTS_CHANNEL = "contacts"
CALLS_CHANNEL = "calls"
DM_CHANNEL = "dm"
#: What signaling takes from ``parley.meetings``: the end of a meeting, the lobby, co-hosts,
#: removals and the admission mode.
MEETING_EVENTS = (*MEETING_CLOSED, *LOBBY_EVENTS, MeetingRoleChanged, ParticipantRemoved, MeetingUpdated)
#: Per channel: its topic, its label in ``parley_signaling_consumed_events_total`` and what it
#: does (the AsyncAPI description).
FEEDS = {
    MEETINGS_CHANNEL: (
        MEETINGS.name,
        "meeting",
        "meeting.ended / meeting.cancelled / meeting.expired -> `meeting-ended` to the room's local sockets, "
        "then out of the room; lobby.* -> `lobby` to the room's local host and co-host sockets and `lobby-decision` to "
        "the waiting ones; meeting.participant_removed -> `removed`, then out of the room; meeting.role_changed -> "
        "`role-changed`; meeting.updated -> `meeting-updated`.",
    ),
    CHAT_CHANNEL: (CHAT.name, "chat.message.posted", "chat.message.posted -> `chat-message` to the room's local sockets."),
    PRESENCE_CHANNEL: (
        PRESENCE.name,
        "presence.changed",
        "presence.changed -> `presence` to the local sockets of the user's watchers (contacts).",
    ),
    CONTACTS_CHANNEL: (
        CONTACTS.name,
        "contact",
        "contact.*, user.blocked/unblocked -> `contacts-changed` to the local sockets of both users.",
    ),
    CALLS_CHANNEL: (CALLS.name, "call", "call.* -> `call` to the local sockets of the caller and the callee."),
    DM_CHANNEL: (
        DM.name,
        "dm",
        "dm.message.posted -> `direct-message` to the local sockets of the sender and the recipient; "
        "dm.conversation.read -> `direct-message-read` to the local sockets of the user who read.",
    ),
}
CONSUMES = {
    MEETINGS_CHANNEL: MEETING_EVENTS,
    CHAT_CHANNEL: (ChatMessagePosted,),
    PRESENCE_CHANNEL: (PresenceChanged,),
    CONTACTS_CHANNEL: CONTACT_EVENTS,
    CALLS_CHANNEL: CALL_EVENTS,
    DM_CHANNEL: DM_EVENTS,
}


def build_router(bootstrap_servers: str, instance_id: str) -> KafkaRouter:
    """The service's FastStream router (include it in the FastAPI app; its lifespan runs the
    broker). Its AsyncAPI document (parley_events.asyncapi_router with :data:`CONSUMES`) lists
    the participant.* events :class:`ParticipantEvents` publishes."""
    router = service_router(
        bootstrap_servers,
        acks="all",  # durable events: every in-sync replica has it (min.insync.replicas)
        client_id=f"parley-signaling-{instance_id}",
        description="Parley signaling: participant.* and presence.socket/replica_lost out; meeting.ended, "
        "chat.message.posted, presence.changed, contact.*, call.* and dm.* in",
    )
    # Declared for the AsyncAPI document only; ParticipantEvents does the publishing.
    for data in (ParticipantJoined, ParticipantLeft):
        router.publisher(
            PARTICIPANTS.name,
            title=data.event_type.removeprefix("parley.signaling.").removesuffix(".v1"),
            description=f"CloudEvents type {data.event_type}, key = meeting id; published straight "
            "to Kafka (no outbox: signaling keeps nothing durable), with a bounded retry",
            schema=envelope_of(data),
        )
    for data, key in ((PresenceSocket, "user id"), (PresenceReplicaLost, "replica id")):
        router.publisher(
            PRESENCE.name,
            title=data.event_type.removeprefix("parley.signaling.").removesuffix(".v1"),
            description=f"CloudEvents type {data.event_type}, key = {key}; published straight to Kafka "
            "(no outbox), in order, with a bounded retry (docs/signaling.md, \"Presence\")",
            schema=envelope_of(data),
        )
    return router


def register_consumers(
    router: KafkaRouter,
    rooms: "RoomService",
    metrics: SignalingMetrics,
    delivery: "PresenceDelivery",
    calls: "CallDelivery",
    dms: "DirectMessageDelivery",
    lobby: "LobbyDelivery",
) -> list:
    """Subscribe to parley.meetings, parley.chat, parley.presence, parley.contacts,
    parley.calls and parley.dm (no group, from the end); returns the subscribers."""
    seen = RecentIds()
    # Who delivers what to this replica's sockets: the first entry whose types match.
    deliveries: list[tuple[type | tuple[type, ...], Callable[[Any], Awaitable[None]]]] = [
        (MEETING_CLOSED, rooms.meeting_ended),
        (LobbyEvent, lobby.lobby_changed),
        (ParticipantRemoved, rooms.participant_removed),
        (MeetingRoleChanged, rooms.role_changed),
        (MeetingUpdated, lobby.meeting_updated),
        (ChatMessagePosted, rooms.chat_message_posted),
        (PresenceChanged, delivery.presence_changed),
        (ContactEvent, delivery.contact_changed),
        (CallEvent, calls.call_changed),
        ((DmMessagePosted, DmConversationRead), dms.dm_event),
    ]

    async def handle(record: Any, channel: str, label: str) -> None:
        # Most records of these topics are for others (three presence.socket per socket, every
        # meeting.joined): skipped by the type they name, not decoded.
        model = named_model(record.value)
        if model is not None and not issubclass(model, CONSUMES[channel]):
            if not issubclass(model, (PresenceSocket, PresenceReplicaLost)):  # ours, on the presence topic
                metrics.consumed_events.labels("other", "ignored").inc()
            return
        try:
            event = decoded_record(record)  # a record that names no event fails here
        except EventDecodeError as exc:
            log.warning("malformed event skipped: %s", exc)
            metrics.consumed_events.labels(label, "malformed").inc()
            return
        if label == "meeting" and isinstance(event.data, MEETING_CLOSED):
            label = "meeting.ended"
        if not seen.first_time(event.id):
            metrics.consumed_events.labels(label, "duplicate").inc()
            return
        deliver = next(deliver for types, deliver in deliveries if isinstance(event.data, types))
        try:
            await deliver(event.data)
        except Exception:  # noqa: BLE001 - never crash the consumer
            log.exception("handling %s %s failed", event.type, event.id)
            metrics.consumed_events.labels(label, "failed").inc()
            return
        metrics.consumed_events.labels(label, "delivered").inc()

    def consumer(channel: str, label: str) -> Callable[[ConsumedMessage], Awaitable[None]]:
        async def consume(message: ConsumedMessage) -> None:
            for record in records_of(message):
                await handle(record, channel, label)

        consume.__name__ = f"on_{channel}_events"
        return consume

    subscribers = []
    for channel, (topic, label, description) in FEEDS.items():
        subscriber = router.subscriber(
            topic,
            group_id=None,
            auto_offset_reset="latest",
            title=channel,
            description=description,
            **FEED_BATCHES,  # the skipped records too: three presence.socket per socket, every meeting.joined
        )
        subscriber(consumer(channel, label))
        subscribers.append(subscriber)
    return subscribers


async def pin_positions(subscribers: list, timeout_s: float = 15.0) -> None:
    """Wait until every subscriber has its partitions and a resolved position on each.

    From then on, every record published is seen. Raises ``TimeoutError`` after ``timeout_s``.
    """
    async with asyncio.timeout(timeout_s):
        for subscriber in subscribers:
            consumer = subscriber.consumer
            while consumer is None or not consumer.assignment():
                await asyncio.sleep(0.02)
                consumer = subscriber.consumer
            for tp in consumer.assignment():
                await consumer.position(TopicPartition(tp.topic, tp.partition))
