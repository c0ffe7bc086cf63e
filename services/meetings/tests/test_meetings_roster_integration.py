"""The roster: participant.* events on the real Kafka change what GET .../roster shows."""

from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from parley_events import ParticipantJoined, ParticipantLeft, encode
from parley_events.topics import PARTICIPANTS
from parley_meetings.repository import MeetingRepository
from parley_testing import sample_value

pytestmark = pytest.mark.integration


def joined(meeting_id: str, sid: str, user_id: str = "bob") -> ParticipantJoined:
    return ParticipantJoined(
        meeting_id=meeting_id,
        user_id=user_id,
        display_name=user_id.title(),
        sid=sid,
        replica_id="signaling-1",
        joined_at=datetime.now(UTC),
    )


def left(meeting_id: str, sid: str, user_id: str = "bob", reason: str = "left") -> ParticipantLeft:
    return ParticipantLeft(
        meeting_id=meeting_id,
        user_id=user_id,
        sid=sid,
        replica_id="signaling-1",
        reason=reason,
        left_at=datetime.now(UTC),
    )


async def roster_sids(client, mid: str, user: str = "alice") -> list[str]:
    response = await client.http.get(f"/api/meetings/{mid}/roster", headers=client.auth(user))
    assert response.status_code == 200, response.text
    return [p["sid"] for p in response.json()["participants"]]


async def test_joined_and_left_events_change_the_roster(client, produce, wait_until) -> None:
    mid = (await client.create("alice"))["meeting_id"]
    await client.http.post(f"/api/meetings/{mid}/join", headers=client.auth("bob"))
    assert await roster_sids(client, mid) == []

    await produce(joined(mid, "sid-alice", "alice"))
    await produce(joined(mid, "sid-bob", "bob"))
    await wait_until(lambda: _equals(roster_sids(client, mid), ["sid-alice", "sid-bob"]))

    response = await client.http.get(f"/api/meetings/{mid}/roster", headers=client.auth("bob"))
    assert response.json()["meeting_id"] == mid
    bob = response.json()["participants"][1]
    assert {k: bob[k] for k in ("user_id", "display_name", "sid", "replica_id")} == {
        "user_id": "bob", "display_name": "Bob", "sid": "sid-bob", "replica_id": "signaling-1"
    }
    assert datetime.fromisoformat(bob["joined_at"]).tzinfo is not None

    await produce(left(mid, "sid-alice", "alice", reason="disconnected"))
    await wait_until(lambda: _equals(roster_sids(client, mid), ["sid-bob"]))


async def test_the_same_event_twice_changes_the_roster_once(client, produce, wait_until) -> None:
    mid = (await client.create("alice"))["meeting_id"]
    first = encode(joined(mid, "sid-1"), source="/parley/signaling/test")
    # The same record (same CloudEvents id) delivered twice around a leave: the replay must not
    # put sid-1 back. A later marker event shows the replay has been consumed by then.
    await produce(first.value, key=first.key, headers=list(first.headers.items()))
    await wait_until(lambda: _equals(roster_sids(client, mid), ["sid-1"]))
    await produce(left(mid, "sid-1"))
    await produce(first.value, key=first.key, headers=list(first.headers.items()))
    await produce(joined(mid, "sid-2", "carol"))
    await wait_until(lambda: _equals(roster_sids(client, mid), ["sid-2"]))

    async def replay_counted() -> bool:
        # the batch's outcomes are counted after its roster write and its processed ids are
        # stored, so the roster can show sid-2 a moment before. At least the replay; more if
        # the group rebalanced (a busy machine) and a record came again.
        metrics = (await client.http.get("/metrics")).text
        return sample_value(metrics, "parley_meetings_roster_events_total", outcome="duplicate", type="joined") >= 1

    await wait_until(replay_counted)


async def test_malformed_records_are_skipped_and_the_next_one_processed(client, produce, wait_until, stack) -> None:
    mid = (await client.create("alice"))["meeting_id"]
    key = mid.encode()
    json_header = [("content-type", b"application/cloudevents+json")]
    await produce(b"\x00\xffnot json at all", key=key, headers=json_header)
    await produce(b'{"specversion": "1.0", "id": "x"}', key=key, headers=json_header)
    await produce(b"plain bytes without headers", key=key)
    unknown = b'{"specversion":"1.0","id":"u1","source":"/x","type":"parley.unknown.v1","data":{}}'
    await produce(unknown, key=key, headers=json_header)
    await produce(joined(mid, "sid-after-garbage"))
    await wait_until(lambda: _equals(roster_sids(client, mid), ["sid-after-garbage"]))

    metrics = (await client.http.get("/metrics")).text
    assert 'parley_meetings_roster_events_total{outcome="malformed",type="other"} 4.0' in metrics
    # Acknowledged after processing: the group's committed offsets reach the end of the topic.
    await wait_until(lambda: committed_at_end(stack, client.app.state.settings.kafka_consumer_group))


async def test_ending_clears_the_roster_and_later_joins_are_ignored(client, produce, wait_until) -> None:
    mid = (await client.create("alice"))["meeting_id"]
    await produce(joined(mid, "sid-a", "alice"))
    await wait_until(lambda: _equals(roster_sids(client, mid), ["sid-a"]))

    ended = await client.http.post(f"/api/meetings/{mid}/end", headers=client.auth("alice"))
    assert ended.status_code == 200
    assert await roster_sids(client, mid) == []

    await produce(joined(mid, "sid-late", "alice"))
    other = (await client.create("alice"))["meeting_id"]
    await produce(joined(other, "sid-marker", "alice"))  # same consumer; shows it moved on
    await wait_until(lambda: _equals(roster_sids(client, other), ["sid-marker"]))
    assert await roster_sids(client, mid) == []


async def test_events_for_unknown_meetings_are_ignored(client, produce, wait_until) -> None:
    await produce(joined("no-such-meeting", "sid-x"))
    await produce(left("no-such-meeting", "sid-x"))
    mid = (await client.create("alice"))["meeting_id"]
    await produce(joined(mid, "sid-y", "alice"))
    await wait_until(lambda: _equals(roster_sids(client, mid), ["sid-y"]))
    assert await client.collection().find_one({"_id": "no-such-meeting"}) is None


async def test_roster_is_for_participants_only(client) -> None:
    mid = (await client.create("alice"))["meeting_id"]
    stranger = await client.http.get(f"/api/meetings/{mid}/roster", headers=client.auth("mallory"))
    assert stranger.status_code == 403
    assert stranger.json()["detail"]["code"] == "not_a_participant"
    missing = await client.http.get("/api/meetings/nope-nope-nope/roster", headers=client.auth("alice"))
    assert missing.status_code == 404


async def committed_at_end(stack, group_id: str) -> bool:
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap_servers, group_id=group_id)
    await consumer.start()
    try:
        partitions = [TopicPartition(PARTICIPANTS.name, p) for p in range(PARTICIPANTS.partitions)]
        ends = await consumer.end_offsets(partitions)
        return all([await consumer.committed(tp) == ends[tp] for tp in partitions])
    finally:
        await consumer.stop()


async def _equals(awaitable, expected) -> bool:
    return await awaitable == expected


async def test_a_roster_write_misses_on_the_store_when_the_empty_timeout_changed_since_its_read(client) -> None:
    """The roster consumer writes from the roster it last wrote; the store's compare-and-set
    refuses that write when the meeting's empty timeout (the deadline's base) changed since."""
    mid = (await client.create("alice"))["meeting_id"]
    settings = client.app.state.settings
    repository = MeetingRepository(client.app.state.mongo[settings.mongo_database])
    seen = await repository.roster_state(mid)
    assert seen is not None and seen.empty_timeout_seconds is None

    response = await client.http.patch(
        f"/api/meetings/{mid}", json={"empty_timeout_seconds": 600}, headers=client.auth("alice")
    )
    assert response.status_code == 200, response.text
    assert not await repository.replace_roster(mid, seen, [])
    fresh = await repository.roster_state(mid)
    assert fresh is not None and fresh.empty_timeout_seconds == 600
    assert await repository.replace_roster(mid, fresh, [])
    assert not await repository.replace_roster(mid, fresh, [])  # its revision moved on
