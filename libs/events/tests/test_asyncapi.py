"""parley_events.asyncapi: CloudEvents envelopes, and a raw-record subscriber's payloads."""

from parley_events import MeetingEnded, ParticipantJoined, ParticipantLeft, asyncapi_document, envelope_of


def _faststream_like_spec() -> dict:
    """What FastStream generates for a subscriber whose handler takes the raw record."""
    return {
        "asyncapi": "3.0.0",
        "channels": {
            "participants": {
                "address": "parley.participants",
                "messages": {"SubscribeMessage": {"$ref": "#/components/messages/participants:SubscribeMessage"}},
            }
        },
        "operations": {
            "participants": {
                "action": "receive",
                "channel": {"$ref": "#/channels/participants"},
                "messages": [{"$ref": "#/channels/participants/messages/SubscribeMessage"}],
            }
        },
        "components": {
            "messages": {"participants:SubscribeMessage": {"payload": {"$ref": "#/components/schemas/EmptyPayload"}}},
            "schemas": {"EmptyPayload": {"title": "EmptyPayload", "type": "null"}},
        },
    }


def test_envelope_models_fix_the_type_and_carry_the_payload() -> None:
    schema = envelope_of(MeetingEnded).model_json_schema()
    assert schema["title"] == "MeetingEndedEvent"
    assert schema["properties"]["type"]["const"] == "parley.meetings.meeting.ended.v1"
    assert schema["properties"]["data"] == {"$ref": "#/$defs/MeetingEnded"}
    assert set(schema["required"]) >= {"specversion", "id", "source", "type", "subject", "time", "data"}
    assert envelope_of(MeetingEnded) is envelope_of(MeetingEnded)


def test_a_raw_subscriber_gets_one_message_per_event_type_and_empty_payload_goes() -> None:
    doc = asyncapi_document(_faststream_like_spec(), {"participants": (ParticipantJoined, ParticipantLeft)})
    channel = doc["channels"]["participants"]
    assert set(channel["messages"]) == {"ParticipantJoined", "ParticipantLeft"}
    assert doc["operations"]["participants"]["messages"] == [
        {"$ref": "#/channels/participants/messages/ParticipantJoined"},
        {"$ref": "#/channels/participants/messages/ParticipantLeft"},
    ]
    messages = doc["components"]["messages"]
    assert "participants:SubscribeMessage" not in messages
    joined = messages["participants:ParticipantJoined"]
    assert joined["name"] == "parley.signaling.participant.joined.v1"
    assert joined["contentType"] == "application/cloudevents+json"
    assert joined["payload"] == {"$ref": "#/components/schemas/ParticipantJoinedEvent"}
    schemas = doc["components"]["schemas"]
    assert "EmptyPayload" not in schemas
    assert schemas["ParticipantJoinedEvent"]["properties"]["data"] == {"$ref": "#/components/schemas/ParticipantJoined"}
    assert "sid" in schemas["ParticipantJoined"]["properties"]
