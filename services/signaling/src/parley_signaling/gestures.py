"""Raised hands and reactions (docs/signaling.md, "Hands and reactions").

Client events ``raise-hand``, ``lower-hand`` and ``reaction`` (validated by their models in
:mod:`parley_signaling.domain.protocol`, like every event) are charged, besides the socket's
general limit, to a per-socket token bucket of their own (``PARLEY_SIGNALING_GESTURE_RATE_PER_SECOND``
sustained, ``PARLEY_SIGNALING_GESTURE_BURST`` at once); over it they get ``rate_limited``.

Hands are room state that every replica keeps: a raise or lower is a ``parley.room.hand``
message on the fan-out topic (:meth:`KafkaFanoutManager.publish_room_message`), applied by
every replica when it reads it, in the topic's one order. So the order of hands is the same
on every replica, each replica emits ``hands`` (the room's list in that order) to its own
sockets of the room, and a late joiner on any replica gets the list in its ``join``
acknowledgement. A hand whose participant has left the room (the directory no longer holds
it) is dropped. A replica that starts reads the topic from its end: until a hand changes, its
late joiners do not see hands raised before it started (signaling keeps nothing durable).

Reactions are not stored: ``reaction`` goes to every socket of the room on every replica
through the socket.io fan-out (the sender's included).
"""

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from parley_signaling.domain.protocol import (
    ErrorCode,
    HandsEvent,
    JoinAck,
    LowerHandRequest,
    RaisedHand,
    RaiseHandRequest,
    ReactionEvent,
    ReactionRequest,
    SignalingError,
    dump,
)
from parley_signaling.domain.rooms import LocalSocket
from parley_signaling.room_entries import RoomEntries
from parley_signaling.room_relay import Action, RoomRelay, read_room_message

HAND_METHOD = "parley.room.hand"
#: The roles that may lower others' hands, mute others and ask them to unmute.
MODERATORS = ("host", "cohost")


class HandMessage(BaseModel):
    """A hand raised or lowered, on the fan-out topic: participant ``sid`` (``user_id``) of
    ``meeting_id``; ``lowered_by`` the participant who lowered another's hand."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    method: Literal["parley.room.hand"] = HAND_METHOD
    meeting_id: str
    sid: str
    user_id: str
    raised: bool
    lowered_by: str | None = None
    at: datetime


class Gestures:
    """Hands and reactions of this replica's sockets; the room's hands as every replica has them."""

    def __init__(self, relay: RoomRelay) -> None:
        self._relay = relay
        #: raised hands by meeting, then participant id, in the order they were raised
        self._hands: RoomEntries[RaisedHand] = RoomEntries(relay.fanout.directory)
        relay.fanout.room_handlers[HAND_METHOD] = self._on_hand

    def routes(self) -> dict[str, tuple[type[BaseModel], Action]]:
        """The client events this module serves, for :func:`parley_signaling.api.socket_events.register`."""
        return {
            "raise-hand": (RaiseHandRequest, self.raise_hand),
            "lower-hand": (LowerHandRequest, self.lower_hand),
            "reaction": (ReactionRequest, self.react),
        }

    def with_hands(self, ack: JoinAck) -> JoinAck:
        """A ``join`` acknowledgement with the room's raised hands."""
        return ack.model_copy(update={"hands": self.hands(ack.meeting_id)})

    def hands(self, meeting_id: str) -> list[RaisedHand]:
        """The room's raised hands in the order they were raised (of participants still in it)."""
        return self._hands.of(meeting_id)

    # --- client events ------------------------------------------------------------------

    async def raise_hand(self, sid: str, request: RaiseHandRequest) -> None:
        """Raise the sender's hand. Errors: ``not_in_room``, ``rate_limited``, ``unavailable``."""
        socket, participant = self._sender(sid, request.meeting_id)
        if self._hands.holds(request.meeting_id, participant):
            return
        await self._publish(
            HandMessage(
                meeting_id=request.meeting_id,
                sid=participant,
                user_id=socket.principal.user_id,
                raised=True,
                at=datetime.now(UTC),
            )
        )

    async def lower_hand(self, sid: str, request: LowerHandRequest) -> None:
        """Lower the sender's hand, or (the host only) participant ``request.sid``'s. Errors:
        ``not_in_room``, ``rate_limited``, ``forbidden`` (not the host), ``unavailable``."""
        socket, participant = self._sender(sid, request.meeting_id)
        target = request.sid or participant
        if target != participant and socket.role not in MODERATORS:
            raise SignalingError(ErrorCode.FORBIDDEN, "only the host or a co-host can lower another participant's hand")
        raised = {hand.sid: hand for hand in self.hands(request.meeting_id)}
        if target not in raised:
            return
        await self._publish(
            HandMessage(
                meeting_id=request.meeting_id,
                sid=target,
                user_id=raised[target].user_id,
                raised=False,
                lowered_by=participant if target != participant else None,
                at=datetime.now(UTC),
            )
        )

    async def react(self, sid: str, request: ReactionRequest) -> None:
        """``reaction`` to the whole room, on every replica. Errors: ``not_in_room``,
        ``rate_limited``, ``unavailable``."""
        socket, participant = self._sender(sid, request.meeting_id)
        event = ReactionEvent(
            meeting_id=request.meeting_id,
            sid=participant,
            user_id=socket.principal.user_id,
            emoji=request.emoji,
            at=datetime.now(UTC),
        )
        await self._relay.emit("reaction", dump(event), request.meeting_id, "the reaction could not be sent")

    # --- the fan-out ----------------------------------------------------------------------

    async def _on_hand(self, raw: dict[str, Any]) -> None:
        """A ``parley.room.hand`` read back from the topic (every replica): apply it, then
        ``hands`` to this replica's sockets of the room when it changed something."""
        message = read_room_message(HandMessage, raw)
        if message is None:
            return
        if message.raised:
            hand = RaisedHand(sid=message.sid, user_id=message.user_id, raised_at=message.at)
            changed = self._hands.put(message.meeting_id, message.sid, hand)
        else:
            changed = self._hands.remove(message.meeting_id, message.sid)
        if not changed:
            return  # raised twice, or lowered when not raised: nothing changes
        event = HandsEvent(
            meeting_id=message.meeting_id,
            sid=message.sid,
            raised=message.raised,
            lowered_by=message.lowered_by,
            hands=self.hands(message.meeting_id),
        )
        await self._relay.sio.emit("hands", dump(event), room=message.meeting_id, ignore_queue=True)

    # --- helpers --------------------------------------------------------------------------

    def _sender(self, sid: str, meeting_id: str) -> tuple[LocalSocket, str]:
        return self._relay.sender(sid, meeting_id)

    async def _publish(self, message: HandMessage) -> None:
        await self._relay.publish(message, "the hand could not be changed")
