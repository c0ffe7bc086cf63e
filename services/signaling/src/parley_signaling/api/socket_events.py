"""socket.io handlers: authenticate connections, validate every event, acknowledge.

Thin: the connect handler verifies the token; every client event, whatever its name, reaches
one function (``SignalingServer.client_event``) that charges the sender's rate limit, refuses
names outside the protocol (the reserved ``connect``, ``disconnect``, ``*``… included),
validates the payload against its model (docs/signaling.md), calls
:class:`~parley_signaling.domain.rooms.RoomService` under the socket's lock, and turns the
outcome into ``{"ok": true, "data"}`` or ``{"ok": false, "error": {"code", "message"}}``.
Nothing a client sends can raise out of a handler.

A relay (offer, answer, ICE candidate) to a participant on this replica, the busiest event
by far, is done as it is read instead (``SignalingServer.client_event_now``): the same checks
and outcome without a pass through the event loop and python-socketio's layers, which took
about a quarter of a replica's CPU per relayed message (bench/README.md, "Relays handled as
they are read").
"""

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from parley_security import InvalidToken, JwksVerifier, RevokedSessions, refuse_revoked
from parley_signaling.config import Settings
from parley_signaling.domain.protocol import (
    ConnectErrorCode,
    ErrorCode,
    IceRequest,
    JoinAck,
    JoinRequest,
    LeaveRequest,
    MediaStateRequest,
    SdpRequest,
    SignalingError,
    ack_error,
    ack_ok,
)
from parley_signaling.domain.ratelimit import TokenBucket, UserLimits
from parley_signaling.domain.rooms import RoomService
from parley_signaling.drain import Drain
from parley_signaling.metrics import SignalingMetrics
from parley_signaling.server import SignalingServer
from parley_signaling.users import UserDelivery

log = logging.getLogger(__name__)

Ack = dict[str, Any]
Action = Callable[[str, Any], Awaitable[BaseModel | None]]

#: Names socket.io and its clients reserve (JavaScript's RESERVED_EVENTS, python-socketio's
#: handler names) and python-socketio's catch-all: never client events.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener", "message", "*"}
)


#: The events ``client_event_now`` may handle as they are read (see :func:`register`).
RELAY_EVENTS = ("offer", "answer", "ice-candidate")
#: What a socket over its rate limit is told.
RATE_LIMITED = "too many events; slow down"


def refuse(code: ConnectErrorCode, message: str) -> SocketRefused:
    """A refused connection: the client's ``connect_error`` carries ``{"code", "message"}`` as data."""
    return SocketRefused(message, {"code": code.value, "message": message})


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "payload"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def register(
    sio: SignalingServer,
    *,
    rooms: RoomService,
    drain: Drain,
    verifier: JwksVerifier,
    settings: Settings,
    metrics: SignalingMetrics,
    users: UserDelivery,
    extra_routes: Mapping[str, tuple[type[BaseModel], Action]] | None = None,
    join_ack: Callable[[JoinAck], JoinAck] = lambda ack: ack,
    revoked: RevokedSessions | None = None,
    on_connected: Callable[[Any], None] = lambda principal: None,
) -> None:
    """Attach the connect and disconnect handlers and the client event function to ``sio``.
    An accepted socket joins its user's room (:mod:`parley_signaling.users`); a guest's
    socket (a guest token) does not: it may only ``join`` its own meeting's room.

    ``extra_routes``: client events served by feature modules (name -> payload model and
    action; e.g. :meth:`parley_signaling.gestures.Gestures.routes`), handled like the core
    ones. ``join_ack`` completes a ``join`` acknowledgement with such a module's room state.
    A user (or guest) has at most ``PARLEY_SIGNALING_MAX_SOCKETS_PER_USER`` sockets on the
    replica (``too_many_sockets``), whose events also share one budget
    (:class:`~parley_signaling.domain.ratelimit.UserLimits`).
    A token of a session in ``revoked`` is refused at connect (``unauthorized``);
    ``on_connected(principal)`` is called for each accepted socket (the session heartbeat).
    """
    rejections = sio.rejections
    allowed_origins = frozenset(settings.allowed_origins)
    user_limits = UserLimits(
        max_sockets=settings.signaling_max_sockets_per_user,
        rate=settings.signaling_user_rate_per_second,
        burst=settings.signaling_user_rate_burst,
    )
    validation_context = {"max_sdp_bytes": settings.signaling_max_sdp_bytes}

    @sio.event
    async def connect(sid: str, environ: Mapping[str, Any], auth: Any = None) -> None:
        if drain.active:
            metrics.connections.labels("draining").inc()
            raise refuse(ConnectErrorCode.DRAINING, "this replica is stopping: connect again to reach another one")
        origin = environ.get("HTTP_ORIGIN")
        if origin and origin not in allowed_origins:
            metrics.connections.labels("origin_not_allowed").inc()
            raise refuse(ConnectErrorCode.ORIGIN_NOT_ALLOWED, f"origin {origin} is not allowed")
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            metrics.connections.labels("unauthorized").inc()
            raise refuse(ConnectErrorCode.UNAUTHORIZED, 'missing access token: connect with auth {"token": ...}')
        try:
            principal = await verifier.verify(token)
            if revoked is not None:
                refuse_revoked(principal, revoked)
        except InvalidToken as exc:
            metrics.connections.labels("unauthorized").inc()
            raise refuse(ConnectErrorCode.UNAUTHORIZED, str(exc)) from exc
        if not sio.still_open(sid):
            # the client went away while its token was checked (a JWKS fetch): python-socketio
            # sends no disconnect for a socket still connecting, so nothing would unregister it
            # (docs/upstream/python-socketio-connect-timeout.md); refused, the sid is let go
            metrics.connections.labels("closed_while_connecting").inc()
            return False
        user_bucket = user_limits.admit(principal.user_id)
        if user_bucket is None:
            metrics.connections.labels("too_many_sockets").inc()
            raise refuse(
                ConnectErrorCode.TOO_MANY_SOCKETS,
                f"this account has {user_limits.max_sockets} connections to this server already: "
                "close one (another tab or device) and connect again",
            )
        # counted and registered with no await between: concurrent connects cannot overshoot
        rooms.connected(
            sid, principal, TokenBucket(settings.signaling_rate_per_second, settings.signaling_rate_burst), user_bucket
        )
        await sio.save_session(sid, {"principal": principal})
        if not principal.is_guest:  # a guest gets no per-user deliveries (presence, contacts, calls)
            await users.register(sid, principal.user_id)
        on_connected(principal)
        metrics.connections.labels("accepted").inc()

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        socket = rooms.sockets.get(sid)
        if socket is not None:
            user_limits.release(socket.principal.user_id)
        try:
            await rooms.disconnected(sid)
        except Exception:  # noqa: BLE001
            log.exception("disconnect of %s failed", sid)

    async def client_event(sid: str, data: Any) -> Ack:
        """Every client event: rate limit, then name, payload, and the action, one at a time
        per socket in arrival order (the lock is FIFO and nothing before it awaits)."""
        started = time.perf_counter()
        name = data[0] if isinstance(data, list) and data and isinstance(data[0], str) else None
        route = routes.get(name) if name is not None else None
        label = metrics.event_label(name if route is not None else "")
        try:
            socket = rooms.socket(sid)
            if not socket.bucket.allow(socket.user_bucket):
                raise SignalingError(ErrorCode.RATE_LIMITED, RATE_LIMITED)
            if name is None:
                rejections.reject("malformed", sid, f"event data of type {type(data).__name__}")
                raise SignalingError(ErrorCode.INVALID_PAYLOAD, "an event is a JSON array: [name, payload]")
            if route is None:
                reserved = name in RESERVED_EVENTS
                rejections.reject("reserved_event" if reserved else "unknown_event", sid, f"event {name[:64]!r}")
                kind = "reserved" if reserved else "unknown"
                raise SignalingError(ErrorCode.INVALID_PAYLOAD, f"{kind} event name {name[:64]!r}")
            model, action = route
            args = data[1:]
            if len(args) != 1 or not isinstance(args[0], dict):
                raise SignalingError(ErrorCode.INVALID_PAYLOAD, "the payload must be one JSON object")
            try:
                request = model.model_validate(args[0], context=validation_context)
            except ValidationError as exc:
                raise SignalingError(ErrorCode.INVALID_PAYLOAD, _validation_message(exc)) from exc
            async with socket.lock:
                result = await action(sid, request)
            ack, outcome = ack_ok(result), "ok"
        except SignalingError as exc:
            ack, outcome = ack_error(exc.code, exc.message), exc.code.value
        except Exception:  # noqa: BLE001 - a client event never crashes the server
            log.exception("event %s from %s failed", label, sid)
            ack, outcome = ack_error(ErrorCode.INTERNAL, "internal error"), ErrorCode.INTERNAL.value
        metrics.handled(label, outcome, time.perf_counter() - started)
        return ack

    def client_event_now(sid: str, data: Any) -> Ack | None:
        """:func:`client_event` for a well-formed offer, answer or ICE candidate to a
        participant on this replica whose socket can take a packet at once: done without
        awaiting anything, as the server reads it (``SignalingServer._handle_now``), with the
        same outcome, acknowledgement and count. None, with nothing done (no token taken),
        for any other event, which takes :func:`client_event`: an event that would fail, but
        for ``rate_limited``, is one of those."""
        started = time.perf_counter()
        if not isinstance(data, list) or len(data) != 2 or not isinstance(data[1], dict):
            return None
        name = data[0]
        model = relays.get(name) if isinstance(name, str) else None
        socket = rooms.sockets.get(sid)
        if model is None or socket is None or socket.lock.locked():
            return None
        try:
            request = model.model_validate(data[1], context=validation_context)
        except ValidationError:
            return None
        try:
            relay = rooms.local_relay(sid, request)
            target = sio.socket_now(relay[0]) if relay is not None else None
            if target is None:
                return None
            if socket.bucket.allow(socket.user_bucket):
                sio.emit_now(target, name, relay[1])
                ack, outcome = ack_ok(None), "ok"
            else:
                ack, outcome = ack_error(ErrorCode.RATE_LIMITED, RATE_LIMITED), ErrorCode.RATE_LIMITED.value
        except Exception:  # noqa: BLE001 - as in client_event: a client event never crashes the server
            log.exception("event %s from %s failed", name, sid)
            ack, outcome = ack_error(ErrorCode.INTERNAL, "internal error"), ErrorCode.INTERNAL.value
        metrics.handled(name, outcome, time.perf_counter() - started)
        return ack

    async def join(sid: str, request: JoinRequest) -> BaseModel:
        return join_ack(await rooms.join(sid, request))

    async def leave(sid: str, request: LeaveRequest) -> None:
        await rooms.leave(sid, request)

    async def offer(sid: str, request: SdpRequest) -> None:
        await rooms.relay_sdp(sid, "offer", request)

    async def answer(sid: str, request: SdpRequest) -> None:
        await rooms.relay_sdp(sid, "answer", request)

    async def ice_candidate(sid: str, request: IceRequest) -> None:
        await rooms.relay_ice(sid, request)

    async def media_state(sid: str, request: MediaStateRequest) -> None:
        await rooms.relay_media_state(sid, request)

    routes: dict[str, tuple[type[BaseModel], Action]] = {
        "join": (JoinRequest, join),
        "leave": (LeaveRequest, leave),
        "offer": (SdpRequest, offer),
        "answer": (SdpRequest, answer),
        "ice-candidate": (IceRequest, ice_candidate),
        "media-state": (MediaStateRequest, media_state),
    }
    for name, route in (extra_routes or {}).items():
        if name in routes or name in RESERVED_EVENTS:
            raise ValueError(f"client event {name!r} is served already")
        routes[name] = route
    relays = {name: routes[name][0] for name in RELAY_EVENTS}
    sio.client_event = client_event
    sio.client_event_now = client_event_now
