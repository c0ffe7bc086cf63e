"""The signaling app: socket.io (with the Kafka fan-out manager) in front of a small FastAPI app.

The socket.io server is :class:`~parley_signaling.transport.SocketServer`: python-socketio's,
on an Engine.IO server with Parley's transport corrections (session ids that name the
replica, no session left waiting after a client error, long-polling POSTs bounded by bytes,
refused WebSocket handshakes answered like polling ones).

Run: ``uvicorn --factory parley_signaling.main:create_app``. socket.io answers at
``/socket.io``; everything else (``/healthz``, ``/readyz``, ``/metrics``, ``/asyncapi``) goes
to the FastAPI app. ``socketio.ASGIApp`` forwards ASGI lifespan events to the FastAPI app
(it has no startup/shutdown handlers of its own), so the FastAPI lifespan runs everything:
its own part closes the HTTP clients; the FastStream router's part starts the broker, then
(``after_startup``) pins the consumers' positions, starts the fan-out manager and the
participant-event publisher, and on shutdown (``on_broker_shutdown``, while the broker still
runs) disconnects the local sockets, announces the replica's departure and drains the queue.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from parley_events import asyncapi_router
from parley_observability import HttpMetrics, HttpMetricsMiddleware, configure_logging, health_router, metrics_router
from parley_security import JwksVerifier, MeetingsClient
from parley_security.membership_projection import (
    MEMBERSHIP_CHANNEL,
    PROJECTED_EVENTS,
    MembershipProjection,
    ProjectedMembership,
    ProjectionFeed,
)
from parley_signaling.api.socket_events import register
from parley_signaling.config import Settings
from parley_signaling.domain.rooms import RoomService
from parley_signaling.fanout import KafkaFanoutManager
from parley_signaling.messaging import CONSUMES, ParticipantEvents, build_router, pin_positions, register_consumers
from parley_signaling.metrics import SignalingMetrics
from parley_signaling.rejections import Rejections
from parley_signaling.server import SignalingASGIApp, SignalingServer

log = logging.getLogger(__name__)

#: The OpenAPI document's description: what a reader needs before the operations.
DESCRIPTION = (
    "Signaling speaks socket.io at `/socket.io` (docs/signaling.md), routed by Traefik. Its HTTP "
    "surface, on the service's own port only, is health (`/healthz`, `/readyz`), `/metrics` and its "
    "AsyncAPI document (`/asyncapi.json`, `/asyncapi.yaml`): the Kafka events it publishes and consumes."
)

SERVICE = "signaling"


def create_app(
    settings: Settings | None = None,
    *,
    verifier: JwksVerifier | None = None,
    meetings: MeetingsClient | None = None,
) -> SignalingASGIApp:
    """Build the signaling ASGI app. ``verifier`` and ``meetings`` may be injected (tests)."""
    settings = settings or Settings()
    configure_logging(SERVICE, settings.log_level)
    verifier = verifier or JwksVerifier.from_settings(settings)
    meetings = meetings or MeetingsClient(settings.meetings_url)

    registry = CollectorRegistry()
    verifier.instrument(registry)
    http_metrics = HttpMetrics(SERVICE, registry)
    metrics = SignalingMetrics(registry)

    fanout = KafkaFanoutManager(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        replica_id=settings.instance_id,
        metrics=metrics,
        heartbeat_s=settings.signaling_heartbeat_seconds,
        replica_timeout_s=settings.signaling_replica_timeout_seconds,
    )
    sio = SignalingServer(
        rejections=Rejections(metrics.rejected_inputs),
        async_mode="asgi",
        client_manager=fanout,
        cors_allowed_origins=list(settings.allowed_origins),
        # Engine.IO hands over one WebSocket message (or one polling POST's packets) at a
        # time; the socket's lock (see socket_events) orders concurrent polling POSTs too.
        async_handlers=False,
        max_http_buffer_size=settings.max_message_bytes,
        sid_prefix=settings.signaling_sid_prefix,
        ping_interval=settings.signaling_ping_interval_seconds,
        ping_timeout=settings.signaling_ping_timeout_seconds,
    )
    router = build_router(settings.kafka_bootstrap_servers, settings.instance_id)
    router.broker.add_middleware(metrics.consumer_lag.middleware())
    participants = ParticipantEvents(router, metrics)
    # Joins read membership from the projection of meetings' events (HTTP only for a
    # membership it does not know yet): docs/signaling.md, "Membership".
    projection = MembershipProjection()
    feed = ProjectionFeed(router, projection)
    rooms = RoomService(
        sio=sio,
        fanout=fanout,
        verifier=verifier,
        meetings=ProjectedMembership(projection, meetings, registry),
        participants=participants,
        replica_id=settings.instance_id,
        join_timeout_s=settings.signaling_join_timeout_seconds,
    )
    fanout.on_connected = lambda sid, namespace: rooms.send_session(sid)
    fanout.on_replica_lost = rooms.replica_lost
    fanout.on_replica_restored = rooms.replica_restored
    metrics.track_sockets(lambda: len(rooms.sockets))
    register(sio, rooms=rooms, verifier=verifier, settings=settings, metrics=metrics)
    subscribers = register_consumers(router, rooms, metrics)

    @router.after_startup
    async def start_signaling(app: FastAPI) -> None:
        await pin_positions(subscribers)
        feed.start()
        await fanout.start()
        participants.start()
        log.info("signaling replica %s started", settings.instance_id)

    @router.on_broker_shutdown
    async def stop_signaling(app: FastAPI) -> None:
        await rooms.shutdown()
        await sio.shutdown()
        await fanout.stop()
        await participants.stop()
        await feed.stop()
        log.info("signaling replica %s stopped", settings.instance_id)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await meetings.aclose()
            await verifier.aclose()

    async def kafka_ready() -> None:
        if not await router.broker.ping(timeout=1.5):
            raise RuntimeError("Kafka broker does not answer")
        await fanout.check()

    app = FastAPI(title="Parley signaling", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.verifier = verifier
    app.state.rooms = rooms
    app.state.fanout = fanout
    app.state.sio = sio
    # uvicorn logs signaling's requests (socket.io never reaches this app): no second line
    app.add_middleware(HttpMetricsMiddleware, metrics=http_metrics, access_log=False)
    app.include_router(health_router({"kafka": kafka_ready, "jwks": verifier.ready}))
    app.include_router(metrics_router(registry))
    app.include_router(router)
    app.include_router(asyncapi_router(router, {**CONSUMES, MEMBERSHIP_CHANNEL: PROJECTED_EVENTS}))
    return SignalingASGIApp(
        sio, max_message_bytes=settings.max_message_bytes, other_asgi_app=app, socketio_path="socket.io"
    )
