"""socket.io handlers: authenticate connections, validate every event, acknowledge.

Thin: each handler checks the socket's rate limit, validates the payload against its model
(docs/signaling.md), calls :class:`~parley_signaling.domain.rooms.RoomService`, and turns the
outcome into ``{"ok": true, "data"}`` or ``{"ok": false, "error": {"code", "message"}}``.
Nothing a client sends can raise out of a handler.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from parley_security import InvalidToken, JwksVerifier
from parley_signaling.config import Settings
from parley_signaling.domain.protocol import (
    ConnectErrorCode,
    ErrorCode,
    IceRequest,
    JoinRequest,
    LeaveRequest,
    MediaStateRequest,
    SdpRequest,
    SignalingError,
    ack_error,
    ack_ok,
)
from parley_signaling.domain.ratelimit import TokenBucket
from parley_signaling.domain.rooms import RoomService
from parley_signaling.metrics import SignalingMetrics

log = logging.getLogger(__name__)

Ack = dict[str, Any]


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
    sio: socketio.AsyncServer,
    *,
    rooms: RoomService,
    verifier: JwksVerifier,
    settings: Settings,
    metrics: SignalingMetrics,
) -> None:
    """Attach the connect, disconnect and client event handlers to ``sio``."""
    allowed_origins = frozenset(settings.allowed_origins)
    validation_context = {"max_sdp_bytes": settings.signaling_max_sdp_bytes}

    @sio.event
    async def connect(sid: str, environ: Mapping[str, Any], auth: Any = None) -> None:
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
        except InvalidToken as exc:
            metrics.connections.labels("unauthorized").inc()
            raise refuse(ConnectErrorCode.UNAUTHORIZED, str(exc)) from exc
        await sio.save_session(sid, {"principal": principal})
        rooms.connected(sid, principal, TokenBucket(settings.signaling_rate_per_second, settings.signaling_rate_burst))
        metrics.connections.labels("accepted").inc()

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        try:
            await rooms.disconnected(sid)
        except Exception:  # noqa: BLE001
            log.exception("disconnect of %s failed", sid)

    def client_event(
        name: str, model: type[BaseModel], action: Callable[[str, Any], Awaitable[BaseModel | None]]
    ) -> None:
        async def handler(sid: str, *args: Any) -> Ack:
            return await handle(name, sid, args, model, action)

        sio.on(name, handler)

    async def handle(
        name: str,
        sid: str,
        args: tuple[Any, ...],
        model: type[BaseModel] | None,
        action: Callable[[str, Any], Awaitable[BaseModel | None]] | None,
    ) -> Ack:
        started = time.perf_counter()
        label = metrics.event_label(name)
        try:
            socket = rooms.socket(sid)
            if not socket.bucket.allow():
                raise SignalingError(ErrorCode.RATE_LIMITED, "too many events; slow down")
            if model is None or action is None:
                raise SignalingError(ErrorCode.INVALID_PAYLOAD, f"unknown event {name[:64]!r}")
            if len(args) != 1 or not isinstance(args[0], dict):
                raise SignalingError(ErrorCode.INVALID_PAYLOAD, "the payload must be one JSON object")
            try:
                request = model.model_validate(args[0], context=validation_context)
            except ValidationError as exc:
                raise SignalingError(ErrorCode.INVALID_PAYLOAD, _validation_message(exc)) from exc
            data = await action(sid, request)
            ack, result = ack_ok(data), "ok"
        except SignalingError as exc:
            ack, result = ack_error(exc.code, exc.message), exc.code.value
        except Exception:  # noqa: BLE001 - a client event never crashes the server
            log.exception("event %s from %s failed", label, sid)
            ack, result = ack_error(ErrorCode.INTERNAL, "internal error"), ErrorCode.INTERNAL.value
        metrics.events.labels(label, result).inc()
        metrics.event_duration.labels(label).observe(time.perf_counter() - started)
        return ack

    async def join(sid: str, request: JoinRequest) -> BaseModel:
        return await rooms.join(sid, request)

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

    client_event("join", JoinRequest, join)
    client_event("leave", LeaveRequest, leave)
    client_event("offer", SdpRequest, offer)
    client_event("answer", SdpRequest, answer)
    client_event("ice-candidate", IceRequest, ice_candidate)
    client_event("media-state", MediaStateRequest, media_state)

    @sio.on("*")
    async def unknown_event(event: str, sid: str, *args: Any) -> Ack:
        return await handle(str(event), sid, args, None, None)
