"""Kafka: the FastStream router and the outbox relay publishing ``chat.message.posted``.

Chat consumes ``meeting.created``, ``meeting.joined`` and ``meeting.ended`` into its
membership projection (:mod:`parley_security.membership_projection`, wired in
:mod:`parley_chat.main`); messages stay postable and readable after a meeting ended. Events
are published only from the outbox, through :class:`parley_events.OutboxRelay`.
"""

from faststream.kafka.fastapi import KafkaRouter
from pymongo.asynchronous.collection import AsyncCollection

from parley_chat.config import Settings
from parley_events import ChatMessagePosted, OutboxRelay, envelope_of, kafka_sender
from parley_events.topics import CHAT

#: Pending messages are published per meeting in sequence (history order; see repository.py).
RELAY_ORDER = (("meeting_id", 1), ("seq", 1))


def build_router(settings: Settings) -> KafkaRouter:
    """The FastStream router (its broker starts and stops with the app); its AsyncAPI document
    is served by :func:`parley_events.asyncapi_router`."""
    router = KafkaRouter(
        settings.kafka_bootstrap_servers,
        acks="all",  # durable events: every in-sync replica has it (min.insync.replicas)
        client_id=f"parley-chat-{settings.instance_id}",
        schema_url=None,
        description="Parley chat: chat.message.posted events (published from the outbox)",
    )
    # Declared for the AsyncAPI document only; the outbox relay does the publishing.
    router.publisher(
        CHAT.name,
        title="chat.message.posted",
        description=f"CloudEvents type {ChatMessagePosted.event_type}, key = meeting id",
        schema=envelope_of(ChatMessagePosted),
    )
    return router


def outbox_relay(router: KafkaRouter, collection: AsyncCollection, poll_interval_s: float) -> OutboxRelay:
    """An :class:`OutboxRelay` over ``collection`` publishing through the router's broker
    (start it once the broker started). Every replica runs one (see :class:`OutboxRelay`)."""
    return OutboxRelay(
        [collection], kafka_sender(router.broker), poll_interval_s=poll_interval_s, order=RELAY_ORDER
    )


async def kafka_ready(router: KafkaRouter) -> None:
    """Readiness check: raises unless the Kafka cluster answers."""
    if not await router.broker.ping(timeout=1.5):
        raise ConnectionError("Kafka does not answer")
