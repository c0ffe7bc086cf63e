"""The host's requests to participants: mute one, mute everyone, ask one to unmute
(docs/signaling.md, "Moderation").

Client events ``mute`` and ``ask-unmute`` (validated by their models in
:mod:`parley_signaling.domain.protocol`) are the meeting's host's and co-hosts' only
(``forbidden`` otherwise; a co-host's role arrives with ``meeting.role_changed``) and share the gestures' rate limit (:meth:`parley_signaling.room_relay.RoomRelay.sender`).
Each becomes one ``moderation`` event to every socket of the room on every replica, through
the socket.io fan-out, as reactions do: the target's client acts on it (the microphone off, or
a request to turn it on), the others may show it. Nothing is stored: a participant who joins
later is not muted by an earlier "mute everyone". Signaling cannot turn anyone's microphone
on or off itself: media flows peer to peer, so muting is the target client's part.
"""

from datetime import UTC, datetime

from pydantic import BaseModel

from parley_signaling.domain.protocol import AskUnmuteRequest, ErrorCode, ModerationEvent, MuteRequest, SignalingError, dump
from parley_signaling.gestures import MODERATORS
from parley_signaling.room_relay import Action, RoomRelay


class Moderation:
    """``mute`` and ``ask-unmute`` of this replica's host sockets."""

    def __init__(self, relay: RoomRelay) -> None:
        self._relay = relay

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
        socket, host = self._relay.sender(sid, meeting_id)
        if socket.role not in MODERATORS:
            raise SignalingError(
                ErrorCode.FORBIDDEN, "only the meeting's host or a co-host can mute others or ask them to unmute"
            )
        peers = {entry.sid: entry for entry in self._relay.fanout.directory.peers(meeting_id)}
        if target is not None and (target == host or target not in peers):
            raise SignalingError(ErrorCode.PEER_NOT_IN_ROOM, "no other participant of this room has this id")
        by_name = peers[host].display_name if host in peers else socket.principal.display_name
        event = ModerationEvent(
            meeting_id=meeting_id, action=action, sid=target, by=host, by_name=by_name, at=datetime.now(UTC)
        )
        await self._relay.emit("moderation", dump(event), meeting_id, "the request could not be sent")
