from datetime import UTC, datetime

import pytest

from parley_events import EventDecodeError, MeetingEnded, decode, encode


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
