"""Kafka for auth: the FastStream router (its lifespan connects the broker) and the outbox
relay that publishes staged ``parley.auth.user.registered.v1`` events to ``parley.users``."""

import asyncio
import contextlib

from faststream.kafka.fastapi import KafkaRouter
from pymongo.asynchronous.collection import AsyncCollection

from parley_auth.config import Settings
from parley_events import OutboxRelay, UserRegistered, kafka_publisher


def build_kafka_router(settings: Settings) -> KafkaRouter:
    """The router connecting to ``PARLEY_KAFKA_BOOTSTRAP_SERVERS``; AsyncAPI at ``/asyncapi``."""
    router = KafkaRouter(
        settings.kafka_bootstrap_servers,
        client_id=f"parley-auth-{settings.instance_id}",
        schema_url="/asyncapi",
    )
    # Declared for the AsyncAPI document; records are sent by the outbox relay.
    router.publisher(
        UserRegistered.topic.name,
        title="parley.users:user.registered",
        description="CloudEvent parley.auth.user.registered.v1, key = user id (structured mode).",
        schema=UserRegistered,
    )
    return router


class EventRelay:
    """Runs an :class:`OutboxRelay` over ``users`` as a background task while Kafka is up."""

    def __init__(self, router: KafkaRouter, users: AsyncCollection) -> None:
        self.relay = OutboxRelay([users], kafka_publisher(router.broker))
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """Wake the relay: an event was staged."""
        self.relay.notify()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.relay.run(), name="auth-outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def kafka_ready(router: KafkaRouter) -> None:
    """Raise unless the broker answers a metadata request within a second."""
    if not await router.broker.ping(timeout=1.0):
        raise ConnectionError("Kafka broker not connected")
