from datetime import UTC, datetime

import pytest

from parley_events import EventDecodeError, MeetingEnded, decode, encode, named_model


def test_encode_is_a_structured_cloudevent_keyed_by_aggregate() -> None:
    data = MeetingEnded(meeting_id="m-1", ended_by="u-1", ended_at=datetime.now(UTC))

    event = encode(data, source="/parley/meetings")

    assert event.topic == "parley.meetings"
    assert event.key == b"m-1"
    assert event.headers["content-type"] == b"application/cloudevents+json"
    received = decode(event.value, event.headers, event.key)
    assert received.id == event.id
    assert received.type == "parley.meetings.meeting.ended.v1"
    assert received.source == "/parley/meetings"
    assert received.subject == "m-1"
    assert received.data == data


@pytest.mark.parametrize(
    "value",
    [
        b"{not json",
        b'{"specversion": "1.0", "id": "1", "source": "/x"}',
        b'{"specversion": "1.0", "id": "1", "source": "/x", "type": "unknown.v1", "data": {}}',
        b'{"specversion": "1.0", "id": "1", "source": "/x",'
        b' "type": "parley.meetings.meeting.ended.v1", "data": {"meeting_id": "m"}}',
    ],
)
def test_decode_rejects_what_is_not_a_parley_event(value: bytes) -> None:
    with pytest.raises(EventDecodeError):
        decode(value)


def test_named_model_reads_the_type_a_record_names_without_decoding_it() -> None:
    data = MeetingEnded(meeting_id="m-1", ended_by="u-1", ended_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert named_model(encode(data, source="/parley/meetings").value) is MeetingEnded
    # an invalid payload still names its type: decode, not named_model, refuses it
    assert named_model(b'{"type": "parley.meetings.meeting.ended.v1", "data": {"meeting_id": "m"}}') is MeetingEnded
    for value in (None, b"{not json", b"[1, 2]", b'"text"', b'{"type": 7}', b'{"type": "unknown.v1"}', b"{}", b"\xff"):
        assert named_model(value) is None, value
