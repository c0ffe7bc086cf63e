"""Parley's events: CloudEvents envelope, payload schemas, topics, outbox and inbox."""

from parley_events.asyncapi import CloudEventEnvelope, asyncapi_document, asyncapi_router, envelope_of
from parley_events.envelope import EventDecodeError, OutgoingEvent, ReceivedEvent, decode, encode
from parley_events.inbox import ProcessedEvents
from parley_events.kafka import (
    decoded_record,
    kafka_publisher,
    kafka_sender,
    received_event,
    records_of,
    relay_while_broker_runs,
)
from parley_events.metrics import ConsumerLag, OutboxMetrics
from parley_events.outbox import OUTBOX_FIELD, PENDING_FIELD, outbox_entry, stage, staged
from parley_events.relay import OutboxRelay
from parley_events.schemas import (
    EVENT_TYPES,
    ChatMessagePosted,
    EventData,
    MeetingCreated,
    MeetingEnded,
    MeetingJoined,
    ParticipantJoined,
    ParticipantLeft,
    UserRegistered,
)
from parley_events.topics import TOPICS, TopicSpec
from parley_events.write_conflicts import is_write_conflict, retry_write_conflicts

__all__ = [
    "EVENT_TYPES",
    "OUTBOX_FIELD",
    "PENDING_FIELD",
    "TOPICS",
    "ChatMessagePosted",
    "CloudEventEnvelope",
    "ConsumerLag",
    "EventData",
    "EventDecodeError",
    "MeetingCreated",
    "MeetingEnded",
    "MeetingJoined",
    "OutboxMetrics",
    "OutboxRelay",
    "OutgoingEvent",
    "ParticipantJoined",
    "ParticipantLeft",
    "ProcessedEvents",
    "ReceivedEvent",
    "TopicSpec",
    "UserRegistered",
    "asyncapi_document",
    "asyncapi_router",
    "decode",
    "decoded_record",
    "encode",
    "envelope_of",
    "is_write_conflict",
    "kafka_publisher",
    "kafka_sender",
    "outbox_entry",
    "received_event",
    "records_of",
    "relay_while_broker_runs",
    "retry_write_conflicts",
    "stage",
    "staged",
]
