"""What the room features relay with (hands and reactions, the host's moderation, who
records, the spotlight): the socket.io server, the fan-out, this replica's sockets and the
gestures' rate limit, which they share; and the parts of a ``parley.room.*`` message's round
trip they share."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import socketio
from aiokafka.errors import KafkaError
from pydantic import BaseModel, ValidationError

from parley_signaling.domain.protocol import ErrorCode, SignalingError
from parley_signaling.domain.ratelimit import TokenBucket
from parley_signaling.domain.rooms import LocalSocket, RoomService
from parley_signaling.fanout import FanoutUnavailable, KafkaFanoutManager

log = logging.getLogger(__name__)

#: The name of the gestures' bucket in :attr:`LocalSocket.limits`.
LIMIT = "gesture"

#: A client event's handler: the socket id and the validated request.
Action = Callable[[str, Any], Awaitable[BaseModel | None]]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RoomRelay:
    sio: socketio.AsyncServer
    fanout: KafkaFanoutManager
    rooms: RoomService
    rate_per_second: float
    burst: int

    def sender(self, sid: str, meeting_id: str) -> tuple[LocalSocket, str]:
        """The sender's socket and participant id, once in the room and within its gesture
        limit (hands, reactions, recordings, the spotlight and the host's moderation share
        it). Errors: ``not_in_room``, ``rate_limited``."""
        socket = self.rooms.socket(sid)
        if socket.meeting_id != meeting_id:
            raise SignalingError(ErrorCode.NOT_IN_ROOM, "not in this meeting's room")
        bucket = socket.limits.get(LIMIT)
        if bucket is None:
            bucket = socket.limits[LIMIT] = TokenBucket(self.rate_per_second, self.burst)
        if not bucket.allow():
            raise SignalingError(ErrorCode.RATE_LIMITED, "too many hands, reactions or requests; slow down")
        return socket, socket.participant_id or sid

    async def publish(self, message: BaseModel, failed: str) -> None:
        """Send a ``parley.room.*`` message to every replica; ``unavailable`` (saying ``failed``)
        when it cannot be published."""
        try:
            await self.fanout.publish_room_message(message.model_dump(mode="json"))
        except (FanoutUnavailable, KafkaError) as exc:
            raise SignalingError(ErrorCode.UNAVAILABLE, f"{failed}; try again") from exc

    async def emit(self, event: str, payload: dict[str, Any], meeting_id: str, failed: str) -> None:
        """``event`` to every socket of the room on every replica (socket.io fan-out);
        ``unavailable`` (saying ``failed``) when it cannot be sent."""
        try:
            await self.sio.emit(event, payload, room=meeting_id)
        except (FanoutUnavailable, KafkaError) as exc:
            raise SignalingError(ErrorCode.UNAVAILABLE, f"{failed}; try again") from exc


def read_room_message(model: type[M], raw: dict[str, Any]) -> M | None:
    """A ``parley.room.*`` message read back from the topic, or None (logged) when malformed."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        log.warning("malformed %s message skipped: %s", raw.get("method", "room"), exc)
        return None
