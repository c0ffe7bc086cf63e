"""The signaling protocol (docs/signaling.md), version 1: payload models and error codes.

Every inbound event payload is validated against one of the ``*Request`` models before anything
else happens; unknown fields are ignored and never forwarded (outbound payloads are rebuilt
from the validated models). Outbound payloads are the ``*Event`` models, dumped with
:func:`dump`. SDP is RFC 8866 text carried opaquely (offer/answer per RFC 8829, JSEP);
ICE candidates are ``RTCIceCandidateInit`` dictionaries (W3C WebRTC 1.0 §4.8.1), ``null``
meaning end-of-candidates (RFC 8838, trickle ICE).
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from parley_security import MeetingId, no_nul  # MeetingId: the one definition every edge validates with

PROTOCOL_VERSION = 1

#: Default largest SDP in bytes when no limit is passed in the validation context.
DEFAULT_MAX_SDP_BYTES = 64 * 1024

#: socket.io session ids (base64url, as python-engineio generates them).
SocketId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_=-]+$")]
#: The name a socket shows to its room: surrounding whitespace stripped, then 1–80 characters.
#: No U+0000: it reaches meetings' roster, whose store refuses it (parley_security.no_nul).
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), AfterValidator(no_nul)
]


class ErrorCode(StrEnum):
    """Error codes of ``{"ok": false, "error": {"code", "message"}}`` acknowledgements."""

    INVALID_PAYLOAD = "invalid_payload"
    UNAUTHORIZED = "unauthorized"
    MEETING_NOT_FOUND = "meeting_not_found"
    FORBIDDEN = "forbidden"
    MEETING_ENDED = "meeting_ended"
    NOT_IN_ROOM = "not_in_room"
    PEER_NOT_IN_ROOM = "peer_not_in_room"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    #: ``join``: the host or a co-host removed this user from the meeting.
    REMOVED = "removed_from_meeting"
    #: ``join``: another socket of this user joined the same meeting at the same moment, later in
    #: the fan-out's order, and has the participant (this socket also got ``participant-moved``).
    PARTICIPANT_MOVED = "participant_moved"


class ConnectErrorCode(StrEnum):
    """Codes in the ``data`` of a refused connection's ``connect_error``."""

    UNAUTHORIZED = "unauthorized"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    DRAINING = "draining"
    #: the user has ``PARLEY_SIGNALING_MAX_SOCKETS_PER_USER`` sockets on this replica already
    TOO_MANY_SOCKETS = "too_many_sockets"
    #: a CONNECT to a namespace other than ``/``
    INVALID_NAMESPACE = "invalid_namespace"
    #: a second CONNECT on a connected Engine.IO session
    ALREADY_CONNECTED = "already_connected"


class SignalingError(Exception):
    """A client event failed with ``code``; becomes the error acknowledgement."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def ack_ok(data: BaseModel | None = None) -> dict[str, Any]:
    """``{"ok": true, "data": {...}}``."""
    return {"ok": True, "data": dump(data) if data is not None else {}}


def ack_error(code: ErrorCode, message: str) -> dict[str, Any]:
    """``{"ok": false, "error": {"code", "message"}}``."""
    return {"ok": False, "error": {"code": code.value, "message": message}}


def dump(model: BaseModel) -> dict[str, Any]:
    """An outbound payload as JSON-ready dict, with wire names (``from``)."""
    return model.model_dump(mode="json", by_alias=True)


# --- client -> server --------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class JoinRequest(_Request):
    """``join``: enter the meeting's room.

    ``display_name`` (optional, a protocol version 1 addition): the name shown to the room for
    this socket, stripped, 1–80 characters (blank is ``invalid_payload``); absent or ``null``
    means the token's ``name`` claim.

    ``resumable`` (optional, default false): a participant whose socket drops without ``leave``
    is held for the resume window instead of leaving at once. ``resume`` (optional): the
    participant id of a participant of the same user in this meeting that this socket takes
    over (docs/signaling.md, "Resumable participants"); it implies ``resumable``.
    """

    meeting_id: MeetingId
    display_name: DisplayName | None = None
    resumable: bool = False
    resume: SocketId | None = None

    @property
    def holds(self) -> bool:
        """Whether the participant is held for resumption when its socket drops (``resumable``
        or ``resume``)."""
        return self.resumable or self.resume is not None


class LeaveRequest(_Request):
    """``leave``: leave the meeting's room."""

    meeting_id: MeetingId


class SdpRequest(_Request):
    """``offer`` / ``answer``: an SDP for ``to``, a socket in the same meeting room.

    ``sdp`` is limited to ``max_sdp_bytes`` (validation context) UTF-8 bytes.
    """

    meeting_id: MeetingId
    to: SocketId
    sdp: Annotated[str, StringConstraints(min_length=1)]

    @field_validator("sdp")
    @classmethod
    def _sdp_size(cls, value: str, info: ValidationInfo) -> str:
        limit = (info.context or {}).get("max_sdp_bytes", DEFAULT_MAX_SDP_BYTES)
        if len(value.encode("utf-8")) > limit:
            raise ValueError(f"sdp larger than {limit} bytes")
        return value


class IceCandidate(_Request):
    """An ``RTCIceCandidateInit``: ``candidate`` ("" is allowed), ``sdpMid``, ``sdpMLineIndex``.

    A non-empty candidate needs ``sdpMid`` or ``sdpMLineIndex`` (W3C WebRTC 1.0 §4.4.1.1,
    ``addIceCandidate``). ``usernameFragment`` is optional.
    """

    candidate: Annotated[str, StringConstraints(max_length=2048)]
    sdpMid: Annotated[str, StringConstraints(max_length=256)] | None = None  # noqa: N815 - wire name
    sdpMLineIndex: Annotated[int, Field(ge=0, le=65535)] | None = None  # noqa: N815 - wire name
    usernameFragment: Annotated[str, StringConstraints(max_length=256)] | None = None  # noqa: N815

    @model_validator(mode="after")
    def _has_media_line(self) -> "IceCandidate":
        if self.candidate and self.sdpMid is None and self.sdpMLineIndex is None:
            raise ValueError("a candidate needs sdpMid or sdpMLineIndex")
        return self


class IceRequest(_Request):
    """``ice-candidate``: a trickled candidate for ``to``; ``candidate`` ``null`` = end of candidates."""

    meeting_id: MeetingId
    to: SocketId
    candidate: IceCandidate | None


class MediaStateRequest(_Request):
    """``media-state`` (protocol version 1 addition): the sender's microphone (``audio``),
    camera (``video``) and screen-share (``screen``) state, all required booleans. Relayed to
    the rest of the room as ``peer-media-state``; the server keeps no copy."""

    meeting_id: MeetingId
    audio: bool
    video: bool
    screen: bool


#: The reactions a participant may send (``reaction`` ``emoji``): a short fixed set.
REACTIONS = ("👍", "👏", "😂", "❤️", "🎉", "😮")


class RaiseHandRequest(_Request):
    """``raise-hand`` (protocol version 1 addition): raise the sender's hand in its room
    (raising a raised hand changes nothing)."""

    meeting_id: MeetingId


class LowerHandRequest(_Request):
    """``lower-hand`` (protocol version 1 addition): lower the hand of participant ``sid``
    (absent or ``null``: the sender's own); lowering another participant's hand is for the
    meeting's host only (``forbidden``). Lowering a hand that is not raised changes nothing."""

    meeting_id: MeetingId
    sid: SocketId | None = None


class ReactionRequest(_Request):
    """``reaction`` (protocol version 1 addition): one of :data:`REACTIONS`, shown over the
    sender's tile for a few seconds by every client in the room; the server keeps no copy."""

    meeting_id: MeetingId
    emoji: Literal["👍", "👏", "😂", "❤️", "🎉", "😮"]


class RecordingRequest(_Request):
    """``recording`` (protocol version 1 addition): the sender's client started (``active``
    true) or stopped recording the meeting. Recording happens in that browser; the room is told
    who records (``recording`` event). Saying the same twice changes nothing."""

    meeting_id: MeetingId
    active: bool


# --- server -> client --------------------------------------------------------------------


class MuteRequest(_Request):
    """``mute`` (protocol version 1 addition; the meeting's host only, else ``forbidden``):
    mute participant ``sid``'s microphone, or (``sid`` absent or ``null``) everyone's but the
    host's. Their clients turn the microphone off and say who did it; only they can turn it on
    again."""

    meeting_id: MeetingId
    sid: SocketId | None = None


class SpotlightRequest(_Request):
    """``spotlight`` (protocol version 1 addition; the meeting's host or a co-host only, else
    ``forbidden``): show participant ``sid`` large on every page of the room; ``sid`` ``null``
    takes the spotlight away. The participant must be in the room (``peer_not_in_room``)."""

    meeting_id: MeetingId
    sid: SocketId | None


class AskUnmuteRequest(_Request):
    """``ask-unmute`` (protocol version 1 addition; the meeting's host only, else
    ``forbidden``): ask participant ``sid`` to turn their microphone on (nobody's microphone
    is turned on for them)."""

    meeting_id: MeetingId
    sid: SocketId


class LobbyWaitRequest(_Request):
    """``lobby-wait`` (protocol version 1 addition): this socket waits in ``meeting_id``'s lobby
    (``POST /api/meetings/{id}/join`` answered 202) and wants the decision: ``lobby-decision``
    comes to it when the host or a co-host admits or denies its user, on whichever replica
    they act. A guest may wait only for its own meeting (``forbidden``). One meeting per
    socket: waiting for another replaces it; ``leave`` or ``join`` ends the wait."""

    meeting_id: MeetingId


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class SessionEvent(_Event):
    """``session``, emitted right after a connection is accepted."""

    protocol_version: int = PROTOCOL_VERSION
    sid: str
    replica_id: str
    user_id: str


class Peer(_Event):
    """A participant in a meeting room, as ``join`` lists it: ``sid`` is its participant id."""

    sid: str
    user_id: str
    display_name: str


class RaisedHand(_Event):
    """A raised hand: participant ``sid`` (``user_id``) raised it at ``raised_at``."""

    sid: str
    user_id: str
    raised_at: datetime


class Recorder(_Event):
    """A participant recording the meeting: participant ``sid`` (``user_id``, shown as
    ``display_name``) started at ``started_at``."""

    sid: str
    user_id: str
    display_name: str
    started_at: datetime


class JoinAck(_Event):
    """``join`` acknowledgement data: the other participants in the room, this socket's
    ``participant_id`` (its ``sid`` in the room's events), whether it ``resumed`` one, the
    room's raised ``hands`` in the order they were raised, who records the meeting
    (``recordings``, in the order they started), and the participant id in the room's
    ``spotlight`` (``null``: none)."""

    meeting_id: str
    peers: list[Peer]
    replica_id: str
    participant_id: str
    resumed: bool = False
    hands: list[RaisedHand] = []
    recordings: list[Recorder] = []
    spotlight: str | None = None


class RecordingEvent(_Event):
    """``recording``, to every socket of the room (the sender's included) when a participant
    started or stopped recording: ``sid`` records now (``active``) or not, and ``recordings``
    is everyone who records, in the order they started (the same order on every replica)."""

    meeting_id: str
    sid: str
    active: bool
    recordings: list[Recorder]


class HandsEvent(_Event):
    """``hands``, to every socket of the room (the sender's included) when a hand was raised
    or lowered: ``sid``'s hand is now ``raised`` (lowered by ``lowered_by``, a participant id,
    when the host lowered it), and ``hands`` is the room's raised hands, in the order they were
    raised (the same order on every replica)."""

    meeting_id: str
    sid: str
    raised: bool
    lowered_by: str | None = None
    hands: list[RaisedHand]


class SpotlightEvent(_Event):
    """``spotlight``, to every socket of the room when the host or a co-host (participant
    ``by``) spotlighted participant ``sid``, or took the spotlight away (``sid`` ``null``)."""

    meeting_id: str
    sid: str | None
    by: str


class ModerationEvent(_Event):
    """``moderation``, to every socket of the room: the host (participant ``by``, named
    ``by_name``) did ``action`` to participant ``sid`` (``null``: ``mute`` of everyone but the
    host) at ``at``. A client acts on it when ``sid`` is its own participant id, or ``sid`` is
    ``null`` and it is not ``by``: ``mute`` turns its microphone off, ``ask-unmute`` asks its
    user to turn it on."""

    meeting_id: str
    action: Literal["mute", "ask-unmute"]
    sid: str | None
    by: str
    by_name: str
    at: datetime


class ReactionEvent(_Event):
    """``reaction``, to every socket of the room (the sender's included): participant ``sid``
    (``user_id``) sent ``emoji`` at ``at``."""

    meeting_id: str
    sid: str
    user_id: str
    emoji: str
    at: datetime


class PeerJoinedEvent(_Event):
    """``peer-joined``, to the peers already in the room."""

    meeting_id: str
    sid: str
    user_id: str
    display_name: str


class PeerResumedEvent(_Event):
    """``peer-resumed``, to the rest of the room: participant ``sid`` is back on a new socket."""

    meeting_id: str
    sid: str
    user_id: str
    display_name: str


class DrainingEvent(_Event):
    """``draining``, to every socket of a replica that is shutting down: reconnect and resume."""

    replica_id: str


#: Why a participant left its room (``peer-left``'s ``reason``, ``participant.left``'s too).
LeaveReason = Literal["left", "disconnected", "ended", "moved", "removed"]


class PeerLeftEvent(_Event):
    """``peer-left``, to the rest of the room."""

    meeting_id: str
    sid: str
    user_id: str
    reason: LeaveReason


class ParticipantMovedEvent(_Event):
    """``participant-moved``, to a socket whose participant another socket of the same user took
    over (another window or device joined the meeting): this socket is out of the room, still
    connected (docs/signaling.md, "One participant per user")."""

    meeting_id: str


class SdpEvent(_Event):
    """``offer`` / ``answer`` as relayed: ``from`` is the sender's sid."""

    meeting_id: str
    from_: str = Field(alias="from")
    sdp: str


class IceEvent(_Event):
    """``ice-candidate`` as relayed: ``from`` is the sender's sid."""

    meeting_id: str
    from_: str = Field(alias="from")
    candidate: IceCandidate | None


class PeerMediaStateEvent(_Event):
    """``peer-media-state``, to the rest of the room: ``sid``'s media state as it sent it."""

    meeting_id: str
    sid: str
    audio: bool
    video: bool
    screen: bool


class SessionEndedEvent(_Event):
    """``session-ended``: the socket's sign-in session was revoked (auth's ``session.revoked``);
    the server disconnects the socket right after. ``reason``: ``replaced`` (the user chose
    "Use here" in another place) or ``signed_out``. The client must not reconnect."""

    reason: str


class MeetingEndedEvent(_Event):
    """``meeting-ended``; the server then removes every socket from the room. ``reason`` is
    ``cancelled`` when the host cancelled a scheduled meeting (``ended_by`` is then who
    cancelled it), ``expired`` when its room stayed empty for its empty timeout (``ended_by``
    is then ``null``: nobody ended it)."""

    meeting_id: str
    ended_by: str | None
    ended_at: datetime
    reason: Literal["ended", "cancelled", "expired"] = "ended"


class PresenceEvent(_Event):
    """``presence``: contact ``user_id``'s presence changed. ``state``: ``online``,
    ``in_call`` or ``offline``; ``last_seen``: ISO 8601 time the user was last online (null:
    never). Sent to every socket of each of the user's contacts (docs/signaling.md, "Presence")."""

    user_id: str
    state: str
    last_seen: str | None = None


class ContactsChangedEvent(_Event):
    """``contacts-changed``: a relationship of the socket's user changed; the client reads its
    list again (``GET /api/auth/contacts``). ``change``: ``invited``, ``accepted``,
    ``declined``, ``removed``, ``blocked`` or ``unblocked``; ``user_id`` acted, on ``other_user_id``."""

    change: str
    contact_id: str
    user_id: str
    other_user_id: str


class CallEvent(_Event):
    """``call``: a direct call of the socket's user changed (docs/signaling.md, "Calls").
    ``state``: ``ringing`` (sent to every socket of the callee, and of the caller),
    ``accepted`` (both join the meeting room ``room_id``), ``declined``, ``missed`` (nobody
    answered by ``ring_deadline``), ``cancelled``, ``ended`` or ``escalated`` (the room stays,
    as an ordinary meeting); sent to every socket of both
    users. ``caller_name`` is the caller's display name; times are ISO 8601 (UTC)."""

    call_id: str
    state: str
    caller_id: str
    caller_name: str
    callee_id: str
    room_id: str
    at: str
    ring_deadline: str | None = None


class DirectMessageEvent(_Event):
    """``direct-message``: a direct message to or from the socket's user (docs/signaling.md,
    "Direct messages"), sent to every socket of the recipient and of the sender. A
    conversation's messages arrive in ``seq`` order; a client drops a ``message_id`` it has."""

    conversation_id: str
    message_id: str
    sender_id: str
    sender_name: str
    recipient_id: str
    text: str
    posted_at: str
    seq: int


class DirectMessageReadEvent(_Event):
    """``direct-message-read``: the socket's user read the conversation with ``peer_id`` up to
    ``read_seq`` (on another socket): clear its unread badge."""

    conversation_id: str
    user_id: str
    peer_id: str
    read_seq: int
    at: str


class LobbyEvent(_Event):
    """``lobby``, to the host's and co-hosts' sockets in the meeting's room: ``user_id``
    (``display_name``, a ``guest`` or not) started waiting (``waiting``), or stopped:
    ``admitted`` or ``denied`` (by user ``by``) or ``left`` (withdrew), at ``at``."""

    meeting_id: str
    action: Literal["waiting", "admitted", "denied", "left"]
    user_id: str
    display_name: str
    guest: bool = False
    by: str | None = None
    at: datetime


class LobbyDecisionEvent(_Event):
    """``lobby-decision``, to the sockets of ``user_id`` waiting for ``meeting_id``
    (``lobby-wait``): ``admitted`` (join now: ``POST /join`` answers 200, then ``join``) or
    ``denied`` (the meeting refuses them from now on)."""

    meeting_id: str
    user_id: str
    decision: Literal["admitted", "denied"]
    at: datetime


class RemovedEvent(_Event):
    """``removed``, to the removed user's sockets in the meeting's room (on every replica),
    just before they leave it: ``by_name`` removed them; joining again is refused
    (``removed_from_meeting``). The others get ``peer-left`` with reason ``removed``."""

    meeting_id: str
    user_id: str
    by_name: str
    at: datetime


class RoleChangedEvent(_Event):
    """``role-changed``, to every socket of the meeting's room: the host made ``user_id`` a
    co-host (``role`` ``cohost``) or a participant again."""

    meeting_id: str
    user_id: str
    role: Literal["cohost", "participant"]


class MeetingUpdatedEvent(_Event):
    """``meeting-updated``, to every socket of the meeting's room: its settings now
    (``admission``: ``open``, ``lobby`` or ``locked``; ``allow_guests``)."""

    meeting_id: str
    admission: Literal["open", "lobby", "locked"]
    allow_guests: bool
