"""Unit tests of the inbound payload models (docs/signaling.md)."""

import pytest
from pydantic import ValidationError

from parley_signaling.domain.protocol import (
    LowerHandRequest,
    SpotlightRequest,
    RaiseHandRequest,
    ReactionRequest,
    IceEvent,
    IceRequest,
    JoinRequest,
    MediaStateRequest,
    PeerMediaStateEvent,
    SdpEvent,
    SdpRequest,
    ack_error,
    ack_ok,
    dump,
    ErrorCode,
    JoinAck,
)

SID = "AbC_def-123="


def test_join_accepts_a_meeting_id_and_ignores_unknown_fields() -> None:
    request = JoinRequest.model_validate({"meeting_id": "m-1_x", "extra": "ignored"})
    assert request.meeting_id == "m-1_x"
    assert "extra" not in request.model_dump()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"meeting_id": ""},
        {"meeting_id": 42},
        {"meeting_id": None},
        {"meeting_id": "../../admin"},
        {"meeting_id": "a" * 129},
        {"meeting_id": ["m1"]},
    ],
)
def test_join_rejects_bad_meeting_ids(payload: dict) -> None:
    with pytest.raises(ValidationError):
        JoinRequest.model_validate(payload)


def test_sdp_request_valid() -> None:
    request = SdpRequest.model_validate({"meeting_id": "m1", "to": SID, "sdp": "v=0\r\n"})
    assert request.to == SID


@pytest.mark.parametrize(
    "payload",
    [
        {"meeting_id": "m1", "to": SID},
        {"meeting_id": "m1", "to": SID, "sdp": ""},
        {"meeting_id": "m1", "to": SID, "sdp": 5},
        {"meeting_id": "m1", "to": "not a sid!", "sdp": "v=0"},
        {"meeting_id": "m1", "sdp": "v=0"},
    ],
)
def test_sdp_request_rejects_bad_payloads(payload: dict) -> None:
    with pytest.raises(ValidationError):
        SdpRequest.model_validate(payload)


def test_sdp_size_limit_counts_utf8_bytes_and_follows_the_context() -> None:
    sdp = "v=0\r\n" + "é" * 600  # 1205 bytes, 605 characters
    SdpRequest.model_validate({"meeting_id": "m", "to": SID, "sdp": sdp}, context={"max_sdp_bytes": 1205})
    with pytest.raises(ValidationError, match="larger than 1204 bytes"):
        SdpRequest.model_validate({"meeting_id": "m", "to": SID, "sdp": sdp}, context={"max_sdp_bytes": 1204})
    with pytest.raises(ValidationError):
        SdpRequest.model_validate({"meeting_id": "m", "to": SID, "sdp": "x" * (64 * 1024 + 1)})


def test_ice_candidate_forms() -> None:
    full = {"candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    request = IceRequest.model_validate({"meeting_id": "m", "to": SID, "candidate": full})
    assert request.candidate is not None and request.candidate.sdpMid == "0"
    with_ufrag = {**full, "usernameFragment": "abcd"}
    assert IceRequest.model_validate({"meeting_id": "m", "to": SID, "candidate": with_ufrag}).candidate
    end = IceRequest.model_validate({"meeting_id": "m", "to": SID, "candidate": None})
    assert end.candidate is None
    empty = IceRequest.model_validate({"meeting_id": "m", "to": SID, "candidate": {"candidate": ""}})
    assert empty.candidate is not None


@pytest.mark.parametrize(
    "candidate",
    [
        {"candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host"},  # no sdpMid nor sdpMLineIndex
        {"candidate": "c", "sdpMLineIndex": -1},
        {"candidate": "c", "sdpMLineIndex": "0"},
        {"candidate": 7, "sdpMid": "0"},
        {"candidate": "x" * 3000, "sdpMid": "0"},
        "candidate:1",
    ],
)
def test_ice_candidate_rejects_bad_candidates(candidate: object) -> None:
    with pytest.raises(ValidationError):
        IceRequest.model_validate({"meeting_id": "m", "to": SID, "candidate": candidate})


def test_ice_candidate_key_is_required() -> None:
    with pytest.raises(ValidationError):
        IceRequest.model_validate({"meeting_id": "m", "to": SID})


def test_outbound_relays_use_from() -> None:
    assert dump(SdpEvent(meeting_id="m", from_=SID, sdp="v=0")) == {"meeting_id": "m", "from": SID, "sdp": "v=0"}
    assert dump(IceEvent(meeting_id="m", from_=SID, candidate=None)) == {
        "meeting_id": "m",
        "from": SID,
        "candidate": None,
    }


def test_ack_shapes() -> None:
    assert ack_ok() == {"ok": True, "data": {}}
    assert ack_ok(JoinAck(meeting_id="m", peers=[], replica_id="r1", participant_id="p1")) == {
        "ok": True,
        "data": {"meeting_id": "m", "peers": [], "replica_id": "r1", "participant_id": "p1", "resumed": False, "hands": [], "recordings": [], "spotlight": None},
    }
    assert ack_error(ErrorCode.NOT_IN_ROOM, "no") == {"ok": False, "error": {"code": "not_in_room", "message": "no"}}


def test_join_display_name_is_optional_stripped_and_bounded() -> None:
    assert JoinRequest.model_validate({"meeting_id": "m"}).display_name is None
    assert JoinRequest.model_validate({"meeting_id": "m", "display_name": None}).display_name is None
    assert JoinRequest.model_validate({"meeting_id": "m", "display_name": "  Ada L.  "}).display_name == "Ada L."
    assert JoinRequest.model_validate({"meeting_id": "m", "display_name": " " + "é" * 80 + " "}).display_name == "é" * 80


@pytest.mark.parametrize("display_name", ["", "   ", "\t\n", "x" * 81, 42, True, ["Ada"], {"name": "Ada"}])
def test_join_rejects_bad_display_names(display_name: object) -> None:
    with pytest.raises(ValidationError):
        JoinRequest.model_validate({"meeting_id": "m", "display_name": display_name})


def test_media_state_request_and_event() -> None:
    request = MediaStateRequest.model_validate(
        {"meeting_id": "m", "audio": True, "video": False, "screen": False, "extra": "dropped"}
    )
    event = PeerMediaStateEvent(meeting_id="m", sid=SID, audio=request.audio, video=request.video, screen=request.screen)
    assert dump(event) == {"meeting_id": "m", "sid": SID, "audio": True, "video": False, "screen": False}


@pytest.mark.parametrize(
    "payload",
    [
        {"meeting_id": "m", "audio": True, "video": False},
        {"meeting_id": "m", "audio": "true", "video": False, "screen": False},
        {"meeting_id": "m", "audio": 1, "video": 0, "screen": 0},
        {"meeting_id": "m", "audio": None, "video": False, "screen": False},
        {"meeting_id": "../x", "audio": True, "video": False, "screen": False},
        {"audio": True, "video": False, "screen": False},
    ],
)
def test_media_state_rejects_bad_payloads(payload: dict) -> None:
    with pytest.raises(ValidationError):
        MediaStateRequest.model_validate(payload)


def test_gesture_requests_are_validated() -> None:
    assert ReactionRequest.model_validate({"meeting_id": "m", "emoji": "❤️"}).emoji == "❤️"
    for bad in ({"meeting_id": "m", "emoji": "💩"}, {"meeting_id": "m"}, {"meeting_id": "m", "emoji": ["👍"]}):
        with pytest.raises(ValidationError):
            ReactionRequest.model_validate(bad)
    assert LowerHandRequest.model_validate({"meeting_id": "m"}).sid is None
    with pytest.raises(ValidationError):
        LowerHandRequest.model_validate({"meeting_id": "m", "sid": "not a sid!"})
    with pytest.raises(ValidationError):
        RaiseHandRequest.model_validate({"meeting_id": ""})


def test_spotlight_request_needs_a_participant_id_or_null() -> None:
    assert SpotlightRequest.model_validate({"meeting_id": "m", "sid": "p1"}).sid == "p1"
    assert SpotlightRequest.model_validate({"meeting_id": "m", "sid": None}).sid is None
    for bad in ({"meeting_id": "m"}, {"meeting_id": "m", "sid": 5}, {"meeting_id": "m", "sid": "not a sid!"}, {"sid": "p1"}):
        with pytest.raises(ValidationError):
            SpotlightRequest.model_validate(bad)
