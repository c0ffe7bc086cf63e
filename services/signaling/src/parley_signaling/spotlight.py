"""The room's spotlight (docs/signaling.md, "Spotlight"): the meeting's host or a co-host shows
one participant large on every page of the room, or takes the spotlight away.

Client event ``spotlight`` (validated by :class:`~parley_signaling.domain.protocol.SpotlightRequest`)
is the host's and co-hosts' only (``forbidden`` otherwise) and shares the gestures' rate limit
(:meth:`parley_signaling.room_relay.RoomRelay.sender`). The spotlight is room state that every replica
keeps, as raised hands are: a change is a ``parley.room.spotlight`` message on the fan-out
topic, applied by every replica in the topic's one order, and each replica sends ``spotlight``
to its own sockets of the room; a late joiner gets the current one in its ``join``
acknowledgement. A spotlight whose participant has left the room is gone (clients drop it on
``peer-left``). Nothing is durable: a replica that has just started knows only the spotlights
set since it started.
"""

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from parley_signaling.domain.directory import PeerEntry
from parley_signaling.domain.protocol import ErrorCode, JoinAck, SignalingError, SpotlightEvent, SpotlightRequest, dump
from parley_signaling.gestures import MODERATORS
from parley_signaling.room_relay import Action, RoomRelay, read_room_message

SPOTLIGHT_METHOD = "parley.room.spotlight"


class SpotlightMessage(BaseModel):
    """The spotlight of ``meeting_id`` set on participant ``sid`` (``None``: taken away) by
    participant ``by``, on the fan-out topic."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    method: Literal["parley.room.spotlight"] = SPOTLIGHT_METHOD
    meeting_id: str
    sid: str | None
    by: str
    at: datetime


class Spotlight:
    """``spotlight`` of this replica's moderators; every room's spotlight as every replica has it."""

    def __init__(self, relay: RoomRelay) -> None:
        self._relay = relay
        #: the spotlighted participant id of each room that has one
        self._spotlights: dict[str, str] = {}
        relay.fanout.room_handlers[SPOTLIGHT_METHOD] = self._on_spotlight
        self._directory = relay.fanout.directory
        self._directory.on_removed.append(self._forget)

    def routes(self) -> dict[str, tuple[type[BaseModel], Action]]:
        """The client events this module serves, for :func:`parley_signaling.api.socket_events.register`."""
        return {"spotlight": (SpotlightRequest, self.spotlight)}

    def with_spotlight(self, ack: JoinAck) -> JoinAck:
        """A ``join`` acknowledgement with the room's spotlight."""
        return ack.model_copy(update={"spotlight": self.current(ack.meeting_id)})

    def current(self, meeting_id: str) -> str | None:
        """The participant id spotlighted in the room (it goes when the participant leaves)."""
        return self._spotlights.get(meeting_id)

    async def spotlight(self, sid: str, request: SpotlightRequest) -> None:
        """Spotlight participant ``request.sid`` (``None``: nobody). Errors: ``not_in_room``,
        ``forbidden``, ``peer_not_in_room``, ``rate_limited``, ``unavailable``."""
        socket, participant = self._relay.sender(sid, request.meeting_id)
        if socket.role not in MODERATORS:
            raise SignalingError(ErrorCode.FORBIDDEN, "only the meeting's host or a co-host can spotlight a participant")
        if request.sid is not None and self._directory.in_room(request.meeting_id, request.sid) is None:
            raise SignalingError(ErrorCode.PEER_NOT_IN_ROOM, "no participant of this room has this id")
        if request.sid == self.current(request.meeting_id):
            return
        message = SpotlightMessage(meeting_id=request.meeting_id, sid=request.sid, by=participant, at=datetime.now(UTC))
        await self._relay.publish(message, "the spotlight could not be changed")

    async def _on_spotlight(self, raw: dict[str, Any]) -> None:
        """A ``parley.room.spotlight`` read back from the topic (every replica): apply it, then
        ``spotlight`` to this replica's sockets of the room when it changed something."""
        message = read_room_message(SpotlightMessage, raw)
        if message is None:
            return
        if message.sid is not None and self._directory.in_room(message.meeting_id, message.sid) is None:
            return  # left after the spotlight was asked for, before it was read back here
        if message.sid == self.current(message.meeting_id):
            return
        if message.sid is None:
            del self._spotlights[message.meeting_id]
        else:
            self._spotlights[message.meeting_id] = message.sid
        event = SpotlightEvent(meeting_id=message.meeting_id, sid=message.sid, by=message.by)
        await self._relay.sio.emit("spotlight", dump(event), room=message.meeting_id, ignore_queue=True)

    def _forget(self, entry: PeerEntry) -> None:
        """The spotlighted participant left (or its replica was dropped): nobody's spotlight."""
        if self._spotlights.get(entry.meeting_id) == entry.sid:
            del self._spotlights[entry.meeting_id]
