"""Meeting rooms of this replica: join, leave, relay, and what Kafka events do to rooms.

A socket is in at most one meeting room. The socket.io room named after the meeting id holds
this replica's sockets; the replicated :class:`~parley_signaling.domain.directory.RoomDirectory`
of the fan-out manager holds every replica's, and answers "who is in the room" and "is the
target in the room".
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import socketio

from parley_events import ChatMessagePosted, MeetingEnded, ParticipantJoined, ParticipantLeft
from parley_security import InvalidToken, JwksVerifier, MembershipDenied, MembershipUnavailable, Principal
from parley_security.membership_projection import ProjectedMembership
from parley_signaling.domain.directory import PeerEntry
from parley_signaling.domain.protocol import (
    ErrorCode,
    IceEvent,
    IceRequest,
    JoinAck,
    JoinRequest,
    LeaveRequest,
    MediaStateRequest,
    MeetingEndedEvent,
    Peer,
    PeerJoinedEvent,
    PeerLeftEvent,
    PeerMediaStateEvent,
    SdpEvent,
    SdpRequest,
    SessionEvent,
    SignalingError,
    dump,
)
from parley_signaling.domain.ratelimit import TokenBucket
from parley_signaling.fanout import FanoutUnavailable, KafkaFanoutManager
from parley_signaling.messaging import ParticipantEvents

log = logging.getLogger(__name__)

LeaveReason = Literal["left", "disconnected", "ended"]


@dataclass
class LocalSocket:
    """A socket connected to this replica: who it is, its rate limit, its room, and the lock
    that makes its events run one at a time (``asyncio.Lock`` wakes waiters in FIFO order)."""

    sid: str
    principal: Principal
    bucket: TokenBucket
    meeting_id: str | None = None
    joined_at: datetime | None = field(default=None)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RoomService:
    """The rules of rooms on one replica (see docs/signaling.md)."""

    def __init__(
        self,
        *,
        sio: socketio.AsyncServer,
        fanout: KafkaFanoutManager,
        verifier: JwksVerifier,
        meetings: ProjectedMembership,
        participants: ParticipantEvents,
        replica_id: str,
        join_timeout_s: float,
    ) -> None:
        self._sio = sio
        self._fanout = fanout
        self._verifier = verifier
        self._meetings = meetings
        self._participants = participants
        self._replica_id = replica_id
        self._join_timeout_s = join_timeout_s
        self.sockets: dict[str, LocalSocket] = {}

    # --- connection -------------------------------------------------------------------

    def connected(self, sid: str, principal: Principal, bucket: TokenBucket) -> None:
        """Register an accepted socket (its connect handler verified ``principal``)."""
        self.sockets[sid] = LocalSocket(sid=sid, principal=principal, bucket=bucket)

    async def send_session(self, sid: str) -> None:
        """Emit ``session`` to a socket that just finished connecting."""
        socket = self.sockets.get(sid)
        if socket is None:
            return
        event = SessionEvent(sid=sid, replica_id=self._replica_id, user_id=socket.principal.user_id)
        await self._sio.emit("session", dump(event), to=sid, ignore_queue=True)

    async def disconnected(self, sid: str) -> None:
        """Forget a socket; if it was in a room, the room learns it left (``disconnected``)."""
        socket = self.sockets.pop(sid, None)
        if socket is not None and socket.meeting_id is not None:
            await self._leave(socket, "disconnected")

    def socket(self, sid: str) -> LocalSocket:
        socket = self.sockets.get(sid)
        if socket is None:  # an event raced the disconnect
            raise SignalingError(ErrorCode.UNAUTHORIZED, "socket is not connected")
        return socket

    # --- client events ----------------------------------------------------------------

    async def join(self, sid: str, request: JoinRequest) -> JoinAck:
        """Enter ``request.meeting_id``'s room if the user is a participant of the meeting (the
        membership projection's answer, meetings' over HTTP for one it does not know yet).

        The socket is shown to the room as ``request.display_name`` or, without one, the
        token's name (in ``peers``, ``peer-joined``, the directory and ``participant.joined``).
        Joining the room the socket is already in changes nothing, its name included.

        Errors: ``unauthorized`` (the access token expired since connecting), ``meeting_not_found``,
        ``forbidden``, ``meeting_ended``, ``unavailable`` (meetings or Kafka did not answer).
        """
        socket = self.socket(sid)
        meeting_id = request.meeting_id
        try:
            await self._verifier.verify(socket.principal.token)
        except InvalidToken as exc:
            raise SignalingError(ErrorCode.UNAUTHORIZED, f"access token no longer valid: {exc}") from exc
        try:
            membership = await self._meetings.membership_of(meeting_id, socket.principal)
        except MembershipDenied as exc:
            code = ErrorCode.MEETING_NOT_FOUND if exc.reason == "not_found" else ErrorCode.FORBIDDEN
            raise SignalingError(code, str(exc)) from exc
        except MembershipUnavailable as exc:
            raise SignalingError(ErrorCode.UNAVAILABLE, f"meetings could not be asked: {exc}") from exc
        if membership.status == "ended":
            raise SignalingError(ErrorCode.MEETING_ENDED, "the meeting has ended")
        if socket.meeting_id == meeting_id:  # joining again: same answer, no new peer-joined
            peers = self._fanout.directory.peers(meeting_id, exclude=sid)
            return self._join_ack(meeting_id, peers)
        if socket.meeting_id is not None:
            await self._leave(socket, "left")

        principal = socket.principal
        display_name = request.display_name or principal.display_name
        entry = PeerEntry(
            sid=sid,
            meeting_id=meeting_id,
            user_id=principal.user_id,
            display_name=display_name,
            replica_id=self._replica_id,
        )
        await self._sio.enter_room(sid, meeting_id)
        socket.meeting_id = meeting_id
        try:
            peers = await self._fanout.announce_join(entry, self._join_timeout_s)
        except FanoutUnavailable as exc:
            log.error("join of %s to %s not confirmed by Kafka: %s", sid, meeting_id, exc)
            socket.meeting_id = None
            await self._sio.leave_room(sid, meeting_id)
            await self._fanout.announce_leave(sid, meeting_id)
            raise SignalingError(ErrorCode.UNAVAILABLE, "the room could not be joined; try again") from exc
        if self.sockets.get(sid) is not socket or socket.meeting_id != meeting_id:
            # Disconnected, or taken out by meeting.ended, while the join was confirmed.
            raise SignalingError(ErrorCode.MEETING_ENDED, "left the room while joining")

        socket.joined_at = datetime.now(UTC)
        if peers:
            joined = PeerJoinedEvent(
                meeting_id=meeting_id, sid=sid, user_id=principal.user_id, display_name=display_name
            )
            try:
                await self._emit_to_entries("peer-joined", dump(joined), peers)
            except Exception:  # noqa: BLE001 - the join holds even if a peer misses it
                log.exception("peer-joined of %s in %s not sent", sid, meeting_id)
        self._participants.enqueue(
            ParticipantJoined(
                meeting_id=meeting_id,
                user_id=principal.user_id,
                display_name=display_name,
                sid=sid,
                replica_id=self._replica_id,
                joined_at=socket.joined_at,
            )
        )
        return self._join_ack(meeting_id, peers)

    async def leave(self, sid: str, request: LeaveRequest) -> None:
        """Leave the room. Error: ``not_in_room``."""
        socket = self.socket(sid)
        if socket.meeting_id != request.meeting_id:
            raise SignalingError(ErrorCode.NOT_IN_ROOM, "not in this meeting's room")
        await self._leave(socket, "left")

    async def relay_sdp(self, sid: str, event: Literal["offer", "answer"], request: SdpRequest) -> None:
        """Relay an offer/answer to ``request.to`` only. Errors: ``not_in_room``, ``peer_not_in_room``."""
        target = self._check_relay(sid, request.meeting_id, request.to)
        payload = SdpEvent(meeting_id=request.meeting_id, from_=sid, sdp=request.sdp)
        await self._emit_to_entries(event, dump(payload), [target])

    async def relay_ice(self, sid: str, request: IceRequest) -> None:
        """Relay an ICE candidate to ``request.to`` only. Errors: ``not_in_room``, ``peer_not_in_room``."""
        target = self._check_relay(sid, request.meeting_id, request.to)
        payload = IceEvent(meeting_id=request.meeting_id, from_=sid, candidate=request.candidate)
        await self._emit_to_entries("ice-candidate", dump(payload), [target])

    async def relay_media_state(self, sid: str, request: MediaStateRequest) -> None:
        """Relay the sender's media state to every other socket of its room, on any replica,
        as ``peer-media-state``; nothing is stored. Error: ``not_in_room``."""
        socket = self.socket(sid)
        if socket.meeting_id != request.meeting_id:
            raise SignalingError(ErrorCode.NOT_IN_ROOM, "not in this meeting's room")
        payload = PeerMediaStateEvent(
            meeting_id=request.meeting_id, sid=sid, audio=request.audio, video=request.video, screen=request.screen
        )
        peers = self._fanout.directory.peers(request.meeting_id, exclude=sid)
        if peers:
            await self._emit_to_entries("peer-media-state", dump(payload), peers)

    # --- Kafka events -----------------------------------------------------------------

    async def meeting_ended(self, event: MeetingEnded) -> None:
        """``meeting-ended`` to this replica's sockets in the room, then each leaves it."""
        members = [s for s in self.sockets.values() if s.meeting_id == event.meeting_id]
        if not members:
            return
        payload = MeetingEndedEvent(meeting_id=event.meeting_id, ended_by=event.ended_by, ended_at=event.ended_at)
        await self._sio.emit("meeting-ended", dump(payload), room=event.meeting_id, ignore_queue=True)
        for socket in members:
            await self._leave(socket, "ended", notify_room=False)

    async def chat_message_posted(self, event: ChatMessagePosted) -> None:
        """``chat-message`` (the message as the chat API returns it) to this replica's sockets in the room."""
        await self._sio.emit("chat-message", event.model_dump(mode="json"), room=event.meeting_id, ignore_queue=True)

    async def replica_lost(self, replica_id: str, entries: list[PeerEntry]) -> None:
        """``participant.left`` (reason ``replica_lost``) for each socket of a replica that
        crashed, restarted or stopped with sockets still in rooms; called on the one replica
        that reports them (:meth:`KafkaFanoutManager.reports_for`). Their peers got
        ``peer-left`` from the fan-out already."""
        left_at = datetime.now(UTC)
        for entry in entries:
            self._participants.enqueue(
                ParticipantLeft(
                    meeting_id=entry.meeting_id,
                    user_id=entry.user_id,
                    sid=entry.sid,
                    replica_id=replica_id,
                    reason="replica_lost",
                    left_at=left_at,
                )
            )
        log.warning("replica %s lost: reported %d sockets as left", replica_id, len(entries))

    async def replica_restored(self, replica_id: str, entries: list[PeerEntry]) -> None:
        """``participant.joined`` again for sockets :meth:`replica_lost` reported, whose replica
        turned out to be alive (it was cut off from Kafka or stalled, not dead); called on the
        replica that reported them. ``joined_at`` is now: the directory keeps no join time."""
        joined_at = datetime.now(UTC)
        for entry in entries:
            self._participants.enqueue(
                ParticipantJoined(
                    meeting_id=entry.meeting_id,
                    user_id=entry.user_id,
                    display_name=entry.display_name,
                    sid=entry.sid,
                    replica_id=replica_id,
                    joined_at=joined_at,
                )
            )
        log.warning("replica %s back: reported %d sockets as joined again", replica_id, len(entries))

    async def shutdown(self) -> None:
        """Disconnect every local socket (each leaves its room as ``disconnected``)."""
        for sid in list(self.sockets):
            try:
                await self._sio.disconnect(sid, ignore_queue=True)
            except Exception:  # noqa: BLE001 - shutting down
                log.warning("disconnecting %s failed", sid, exc_info=True)
            if sid in self.sockets:
                await self.disconnected(sid)

    # --- helpers ----------------------------------------------------------------------

    def _check_relay(self, sid: str, meeting_id: str, to: str) -> PeerEntry:
        socket = self.socket(sid)
        if socket.meeting_id != meeting_id:
            raise SignalingError(ErrorCode.NOT_IN_ROOM, "not in this meeting's room")
        target = self._fanout.directory.get(to)
        if to == sid or target is None or target.meeting_id != meeting_id:
            raise SignalingError(ErrorCode.PEER_NOT_IN_ROOM, "the target is not in this meeting's room")
        return target

    async def _emit_to_entries(self, event: str, payload: dict, entries: list[PeerEntry]) -> None:
        """Emit to exactly these sockets: locally for ours, one fan-out message for the others'."""
        local = [e.sid for e in entries if e.replica_id == self._replica_id]
        remote = [e.sid for e in entries if e.replica_id != self._replica_id]
        if local:
            await self._sio.emit(event, payload, to=local if len(local) > 1 else local[0], ignore_queue=True)
        if remote:
            await self._sio.emit(event, payload, to=remote if len(remote) > 1 else remote[0])

    async def _leave(self, socket: LocalSocket, reason: LeaveReason, *, notify_room: bool = True) -> None:
        meeting_id = socket.meeting_id
        if meeting_id is None:
            return
        socket.meeting_id = None
        await self._sio.leave_room(socket.sid, meeting_id)
        await self._fanout.announce_leave(socket.sid, meeting_id)
        if notify_room:
            left = PeerLeftEvent(meeting_id=meeting_id, sid=socket.sid, user_id=socket.principal.user_id, reason=reason)
            try:
                await self._sio.emit("peer-left", dump(left), room=meeting_id, skip_sid=socket.sid)
            except Exception:  # noqa: BLE001 - the leave happened; other replicas' peers time out
                log.exception("peer-left of %s in %s not sent", socket.sid, meeting_id)
        if socket.joined_at is not None:
            self._participants.enqueue(
                ParticipantLeft(
                    meeting_id=meeting_id,
                    user_id=socket.principal.user_id,
                    sid=socket.sid,
                    replica_id=self._replica_id,
                    reason=reason,
                    left_at=datetime.now(UTC),
                )
            )
        socket.joined_at = None

    def _join_ack(self, meeting_id: str, peers: list[PeerEntry]) -> JoinAck:
        return JoinAck(
            meeting_id=meeting_id,
            peers=[Peer(sid=p.sid, user_id=p.user_id, display_name=p.display_name) for p in peers],
            replica_id=self._replica_id,
        )
