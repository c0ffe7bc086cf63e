"""Kafka: the FastStream router and the relay publishing ``chat.message.posted``.

Chat consumes ``meeting.created``, ``meeting.joined``, ``meeting.ended``, ``meeting.cancelled``
and ``meeting.expired`` into its membership projection
(:mod:`parley_security.membership_projection`, wired in :mod:`parley_chat.main`); messages
stay postable and readable after a meeting ended. Events are published only from the stored
messages, by :class:`parley_chat.relay.MessageRelay`.
"""

from faststream.kafka.fastapi import KafkaRouter

from parley_chat.config import Settings
from parley_chat.relay import MessageRelay
from parley_chat.repository import MessageRepository
from parley_events import ChatMessagePosted, OutboxMetrics, envelope_of, kafka_sender
from parley_events.topics import CHAT

#: Milliseconds the producer waits to fill a batch of records (aiokafka's ``linger_ms``).
RELAY_LINGER_MS = 5


def build_router(settings: Settings) -> KafkaRouter:
    """The FastStream router (its broker starts and stops with the app); its AsyncAPI document
    is served by :func:`parley_events.asyncapi_router`."""
    router = KafkaRouter(
        settings.kafka_bootstrap_servers,
        acks="all",  # durable events: every in-sync replica has it (min.insync.replicas)
        # the relay's batches of one meeting follow each other a few ms apart at a steady
        # rate of posts: waiting this long puts several in one produce request (fewer
        # requests for Kafka, fewer fetch answers for every signaling replica)
        linger_ms=RELAY_LINGER_MS,
        client_id=f"parley-chat-{settings.instance_id}",
        schema_url=None,
        description="Parley chat: chat.message.posted events (published from the outbox)",
    )
    # Declared for the AsyncAPI document only; the message relay does the publishing.
    router.publisher(
        CHAT.name,
        title="chat.message.posted",
        description=f"CloudEvents type {ChatMessagePosted.event_type}, key = meeting id",
        schema=envelope_of(ChatMessagePosted),
    )
    return router


def message_relay(
    router: KafkaRouter, repository: MessageRepository, sweep_interval_s: float, metrics: OutboxMetrics | None = None
) -> MessageRelay:
    """A :class:`MessageRelay` over ``repository`` publishing through the router's broker
    (start it once the broker started). Every replica runs one."""
    return MessageRelay(repository, kafka_sender(router.broker), sweep_interval_s=sweep_interval_s, metrics=metrics)


async def kafka_ready(router: KafkaRouter) -> None:
    """Readiness check: raises unless the Kafka cluster answers."""
    if not await router.broker.ping(timeout=1.5):
        raise ConnectionError("Kafka does not answer")
