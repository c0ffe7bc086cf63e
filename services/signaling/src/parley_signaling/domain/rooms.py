"""Meeting rooms of this replica: join, leave, resume, relay, and what Kafka events do to rooms.

A socket is in at most one meeting room, as one participant. The socket.io room named after
the meeting id holds this replica's sockets; the replicated
:class:`~parley_signaling.domain.directory.RoomDirectory` of the fan-out manager holds every
replica's participants, and answers "who is in the room" and "is the target in the room".

A participant's id is the sid of the socket that joined first. A resumable participant whose
socket drops is *held* here for the resume window; a new socket of the same user, on any
replica, takes it over with ``join`` ``resume`` (docs/signaling.md, "Resumable participants").
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import socketio

from parley_events import (
    ChatMessagePosted,
    MeetingCancelled,
    MeetingEnded,
    MeetingExpired,
    MeetingRoleChanged,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantRemoved,
)
from parley_security import InvalidToken, JwksVerifier, MembershipDenied, MembershipUnavailable, Principal
from parley_security.membership_projection import ProjectedMembership
from parley_signaling.domain.directory import PeerEntry
from parley_signaling.domain.protocol import (
    ErrorCode,
    IceEvent,
    IceRequest,
    JoinAck,
    JoinRequest,
    LeaveReason,
    LeaveRequest,
    MediaStateRequest,
    DrainingEvent,
    MeetingEndedEvent,
    Peer,
    PeerJoinedEvent,
    PeerLeftEvent,
    ParticipantMovedEvent,
    PeerMediaStateEvent,
    PeerResumedEvent,
    RemovedEvent,
    RoleChangedEvent,
    SdpEvent,
    SdpRequest,
    SessionEvent,
    SignalingError,
    dump,
)
from parley_signaling.domain.ratelimit import TokenBucket
from parley_signaling.fanout import ExpireReason, FanoutUnavailable, KafkaFanoutManager
from parley_signaling.participant_events import ParticipantEvents
from parley_signaling.presence import SocketPresence
from parley_signaling.metrics import SignalingMetrics

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LocalSocket:
    """A socket connected to this replica: who it is, its rate limit (and the one its user's
    sockets share, :class:`~parley_signaling.domain.ratelimit.UserLimits`), its room and participant
    id there, and the lock that makes its events run one at a time (``asyncio.Lock`` wakes
    waiters in FIFO order). ``released``: the participant is no longer this socket's (another
    socket took it over, or the replica handed it to the cluster while stopping)."""

    sid: str
    principal: Principal
    bucket: TokenBucket
    user_bucket: TokenBucket | None = None
    meeting_id: str | None = None
    participant_id: str | None = None
    joined_at: datetime | None = field(default=None)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    released: bool = False
    #: the user's role in the meeting of its room (``host``, ``cohost`` or ``participant``),
    #: from ``join``, changed by ``meeting.role_changed``
    role: str | None = None
    #: the meeting in whose lobby this socket waits for a decision (``lobby-wait``)
    waiting_for: str | None = None
    #: further rate limits of this socket by name (e.g. :mod:`parley_signaling.gestures`')
    limits: dict[str, TokenBucket] = field(default_factory=dict)
    #: the meeting whose participant another socket of this user took over from this one
    #: (``participant-moved``), until this socket joins again
    moved_out_of: str | None = None


@dataclass
class HeldParticipant:
    """A resumable participant of this replica whose socket dropped: its entry, and the task
    that expires it at the end of the resume window."""

    entry: PeerEntry
    expiry: asyncio.Task[None]


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
        metrics: SignalingMetrics,
        resume_window_s: float = 10.0,
        presence: SocketPresence | None = None,
    ) -> None:
        self._sio = sio
        self._presence = presence
        self._fanout = fanout
        self._verifier = verifier
        self._meetings = meetings
        self._participants = participants
        self._replica_id = replica_id
        self._join_timeout_s = join_timeout_s
        self._resume_window_s = resume_window_s
        self._metrics = metrics
        metrics.held_participants.set_function(lambda: len(self.held))
        self.sockets: dict[str, LocalSocket] = {}
        #: Resumable participants of this replica without a socket, by participant id.
        self.held: dict[str, HeldParticipant] = {}
        self._stopping = False

    # --- connection -------------------------------------------------------------------

    def connected(
        self, sid: str, principal: Principal, bucket: TokenBucket, user_bucket: TokenBucket | None = None
    ) -> None:
        """Register an accepted socket (its connect handler verified ``principal``)."""
        self.sockets[sid] = LocalSocket(sid=sid, principal=principal, bucket=bucket, user_bucket=user_bucket)
        if self._presence is not None:
            self._presence.changed(sid, principal.user_id, "online")

    async def send_session(self, sid: str) -> None:
        """Emit ``session`` to a socket that just finished connecting."""
        socket = self.sockets.get(sid)
        if socket is None:
            return
        event = SessionEvent(sid=sid, replica_id=self._replica_id, user_id=socket.principal.user_id)
        await self._sio.emit("session", dump(event), to=sid, ignore_queue=True)

    async def disconnected(self, sid: str) -> None:
        """Forget a socket. If it was in a room, a resumable participant is held for the resume
        window; any other leaves (``disconnected``)."""
        socket = self.sockets.pop(sid, None)
        if socket is not None and self._presence is not None:
            self._presence.changed(sid, socket.principal.user_id, "offline")
        if socket is None or socket.meeting_id is None or socket.released:
            return
        entry = self._fanout.directory.get(socket.participant_id or sid)
        if entry is not None and (entry.replica_id != self._replica_id or entry.socket != sid):
            return  # another socket has taken the participant over
        if entry is not None and entry.resumable and not self._stopping:
            await self._hold(socket, entry)
        else:
            await self._leave(socket, "disconnected")

    async def session_ended(self, sid: str) -> None:
        """The socket's sign-in session was revoked: it leaves its room at once (``left``: it
        is not held for a resume) before it is disconnected."""
        socket = self.sockets.get(sid)
        if socket is not None:
            await self._leave(socket, "left")

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
        ``forbidden`` (also: a guest asking for another meeting than its token's),
        ``removed_from_meeting``, ``meeting_ended``, ``unavailable`` (meetings or Kafka did not answer),
        ``participant_moved`` (another socket of the user joined at the same moment, after this one in
        the fan-out topic's order).
        """
        socket = self.socket(sid)
        meeting_id = request.meeting_id
        principal = socket.principal
        if principal.is_guest and principal.guest_meeting_id != meeting_id:
            raise SignalingError(ErrorCode.FORBIDDEN, "a guest may only join the meeting its guest token was issued for")
        try:
            await self._verifier.verify(socket.principal.token)
        except InvalidToken as exc:
            raise SignalingError(ErrorCode.UNAUTHORIZED, f"access token no longer valid: {exc}") from exc
        try:
            membership = await self._meetings.membership_of(meeting_id, socket.principal)
        except MembershipDenied as exc:
            codes = {"not_found": ErrorCode.MEETING_NOT_FOUND, "removed": ErrorCode.REMOVED}
            code = codes.get(exc.reason, ErrorCode.FORBIDDEN)
            raise SignalingError(code, str(exc)) from exc
        except MembershipUnavailable as exc:
            raise SignalingError(ErrorCode.UNAVAILABLE, f"meetings could not be asked: {exc}") from exc
        if membership.status == "ended":
            raise SignalingError(ErrorCode.MEETING_ENDED, "the meeting has ended")
        socket.waiting_for = None
        socket.moved_out_of = None
        if socket.meeting_id == meeting_id:  # joining again: same answer, no new peer-joined
            participant_id = socket.participant_id or sid
            peers = self._fanout.directory.peers(meeting_id, exclude=participant_id)
            return self._join_ack(meeting_id, participant_id, peers, resumed=False)
        if socket.meeting_id is not None:
            await self._leave(socket, "left")

        resuming = self._resumable(request.resume, meeting_id, principal.user_id)
        # one participant per user: another window or device of this user in the room is moved here
        moving = None if resuming is not None else self._participant_of(meeting_id, principal.user_id)
        taking = resuming or moving
        participant_id = taking.sid if taking is not None else sid
        entry = PeerEntry(
            sid=participant_id,
            socket_sid=None if participant_id == sid else sid,
            meeting_id=meeting_id,
            user_id=principal.user_id,
            display_name=resuming.display_name if resuming else request.display_name or principal.display_name,
            replica_id=self._replica_id,
            resumable=request.holds,
            moved=moving is not None,
        )
        await self._sio.enter_room(sid, meeting_id)
        socket.meeting_id = meeting_id
        socket.participant_id = participant_id
        socket.role = membership.role
        try:
            confirmation = await self._fanout.announce_join(entry, self._join_timeout_s)
        except FanoutUnavailable as exc:
            log.error("join of %s to %s not confirmed by Kafka: %s", sid, meeting_id, exc)
            socket.meeting_id = None
            await self._sio.leave_room(sid, meeting_id)
            await self._fanout.announce_leave(participant_id, meeting_id)
            raise SignalingError(ErrorCode.UNAVAILABLE, "the room could not be joined; try again") from exc
        if self.sockets.get(sid) is socket and socket.moved_out_of == meeting_id:
            # Another socket of this user joined at the same moment, after this one in the topic.
            raise SignalingError(
                ErrorCode.PARTICIPANT_MOVED, "another window or device of this user joined the meeting at the same moment"
            )
        if self.sockets.get(sid) is not socket or socket.meeting_id != meeting_id:
            # Disconnected, or taken out by meeting.ended, while the join was confirmed.
            raise SignalingError(ErrorCode.MEETING_ENDED, "left the room while joining")

        socket.joined_at = datetime.now(UTC)
        if self._presence is not None:
            self._presence.changed(sid, principal.user_id, "in_call", meeting_id)
        previous = confirmation.previous
        peers = confirmation.peers
        # the socket that had the participant on this replica was released when the join was
        # read back (the fan-out's on_taken_over), in the topic's order
        if moving is not None and previous is not None and _same_user(previous, entry):
            # the others' connections were with the other window: they drop them and this
            # socket offers afresh (the participant, and so the roster, stays)
            await self._announce_left(entry, "moved", peers)
            await self._announce(PeerJoinedEvent, entry, peers)
            self._metrics.resumptions.labels("moved").inc()
            return self._join_ack(meeting_id, participant_id, peers, resumed=False)
        if resuming is not None and previous is not None and _same_participant(previous, entry):
            await self._announce(PeerResumedEvent, entry, peers)
            self._metrics.resumptions.labels("resumed").inc()
            return self._join_ack(meeting_id, participant_id, peers, resumed=True)
        if resuming is not None:  # expired while the resumption was on its way
            self._metrics.resumptions.labels("not_resumed").inc()
        await self._announce(PeerJoinedEvent, entry, peers)
        self._participants.enqueue(
            ParticipantJoined(
                meeting_id=meeting_id,
                user_id=principal.user_id,
                display_name=entry.display_name,
                sid=participant_id,
                replica_id=self._replica_id,
                joined_at=socket.joined_at,
            )
        )
        return self._join_ack(meeting_id, participant_id, peers, resumed=False)

    async def leave(self, sid: str, request: LeaveRequest) -> None:
        """Leave the room. Error: ``not_in_room``."""
        socket = self.socket(sid)
        if socket.meeting_id != request.meeting_id:
            raise SignalingError(ErrorCode.NOT_IN_ROOM, "not in this meeting's room")
        await self._leave(socket, "left")

    async def relay_sdp(self, sid: str, event: Literal["offer", "answer"], request: SdpRequest) -> None:
        """Relay an offer/answer to participant ``request.to`` only. Errors: ``not_in_room``,
        ``peer_not_in_room``. A held target's copy is lost (its socket is gone)."""
        sender, target = self._check_relay(sid, request.meeting_id, request.to)
        await self._emit_to_entries(event, _relayed(sender, request), [target])

    async def relay_ice(self, sid: str, request: IceRequest) -> None:
        """Relay an ICE candidate to participant ``request.to`` only. Errors: ``not_in_room``,
        ``peer_not_in_room``."""
        sender, target = self._check_relay(sid, request.meeting_id, request.to)
        await self._emit_to_entries("ice-candidate", _relayed(sender, request), [target])

    def local_relay(self, sid: str, request: SdpRequest | IceRequest) -> tuple[str, dict[str, Any]] | None:
        """For a relay (:meth:`relay_sdp`, :meth:`relay_ice`) to a participant on this replica:
        the target's socket id and the payload to emit to it. None for any other (a target
        on another replica, or an error, which those methods report)."""
        try:
            sender, target = self._check_relay(sid, request.meeting_id, request.to)
        except SignalingError:
            return None
        if target.replica_id != self._replica_id:
            return None
        return target.socket, _relayed(sender, request)

    async def relay_media_state(self, sid: str, request: MediaStateRequest) -> None:
        """Relay the sender's media state to every other participant of its room, on any
        replica, as ``peer-media-state``; nothing is stored. Error: ``not_in_room``."""
        sender = self._in_room(sid, request.meeting_id)
        payload = PeerMediaStateEvent(
            meeting_id=request.meeting_id, sid=sender, audio=request.audio, video=request.video, screen=request.screen
        )
        peers = self._fanout.directory.peers(request.meeting_id, exclude=sender)
        if peers:
            await self._emit_to_entries("peer-media-state", dump(payload), peers)

    # --- Kafka events -----------------------------------------------------------------

    async def meeting_ended(self, event: MeetingEnded | MeetingCancelled | MeetingExpired) -> None:
        """``meeting-ended`` (``reason`` ``ended``, ``cancelled`` or ``expired``) to this
        replica's sockets in the room, then each leaves it.

        Applied to the membership projection first, as :meth:`participant_removed` is, so that
        a ``join`` right after ``meeting-ended`` is refused at once."""
        self._meetings.projection.apply(event)
        members = [s for s in self.sockets.values() if s.meeting_id == event.meeting_id]
        held = [h for h in self.held.values() if h.entry.meeting_id == event.meeting_id]
        for participant in held:
            await self._drop_held(participant, "ended")
        if not members:
            return
        if isinstance(event, MeetingCancelled):
            payload = MeetingEndedEvent(
                meeting_id=event.meeting_id, ended_by=event.cancelled_by, ended_at=event.cancelled_at, reason="cancelled"
            )
        elif isinstance(event, MeetingExpired):
            payload = MeetingEndedEvent(
                meeting_id=event.meeting_id, ended_by=None, ended_at=event.expired_at, reason="expired"
            )
        else:
            payload = MeetingEndedEvent(meeting_id=event.meeting_id, ended_by=event.ended_by, ended_at=event.ended_at)
        await self._sio.emit("meeting-ended", dump(payload), room=event.meeting_id, ignore_queue=True)
        for socket in members:
            await self._leave(socket, "ended", notify_room=False)

    async def participant_removed(self, event: ParticipantRemoved) -> None:
        """``removed`` to the removed user's sockets of this replica in the meeting's room, which
        then leave it (``peer-left`` reason ``removed`` to the others, ``participant.left``);
        a held participant of theirs leaves too. Every replica does this for its own sockets.

        The membership projection reads the same event with a consumer of its own, maybe later:
        applied here first, so that the removed user's next ``join`` is refused at once."""
        self._meetings.projection.apply(event)
        payload = dump(
            RemovedEvent(
                meeting_id=event.meeting_id, user_id=event.user_id, by_name=event.removed_by_name, at=event.removed_at
            )
        )
        for socket in self._sockets_of(event.meeting_id, event.user_id):
            await self._sio.emit("removed", payload, to=socket.sid, ignore_queue=True)
            await self._leave(socket, "removed")
        for held in [h for h in self.held.values() if (h.entry.meeting_id, h.entry.user_id) == (event.meeting_id, event.user_id)]:
            await self._drop_held(held, "removed")

    async def role_changed(self, event: MeetingRoleChanged) -> None:
        """The user's sockets of this replica in the room take the new role (a co-host
        moderates); ``role-changed`` to this replica's sockets of the room."""
        for socket in self._sockets_of(event.meeting_id, event.user_id):
            socket.role = event.role
        payload = RoleChangedEvent(meeting_id=event.meeting_id, user_id=event.user_id, role=event.role)
        await self._sio.emit("role-changed", dump(payload), room=event.meeting_id, ignore_queue=True)

    def _sockets_of(self, meeting_id: str, user_id: str) -> list[LocalSocket]:
        """This replica's sockets of ``user_id`` in ``meeting_id``'s room."""
        return [s for s in self.sockets.values() if s.meeting_id == meeting_id and s.principal.user_id == user_id]

    async def chat_message_posted(self, event: ChatMessagePosted) -> None:
        """``chat-message`` (the message as the chat API returns it) to this replica's sockets in the room."""
        await self._sio.emit("chat-message", event.model_dump(mode="json"), room=event.meeting_id, ignore_queue=True)

    async def replica_lost(self, replica_id: str, entries: list[PeerEntry]) -> None:
        """``participant.left`` (reason ``replica_lost``) for each socket of a replica that
        crashed, restarted or stopped with sockets still in rooms; called on the one replica
        that reports them (:meth:`KafkaFanoutManager.reports_for`). Their peers got
        ``peer-left`` from the fan-out already."""
        self._report_left(replica_id, "replica_lost", entries)
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

    async def expired(self, owner: str, reason: ExpireReason, entries: list[PeerEntry]) -> None:
        """``participant.left`` for held participants that did not resume in time, on the
        replica that expired them (``owner`` is the replica that held them)."""
        self._report_left(owner, reason, entries)

    async def taken_over(self, previous: PeerEntry, entry: PeerEntry) -> None:
        """Another socket (``entry``) took participant ``previous.sid`` that this replica held
        over: stop its expiry, or release the socket that still had it (no ``peer-left``, no
        ``participant.left``: the participant stays). A resumption disconnects that socket; a
        move (``entry.moved``: the user joined from another window or device) tells it
        ``participant-moved`` and takes it out of the room, connected."""
        held = self.held.get(previous.sid)
        if held is not None and held.entry == previous:
            del self.held[previous.sid]
            held.expiry.cancel()
            return
        socket = self.sockets.get(previous.socket)
        if socket is None or socket.participant_id != previous.sid:
            return
        if entry.moved:
            await self._moved_out(socket, previous.meeting_id)
            return
        socket.released = True
        if socket.meeting_id is not None:
            await self._sio.leave_room(socket.sid, socket.meeting_id)
            socket.meeting_id = None
        try:
            await self._sio.disconnect(socket.sid, ignore_queue=True)
        except Exception:  # noqa: BLE001 - it is released either way
            log.warning("disconnecting the replaced socket %s failed", socket.sid, exc_info=True)

    async def displaced(self, rival: PeerEntry, entry: PeerEntry) -> None:
        """A later ``join`` of the same user in the same room (``entry``, read in the fan-out
        topic's order) displaced participant ``rival`` of this replica: two sockets of one user
        joined at the same moment, and neither saw the other. ``entry`` is a participant of its
        own (its replica announces it with ``peer-joined`` and ``participant.joined``), so
        ``rival`` leaves: its socket gets ``participant-moved`` and is out of the room, still
        connected (a held ``rival`` is no longer held); the room gets ``peer-left`` and the
        roster ``participant.left``, both with reason ``moved``."""
        held = self.held.get(rival.sid)
        if held is not None and held.entry == rival:
            del self.held[rival.sid]
            held.expiry.cancel()
            self._report_left(self._replica_id, "moved", [rival])
        else:
            socket = self.sockets.get(rival.socket)
            if socket is None or (socket.participant_id or socket.sid) != rival.sid or socket.meeting_id != rival.meeting_id:
                return
            joined = socket.joined_at is not None  # else its join is still on its way: nothing announced
            await self._moved_out(socket, rival.meeting_id)
            if joined:
                self._report_left(self._replica_id, "moved", [rival])
        await self._announce_left(rival, "moved", self._fanout.directory.peers(rival.meeting_id, exclude=entry.sid))

    # --- drain and stop -----------------------------------------------------------------

    async def announce_draining(self) -> None:
        """``draining`` to every socket of this replica: reconnect elsewhere and resume."""
        await self._sio.emit("draining", dump(DrainingEvent(replica_id=self._replica_id)), ignore_queue=True)

    def resumable_in_rooms(self) -> int:
        """Sockets of this replica whose resumable participant is still theirs (a drain waits for 0)."""
        count = 0
        for socket in self.sockets.values():
            entry = self._fanout.directory.get(socket.participant_id or socket.sid)
            if socket.meeting_id is not None and entry is not None and entry.resumable and entry.socket == socket.sid:
                count += 1
        return count

    async def shutdown(self) -> None:
        """Disconnect every local socket. A resumable participant is handed to the cluster (the
        others hold it for the resume window after this replica's ``gone``); any other leaves
        its room as ``disconnected``. Held participants stay held the same way."""
        self._stopping = True
        for held in self.held.values():
            held.expiry.cancel()
        self.held.clear()
        for sid in list(self.sockets):
            socket = self.sockets.get(sid)
            if socket is None:  # disconnected meanwhile (an earlier iteration awaited)
                continue
            entry = self._fanout.directory.get(socket.participant_id or sid)
            if socket.meeting_id is not None and entry is not None and entry.resumable:
                socket.released = True
            try:
                await self._sio.disconnect(sid, ignore_queue=True)
            except Exception:  # noqa: BLE001 - shutting down
                log.warning("disconnecting %s failed", sid, exc_info=True)
            if sid in self.sockets:
                await self.disconnected(sid)

    # --- helpers ----------------------------------------------------------------------

    def _in_room(self, sid: str, meeting_id: str) -> str:
        """The participant id of socket ``sid`` in ``meeting_id``'s room. Error: ``not_in_room``."""
        socket = self.socket(sid)
        if socket.meeting_id != meeting_id:
            raise SignalingError(ErrorCode.NOT_IN_ROOM, "not in this meeting's room")
        return socket.participant_id or sid

    def _check_relay(self, sid: str, meeting_id: str, to: str) -> tuple[str, PeerEntry]:
        """The sender's participant id and the target's entry. Errors: ``not_in_room``, ``peer_not_in_room``."""
        sender = self._in_room(sid, meeting_id)
        target = self._fanout.directory.in_room(meeting_id, to)
        if to == sender or target is None:
            raise SignalingError(ErrorCode.PEER_NOT_IN_ROOM, "the target is not in this meeting's room")
        return sender, target

    def _participant_of(self, meeting_id: str, user_id: str) -> PeerEntry | None:
        """The participant ``user_id`` already has in this meeting's room, on any replica, or None."""
        return next((p for p in self._fanout.directory.peers(meeting_id) if p.user_id == user_id), None)

    async def _moved_out(self, socket: LocalSocket, meeting_id: str) -> None:
        """Take ``socket`` out of its room without a leave (its participant moved to another socket)."""
        socket.moved_out_of = meeting_id
        socket.meeting_id = None
        socket.participant_id = None
        socket.joined_at = None
        if self._presence is not None:
            self._presence.changed(socket.sid, socket.principal.user_id, "online")
        await self._sio.leave_room(socket.sid, meeting_id)
        moved = ParticipantMovedEvent(meeting_id=meeting_id)
        await self._sio.emit("participant-moved", dump(moved), to=socket.sid, ignore_queue=True)

    def _resumable(self, participant_id: str | None, meeting_id: str, user_id: str) -> PeerEntry | None:
        """The entry ``join`` ``resume`` may take over: the same user's resumable participant in this meeting."""
        if participant_id is None:
            return None
        entry = self._fanout.directory.get(participant_id)
        if entry is None or not entry.resumable or entry.meeting_id != meeting_id or entry.user_id != user_id:
            self._metrics.resumptions.labels("not_resumed").inc()
            return None
        return entry

    async def _hold(self, socket: LocalSocket, entry: PeerEntry) -> None:
        """Keep a dropped socket's resumable participant in the room for the resume window."""
        await self._sio.leave_room(socket.sid, entry.meeting_id)
        socket.meeting_id = None
        self.held[entry.sid] = HeldParticipant(entry=entry, expiry=asyncio.create_task(self._expire_later(entry)))

    async def _expire_later(self, entry: PeerEntry) -> None:
        """At the end of the resume window, ``expire`` the held participant through the
        fan-out (every replica removes it unless a resumption came first); again a window later
        while Kafka does not take it."""
        while True:
            await asyncio.sleep(self._resume_window_s)
            if self.held.get(entry.sid) is None or self.held[entry.sid].entry != entry:
                return
            try:
                await self._fanout.announce_expire(self._replica_id, "disconnected", [entry])
            except Exception as exc:  # noqa: BLE001 - the participant stays held; tried again
                log.warning("expiring held participant %s failed: %r", entry.sid, exc)
                continue
            self.held.pop(entry.sid, None)
            return

    async def _drop_held(self, held: HeldParticipant, reason: LeaveReason) -> None:
        """A held participant leaves now (its meeting ended)."""
        self.held.pop(held.entry.sid, None)
        held.expiry.cancel()
        await self._fanout.announce_leave(held.entry.sid, held.entry.meeting_id)
        self._report_left(self._replica_id, reason, [held.entry])

    def _report_left(self, replica_id: str, reason: str, entries: list[PeerEntry]) -> None:
        """``participant.left`` for participants of ``replica_id`` that left without a socket here."""
        left_at = datetime.now(UTC)
        for entry in entries:
            self._participants.enqueue(
                ParticipantLeft(
                    meeting_id=entry.meeting_id,
                    user_id=entry.user_id,
                    sid=entry.sid,
                    replica_id=replica_id,
                    reason=reason,
                    left_at=left_at,
                )
            )

    async def _announce_left(self, entry: PeerEntry, reason: LeaveReason, peers: list[PeerEntry]) -> None:
        """``peer-left`` of ``entry`` to ``peers`` (the move holds even if one misses it)."""
        if not peers:
            return
        payload = PeerLeftEvent(meeting_id=entry.meeting_id, sid=entry.sid, user_id=entry.user_id, reason=reason)
        try:
            await self._emit_to_entries("peer-left", dump(payload), peers)
        except Exception:  # noqa: BLE001
            log.exception("announcing the move of %s in %s failed", entry.sid, entry.meeting_id)

    async def _announce(
        self, event: type[PeerJoinedEvent] | type[PeerResumedEvent], entry: PeerEntry, peers: list[PeerEntry]
    ) -> None:
        """``peer-joined`` or ``peer-resumed`` of ``entry`` to ``peers`` (the join holds even if one misses it)."""
        if not peers:
            return
        payload = event(meeting_id=entry.meeting_id, sid=entry.sid, user_id=entry.user_id, display_name=entry.display_name)
        try:
            await self._emit_to_entries("peer-resumed" if event is PeerResumedEvent else "peer-joined", dump(payload), peers)
        except Exception:  # noqa: BLE001
            log.exception("announcing %s in %s failed", entry.sid, entry.meeting_id)

    async def _emit_to_entries(self, event: str, payload: dict, entries: list[PeerEntry]) -> None:
        """Emit to exactly these participants' sockets: locally for ours, one fan-out message
        to each other replica's inbox for its sockets."""
        local = [e.socket for e in entries if e.replica_id == self._replica_id]
        remote: dict[str, list[str]] = {}
        for e in entries:
            if e.replica_id != self._replica_id:
                remote.setdefault(e.replica_id, []).append(e.socket)
        if local:
            await self._sio.emit(event, payload, to=local if len(local) > 1 else local[0], ignore_queue=True)
        for replica_id, sockets in remote.items():
            await self._fanout.emit_to_replica(replica_id, event, payload, sockets)

    async def _leave(self, socket: LocalSocket, reason: LeaveReason, *, notify_room: bool = True) -> None:
        meeting_id = socket.meeting_id
        if meeting_id is None:
            return
        participant_id = socket.participant_id or socket.sid
        socket.meeting_id = None
        if self._presence is not None and self.sockets.get(socket.sid) is socket:
            self._presence.changed(socket.sid, socket.principal.user_id, "online")
        await self._sio.leave_room(socket.sid, meeting_id)
        left = PeerLeftEvent(meeting_id=meeting_id, sid=participant_id, user_id=socket.principal.user_id, reason=reason)
        await self._fanout.announce_leave(participant_id, meeting_id, left if notify_room else None)
        if socket.joined_at is not None:
            self._participants.enqueue(
                ParticipantLeft(
                    meeting_id=meeting_id,
                    user_id=socket.principal.user_id,
                    sid=participant_id,
                    replica_id=self._replica_id,
                    reason=reason,
                    left_at=datetime.now(UTC),
                )
            )
        socket.joined_at = None

    def _join_ack(self, meeting_id: str, participant_id: str, peers: list[PeerEntry], *, resumed: bool) -> JoinAck:
        return JoinAck(
            meeting_id=meeting_id,
            peers=[Peer(sid=p.sid, user_id=p.user_id, display_name=p.display_name) for p in peers],
            replica_id=self._replica_id,
            participant_id=participant_id,
            resumed=resumed,
        )


def _same_user(previous: PeerEntry, entry: PeerEntry) -> bool:
    """Whether a move read back in topic order found a participant of the same user to take over."""
    return previous.meeting_id == entry.meeting_id and previous.user_id == entry.user_id


def _same_participant(previous: PeerEntry, entry: PeerEntry) -> bool:
    """Whether a resumption read back in topic order found the participant it takes over."""
    return previous.meeting_id == entry.meeting_id and previous.user_id == entry.user_id and previous.resumable


def _relayed(sender: str, request: SdpRequest | IceRequest) -> dict[str, Any]:
    """The payload an offer, answer or ICE candidate is relayed with (``from``: the sender)."""
    if isinstance(request, IceRequest):
        return dump(IceEvent(meeting_id=request.meeting_id, from_=sender, candidate=request.candidate))
    return dump(SdpEvent(meeting_id=request.meeting_id, from_=sender, sdp=request.sdp))
