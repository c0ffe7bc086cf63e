"""The host's requests to participants: mute one, mute everyone, ask one to unmute
(docs/signaling.md, "Moderation").

Client events ``mute`` and ``ask-unmute`` (validated by their models in
:mod:`parley_signaling.domain.protocol`) are the meeting's host's and co-hosts' only
(``forbidden`` otherwise; a co-host's role arrives with ``meeting.role_changed``) and share the gestures' rate limit (:func:`parley_signaling.gestures.room_sender`).
Each becomes one ``moderation`` event to every socket of the room on every replica, through
the socket.io fan-out, as reactions do: the target's client acts on it (the microphone off, or
a request to turn it on), the others may show it. Nothing is stored: a participant who joins
later is not muted by an earlier "mute everyone". Signaling cannot turn anyone's microphone
on or off itself: media flows peer to peer, so muting is the target client's part.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import socketio
from aiokafka.errors import KafkaError
from pydantic import BaseModel

from parley_signaling.domain.protocol import AskUnmuteRequest, ErrorCode, ModerationEvent, MuteRequest, SignalingError, dump
from parley_signaling.domain.rooms import RoomService
from parley_signaling.fanout import FanoutUnavailable, KafkaFanoutManager
from parley_signaling.gestures import MODERATORS, room_sender

Action = Callable[[str, Any], Awaitable[BaseModel | None]]


class Moderation:
    """``mute`` and ``ask-unmute`` of this replica's host sockets."""

    def __init__(
        self, *, sio: socketio.AsyncServer, fanout: KafkaFanoutManager, rooms: RoomService, rate_per_second: float, burst: int
    ) -> None:
        self._sio = sio
        self._fanout = fanout
        self._rooms = rooms
        self._rate = rate_per_second
        self._burst = burst

    def routes(self) -> dict[str, tuple[type[BaseModel], Action]]:
        """The client events this module serves, for :func:`parley_signaling.api.socket_events.register`."""
        return {"mute": (MuteRequest, self.mute), "ask-unmute": (AskUnmuteRequest, self.ask_unmute)}

    async def mute(self, sid: str, request: MuteRequest) -> None:
        """Mute participant ``request.sid``, or everyone but the host. Errors: ``not_in_room``,
        ``forbidden``, ``peer_not_in_room``, ``rate_limited``, ``unavailable``."""
        await self._send(sid, request.meeting_id, "mute", request.sid)

    async def ask_unmute(self, sid: str, request: AskUnmuteRequest) -> None:
        """Ask participant ``request.sid`` to unmute. Errors: as :meth:`mute`."""
        await self._send(sid, request.meeting_id, "ask-unmute", request.sid)

    async def _send(self, sid: str, meeting_id: str, action: str, target: str | None) -> None:
        socket, host = room_sender(self._rooms, sid, meeting_id, self._rate, self._burst)
        if socket.role not in MODERATORS:
            raise SignalingError(
                ErrorCode.FORBIDDEN, "only the meeting's host or a co-host can mute others or ask them to unmute"
            )
        peers = {entry.sid: entry for entry in self._fanout.directory.peers(meeting_id)}
        if target is not None and (target == host or target not in peers):
            raise SignalingError(ErrorCode.PEER_NOT_IN_ROOM, "no other participant of this room has this id")
        by_name = peers[host].display_name if host in peers else socket.principal.display_name
        event = ModerationEvent(
            meeting_id=meeting_id, action=action, sid=target, by=host, by_name=by_name, at=datetime.now(UTC)
        )
        try:
            await self._sio.emit("moderation", dump(event), room=meeting_id)
        except (FanoutUnavailable, KafkaError) as exc:
            raise SignalingError(ErrorCode.UNAVAILABLE, "the request could not be sent; try again") from exc
