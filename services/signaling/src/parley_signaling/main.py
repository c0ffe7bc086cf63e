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
Before that, SIGTERM or ``/drain`` moves the sockets to other replicas (:mod:`parley_signaling.drain`).
"""

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from parley_events import asyncapi_router, kafka_sender
from parley_observability import (
    HttpMetrics,
    HttpMetricsMiddleware,
    SurvivorFreezer,
    configure_logging,
    health_router,
    metrics_router,
    write_directly,
)
from parley_security import JwksVerifier, MeetingsClient, RevocationFeed, RevokedSessions
from parley_security.revocations import REVOCATION_CHANNEL, REVOCATION_EVENTS
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
from parley_signaling.gestures import Gestures
from parley_signaling.lobby import LobbyDelivery
from parley_signaling.moderation import Moderation
from parley_signaling.recordings import Recordings
from parley_signaling.room_relay import RoomRelay
from parley_signaling.drain import Drain, DrainReport
from parley_signaling.fanout import KafkaFanoutManager
from parley_signaling.heap_trim import HeapTrimmer
from parley_signaling.recycle import Recycler
from parley_signaling.messaging import CONSUMES, build_router, pin_positions, register_consumers
from parley_signaling.participant_events import ParticipantEvents
from parley_signaling.metrics import SignalingMetrics
from parley_signaling.rejections import Rejections
from parley_signaling.calls import CallDelivery
from parley_signaling.direct_messages import DirectMessageDelivery
from parley_signaling.presence import PresenceDelivery, SocketPresence
from parley_signaling.server import SignalingASGIApp, SignalingServer
from parley_signaling.sessions import SessionHeartbeat, SessionSockets, declare_session_active
from parley_signaling.spotlight import Spotlight
from parley_signaling.users import UserDelivery

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
    freezer = SurvivorFreezer(registry, settings.gc_thaw_seconds)

    fanout = KafkaFanoutManager(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        replica_id=settings.instance_id,
        metrics=metrics,
        heartbeat_s=settings.signaling_heartbeat_seconds,
        replica_timeout_s=settings.signaling_replica_timeout_seconds,
        resume_window_s=settings.signaling_resume_seconds,
        link_host=settings.signaling_link_host,
        link_port=settings.signaling_link_port,
    )
    sio = SignalingServer(
        rejections=Rejections(metrics.rejected_inputs),
        connect_timeout_s=settings.signaling_connect_timeout_seconds,
        unconnected_closed=metrics.unconnected_sessions_closed,
        async_mode="asgi",
        client_manager=fanout,
        cors_allowed_origins=list(settings.allowed_origins),
        # Engine.IO hands over one WebSocket message (or one polling POST's packets) at a
        # time; the socket's lock (see socket_events) orders concurrent polling POSTs too.
        async_handlers=False,
        max_http_buffer_size=settings.max_message_bytes,
        sid_prefix=settings.signaling_sid_prefix,
        max_queued_bytes=settings.signaling_max_queued_bytes,
        on_slow_consumer=metrics.slow_consumers.inc,
        ping_interval=settings.signaling_ping_interval_seconds,
        ping_timeout=settings.signaling_ping_timeout_seconds,
    )
    router = build_router(settings.kafka_bootstrap_servers, settings.instance_id)
    router.broker.add_middleware(metrics.consumer_lag.middleware())
    # participant.* and presence.* each have their own queue and publisher: when many sockets
    # close at once, their presence records (several per socket) must not fill the queue a
    # participant.left waits in (bench/README.md, "Sockets: 10,000 closing at once").
    participants = ParticipantEvents(kafka_sender(router.broker), metrics)
    presence_records = ParticipantEvents(kafka_sender(router.broker), metrics)
    presence = SocketPresence(presence_records, settings.instance_id)
    users = UserDelivery(sio)
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
        metrics=metrics,
        resume_window_s=settings.signaling_resume_seconds,
        presence=presence,
    )
    drain = Drain(rooms, metrics, settings.signaling_drain_seconds)
    # Sessions (docs/signaling.md): a revoked session's tokens are refused and its sockets
    # ended; each live session's lease is renewed by session.active heartbeats.
    revocations = RevocationFeed(router, RevokedSessions())
    revocations.listeners.append(SessionSockets(rooms, sio).revoked)
    declare_session_active(router)
    heartbeat = SessionHeartbeat(
        router,
        lambda: {
            (s.principal.user_id, s.principal.session_id)
            for s in rooms.sockets.values()
            if s.principal.session_id is not None
        },
        replica_id=settings.instance_id,
        interval_s=settings.session_heartbeat_seconds,
    )
    fanout.on_connected = lambda sid, namespace: rooms.send_session(sid)
    fanout.on_replica_lost = rooms.replica_lost

    async def replica_dropped(replica_id: str, reason: str) -> None:
        presence.replica_lost(replica_id, reason)

    fanout.on_replica_dropped = replica_dropped
    fanout.on_replica_restored = rooms.replica_restored
    fanout.on_taken_over = rooms.taken_over
    fanout.on_displaced = rooms.displaced
    fanout.on_expired = rooms.expired
    def count_sockets() -> int:
        return len(rooms.sockets)

    metrics.connected_sockets.set_function(count_sockets)
    trimmer = HeapTrimmer(count_sockets, registry)
    recycler = Recycler(
        count_sockets,
        lambda: fanout.liveness.bus_up and bool(fanout.liveness.alive()),
        lambda: os.kill(os.getpid(), signal.SIGTERM),  # drains first (drain_on_sigterm), then stops
        settings.recycle_policy,
    )
    relay = RoomRelay(
        sio=sio,
        fanout=fanout,
        rooms=rooms,
        rate_per_second=settings.signaling_gesture_rate_per_second,
        burst=settings.signaling_gesture_burst,
    )
    gestures, moderation, recordings, spotlight = Gestures(relay), Moderation(relay), Recordings(relay), Spotlight(relay)
    lobby = LobbyDelivery(sio=sio, rooms=rooms)
    register(
        sio,
        rooms=rooms,
        drain=drain,
        verifier=verifier,
        settings=settings,
        metrics=metrics,
        users=users,
        extra_routes={
            **gestures.routes(),
            **moderation.routes(),
            **recordings.routes(),
            **spotlight.routes(),
            **lobby.routes(),
        },
        join_ack=lambda ack: spotlight.with_spotlight(recordings.with_recordings(gestures.with_hands(ack))),
        revoked=revocations.revoked,
        on_connected=lambda principal: heartbeat.connected(principal.user_id, principal.session_id),
    )
    subscribers = register_consumers(
        router, rooms, metrics, PresenceDelivery(users), CallDelivery(users), DirectMessageDelivery(users), lobby
    )

    @router.after_startup
    async def start_signaling(app: FastAPI) -> None:
        await pin_positions(subscribers)
        feed.start()
        await fanout.start()
        # sockets this replica had before a crash or restart are gone: before serving any
        presence.replica_lost(settings.instance_id, "restarted")
        participants.start()
        presence_records.start()
        heartbeat.start()
        drain.drain_on_sigterm()
        freezer.start()
        trimmer.start()
        recycler.start()
        log.info("signaling replica %s started", settings.instance_id)

    @router.on_broker_shutdown
    async def stop_signaling(app: FastAPI) -> None:
        await heartbeat.stop()
        await rooms.shutdown()
        await sio.shutdown()
        await fanout.stop()
        await asyncio.gather(participants.stop(), presence_records.stop())  # each drains up to 5 s
        await feed.stop()
        await freezer.stop()
        await trimmer.stop()
        await recycler.stop()
        log.info("signaling replica %s stopped", settings.instance_id)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await meetings.aclose()
            await verifier.aclose()
            write_directly()  # the stop's last lines, before uvicorn ends the process

    async def kafka_ready() -> None:
        if not await router.broker.ping(timeout=1.5):
            raise RuntimeError("Kafka broker does not answer")
        await fanout.check()

    app = FastAPI(title="Parley signaling", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.verifier = verifier
    app.state.rooms = rooms
    app.state.presence_records = presence_records
    app.state.fanout = fanout
    app.state.sio = sio
    # uvicorn logs signaling's requests (socket.io never reaches this app): no second line
    app.add_middleware(HttpMetricsMiddleware, metrics=http_metrics, access_log="off")
    app.include_router(health_router({"kafka": kafka_ready, "jwks": verifier.ready, "draining": drain.ready}))

    @app.api_route("/drain", methods=["GET", "POST"], include_in_schema=False)
    async def drain_replica() -> DrainReport:
        """Drain this replica and answer when it is done (Kubernetes' preStop hook; not routed
        by the proxy): ``{"moved", "remaining", "seconds"}``."""
        return await drain.run()

    app.include_router(metrics_router(registry))
    app.include_router(router)
    app.include_router(asyncapi_router(router, {**CONSUMES, MEMBERSHIP_CHANNEL: PROJECTED_EVENTS, REVOCATION_CHANNEL: REVOCATION_EVENTS}))
    return SignalingASGIApp(
        sio, max_message_bytes=settings.max_message_bytes, other_asgi_app=app, socketio_path="socket.io"
    )
