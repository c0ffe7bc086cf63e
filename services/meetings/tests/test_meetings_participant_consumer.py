"""The participant.* consumer, one test body run twice: against FastStream's in-memory
broker (``TestKafkaBroker``) and, marked ``integration``, against the real Kafka
(``TestKafkaBroker(..., with_real=True)``), as ARCHITECTURE.md's FastStream model says.

The roster it feeds is tested end to end in test_meetings_roster_integration.py; here the
handler is a recorder, so the body checks only the consumer: what reaches the handler, what
is skipped as malformed, and that a failing handler gets the record again.
"""

import uuid
from datetime import UTC, datetime

import pytest
from faststream.kafka import TestKafkaBroker

from parley_events import OutgoingEvent, ParticipantJoined, ParticipantLeft, ReceivedEvent, encode, kafka_publisher
from parley_events.topics import PARTICIPANTS
from parley_meetings.config import Settings
from parley_meetings.messaging import add_participant_consumer, build_router

from parley_testing import commit_group_at_end


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.integration)])
async def consumer_settings(request: pytest.FixtureRequest) -> tuple[str, Settings]:
    """``(mode, settings)``: a fresh consumer group, positioned at the topic's end on Kafka."""
    group = f"meetings-consumer-{uuid.uuid4().hex[:10]}"
    if request.param == "memory":
        return "memory", Settings(environment="local", kafka_consumer_group=group)
    stack = request.getfixturevalue("stack")
    settings = Settings(
        environment="local", kafka_bootstrap_servers=stack.kafka_bootstrap_servers, kafka_consumer_group=group,
        api_keys_consumer_group=group,
    )
    await commit_group_at_end(settings.kafka_bootstrap_servers, group, PARTICIPANTS)
    return "kafka", settings


def participant_events(meeting_id: str) -> tuple[OutgoingEvent, OutgoingEvent]:
    now = datetime.now(UTC)
    joined = ParticipantJoined(
        meeting_id=meeting_id, user_id="bob", display_name="Bob", sid="sid-1", replica_id="signaling-1", joined_at=now
    )
    left = ParticipantLeft(
        meeting_id=meeting_id, user_id="bob", sid="sid-1", replica_id="signaling-1", reason="replica_lost", left_at=now
    )
    return encode(joined, source="/parley/tests"), encode(left, source="/parley/tests")


async def test_events_reach_the_handler_malformed_records_are_skipped_and_failures_redelivered(
    consumer_settings: tuple[str, Settings], wait_until
) -> None:
    mode, settings = consumer_settings
    meeting_id = f"m{uuid.uuid4().hex[:12]}"
    handled: list[ReceivedEvent] = []
    attempts: list[str] = []
    malformed: list[None] = []

    async def handle(events: list[ReceivedEvent]) -> list[str]:
        for event in events:
            if getattr(event.data, "meeting_id", None) != meeting_id:  # on Kafka, other tests' rooms share the topic
                continue
            attempts.append(event.id)
            if isinstance(event.data, ParticipantLeft) and attempts.count(event.id) == 1:
                raise RuntimeError("storage hiccup")  # the first attempt fails: the record comes again
            handled.append(event)
        return ["applied"] * len(events)

    router = build_router(settings)
    add_participant_consumer(router, settings, handle, on_malformed=lambda: malformed.append(None))
    joined, left = participant_events(meeting_id)
    async with TestKafkaBroker(router.broker, with_real=mode == "kafka") as broker:
        publish = kafka_publisher(broker)  # what the outbox relays publish with
        await broker.publish(b"not a cloudevent", topic=PARTICIPANTS.name, key=meeting_id.encode())
        await publish(joined)
        if mode == "memory":
            # In memory the handler runs inside publish, so its failure surfaces there, and
            # nothing redelivers: publishing again stands in for Kafka's redelivery.
            with pytest.raises(RuntimeError, match="storage hiccup"):
                await publish(left)
        await publish(left)
        await wait_until(lambda: _true(left.id in [e.id for e in handled]), timeout_s=30)

    # Records come in batches, and a failed batch comes again in full (the handler dedupes by
    # event id): the joined event may be handled twice, and the malformed record counted twice.
    assert 1 <= len(malformed) <= 2
    handled = [e for n, e in enumerate(handled) if e.id not in [h.id for h in handled[:n]]]
    assert [e.id for e in handled] == [joined.id, left.id]
    assert attempts.count(left.id) == 2  # the failed attempt, then the redelivery
    assert attempts.index(joined.id) < attempts.index(left.id)
    assert isinstance(handled[0].data, ParticipantJoined)
    assert (handled[0].data.meeting_id, handled[0].data.sid) == (meeting_id, "sid-1")
    assert isinstance(handled[1].data, ParticipantLeft) and handled[1].data.reason == "replica_lost"


async def _true(value: bool) -> bool:
    return value
