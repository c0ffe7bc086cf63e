"""Kafka: the FastStream router, the relays publishing ``chat.message.posted`` and ``dm.*``,
and the contact projection's consumer.

Chat consumes ``meeting.created``, ``meeting.joined``, ``meeting.ended``, ``meeting.cancelled``
and ``meeting.expired`` into its membership projection
(:mod:`parley_security.membership_projection`, wired in :mod:`parley_chat.main`); messages
stay postable and readable after a meeting ended. Events are published only from the stored
messages, by :class:`parley_chat.relay.MessageRelay`. Direct messages are published the
same way (their own relay, ``dm.message.posted``); ``dm.conversation.read`` by an
:class:`parley_events.OutboxRelay` over the inboxes (:mod:`parley_chat.conversations_repository`).
Chat keeps a projection of auth's ``parley.contacts`` (consumer group ``{group}-contacts``,
from the beginning) to allow direct messages between accepted contacts only.
"""

from collections.abc import Callable

from faststream.kafka.fastapi import KafkaRouter

from parley_chat.config import Settings
from parley_chat.relay import MessageRelay
from parley_chat.repository import MessageRepository
from parley_chat.conversations_repository import ConversationRepository, dm_event_of
from parley_events import (
    ChatMessagePosted,
    DmConversationRead,
    DmMessagePosted,
    OutboxMetrics,
    OutboxRelay,
    ReceivedEvent,
    RelayMetrics,
    envelope_of,
    kafka_sender,
    service_router,
)
from parley_events.contact_pairs import CONTACT_EVENTS, add_contact_consumer
from parley_events.topics import CHAT, DM

#: What the subscriber channels take (their handlers read raw records, so FastStream cannot tell).
CONSUMES = {"contacts": CONTACT_EVENTS}

#: Milliseconds the producer waits to fill a batch of records (aiokafka's ``linger_ms``).
RELAY_LINGER_MS = 5


def build_router(settings: Settings) -> KafkaRouter:
    """The FastStream router (its broker starts and stops with the app); its AsyncAPI document
    is served by :func:`parley_events.asyncapi_router`."""
    router = service_router(
        settings.kafka_bootstrap_servers,
        acks="all",  # durable events: every in-sync replica has it (min.insync.replicas)
        # the relay's batches of one meeting follow each other a few ms apart at a steady
        # rate of posts: waiting this long puts several in one produce request (fewer
        # requests for Kafka, fewer fetch answers for every signaling replica)
        linger_ms=RELAY_LINGER_MS,
        client_id=f"parley-chat-{settings.instance_id}",
        description="Parley chat: chat.message.posted events (published from the outbox)",
    )
    # Declared for the AsyncAPI document only; the message relay does the publishing.
    router.publisher(
        CHAT.name,
        title="chat.message.posted",
        description=f"CloudEvents type {ChatMessagePosted.event_type}, key = meeting id",
        schema=envelope_of(ChatMessagePosted),
    )
    for event in (DmMessagePosted, DmConversationRead):
        router.publisher(
            DM.name,
            title=event.event_type.removeprefix("parley.chat."),
            description=f"CloudEvents type {event.event_type}, key = conversation id",
            schema=envelope_of(event),
        )
    return router


def contacts_group(settings: Settings) -> str:
    """The consumer group of the contact projection: ``{PARLEY_KAFKA_CONSUMER_GROUP}-contacts``."""
    return f"{settings.kafka_consumer_group}-contacts"


def add_contact_projection(
    router: KafkaRouter, settings: Settings, conversations: "Callable[[], ConversationRepository]"
) -> None:
    """Keep ``conversations().pairs`` from auth's ``parley.contacts`` (who may message whom)."""

    async def handle(events: list[ReceivedEvent]) -> None:
        await conversations().pairs.apply(events)

    add_contact_consumer(
        router,
        group_id=contacts_group(settings),
        auto_offset_reset=settings.kafka_auto_offset_reset,
        handle=handle,
        on_malformed=lambda: None,
        description="contact.* and user.blocked/unblocked: who may message whom (chat's contact projection)",
    )


def dm_relays(
    router: KafkaRouter, conversations: ConversationRepository, settings: Settings, metrics: OutboxMetrics
) -> tuple[MessageRelay, OutboxRelay]:
    """The relay of direct messages (``dm.message.posted`` from the stored messages; metrics
    ``relay="dm-messages"``) and the outbox relay of read marks (``dm.conversation.read`` staged
    in the inboxes; ``relay="dm-reads"``)."""
    send = kafka_sender(router.broker)
    messages = MessageRelay(
        conversations.messages, send, sweep_interval_s=settings.outbox_poll_interval_s, event=dm_event_of,
        metrics=metrics.of("dm-messages"), what="direct messages",
    )
    reads = OutboxRelay([conversations.inbox], send, poll_interval_s=settings.outbox_poll_interval_s, metrics=metrics.of("dm-reads"))
    return messages, reads


def message_relay(
    router: KafkaRouter, repository: MessageRepository, sweep_interval_s: float, metrics: RelayMetrics | None = None
) -> MessageRelay:
    """A :class:`MessageRelay` over ``repository`` publishing through the router's broker
    (start it once the broker started). Every replica runs one."""
    return MessageRelay(repository, kafka_sender(router.broker), sweep_interval_s=sweep_interval_s, metrics=metrics)


async def kafka_ready(router: KafkaRouter) -> None:
    """Readiness check: raises unless the Kafka cluster answers."""
    if not await router.broker.ping(timeout=1.5):
        raise ConnectionError("Kafka does not answer")
