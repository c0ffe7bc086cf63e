"""Kafka for auth: the FastStream router (its lifespan connects the broker) and the outbox
relay that publishes staged ``parley.auth.user.registered.v1`` events to ``parley.users``."""

from faststream.kafka.fastapi import KafkaRouter
from pymongo.asynchronous.collection import AsyncCollection

from parley_auth.config import Settings
from parley_events import OutboxMetrics, OutboxRelay, UserRegistered, envelope_of, kafka_sender


def build_kafka_router(settings: Settings) -> KafkaRouter:
    """The router connecting to ``PARLEY_KAFKA_BOOTSTRAP_SERVERS``; its AsyncAPI document is
    served by :func:`parley_events.asyncapi_router` (``/asyncapi.json``, ``/asyncapi.yaml``)."""
    router = KafkaRouter(
        settings.kafka_bootstrap_servers,
        acks="all",  # durable events: every in-sync replica has it (min.insync.replicas)
        client_id=f"parley-auth-{settings.instance_id}",
        schema_url=None,
        description="Parley auth: user.registered events (published from the outbox)",
    )
    # Declared for the AsyncAPI document; records are sent by the outbox relay.
    router.publisher(
        UserRegistered.topic.name,
        title="parley.users:user.registered",
        description="CloudEvent parley.auth.user.registered.v1, key = user id (structured mode).",
        schema=envelope_of(UserRegistered),
    )
    return router


def outbox_relay(router: KafkaRouter, users: AsyncCollection, metrics: OutboxMetrics) -> OutboxRelay:
    """An :class:`OutboxRelay` over ``users`` publishing through the router's broker; start
    it once the broker started. Every replica runs one (see :class:`OutboxRelay`)."""
    return OutboxRelay([users], kafka_sender(router.broker), metrics=metrics)


async def kafka_ready(router: KafkaRouter) -> None:
    """Raise unless the broker answers a metadata request within a second."""
    if not await router.broker.ping(timeout=1.0):
        raise ConnectionError("Kafka broker not connected")
