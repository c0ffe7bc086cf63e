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


class ConnectErrorCode(StrEnum):
    """Codes in the ``data`` of a refused connection's ``connect_error``."""

    UNAUTHORIZED = "unauthorized"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"


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
    """

    meeting_id: MeetingId
    display_name: DisplayName | None = None


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


# --- server -> client --------------------------------------------------------------------


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class SessionEvent(_Event):
    """``session``, emitted right after a connection is accepted."""

    protocol_version: int = PROTOCOL_VERSION
    sid: str
    replica_id: str
    user_id: str


class Peer(_Event):
    """A socket in a meeting room, as ``join`` lists it."""

    sid: str
    user_id: str
    display_name: str


class JoinAck(_Event):
    """``join`` acknowledgement data: the other sockets already in the room."""

    meeting_id: str
    peers: list[Peer]
    replica_id: str


class PeerJoinedEvent(_Event):
    """``peer-joined``, to the peers already in the room."""

    meeting_id: str
    sid: str
    user_id: str
    display_name: str


class PeerLeftEvent(_Event):
    """``peer-left``, to the rest of the room."""

    meeting_id: str
    sid: str
    user_id: str
    reason: Literal["left", "disconnected", "ended"]


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


class MeetingEndedEvent(_Event):
    """``meeting-ended``; the server then removes every socket from the room."""

    meeting_id: str
    ended_by: str
    ended_at: datetime
