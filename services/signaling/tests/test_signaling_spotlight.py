"""The room's spotlight across two signaling replicas sharing the real Kafka
(docs/signaling.md, "Spotlight"): the host or a co-host only, one spotlight per room on every
replica, a late joiner finds it, and it goes with its participant."""

from datetime import UTC, datetime

import pytest

from parley_events import MeetingRoleChanged
from parley_signaling.spotlight import SpotlightMessage
from signaling_testkit import Cluster, error_code, in_room, publish_event, until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


async def test_the_host_spotlights_for_the_whole_room_and_a_late_joiner_finds_it(cluster: Cluster, meeting: str) -> None:
    host, a, b = await in_room(cluster, meeting, "host-" + meeting, "r2", "r1")
    assert (await host.call("spotlight", {"meeting_id": meeting, "sid": a.sid}))["ok"]
    for peer in (host, a, b):  # both replicas' sockets, the sender's included
        event = await peer.next("spotlight")
        assert (event["meeting_id"], event["sid"], event["by"]) == (meeting, a.sid, host.sid)
    assert (await host.call("spotlight", {"meeting_id": meeting, "sid": a.sid}))["ok"]  # no change: no event
    late = await cluster.peer(cluster.r2)
    cluster.meetings.admit(meeting, late.user_id)
    ack = await late.call("join", {"meeting_id": meeting})
    assert ack["data"]["spotlight"] == a.sid
    # the host spotlights itself, then nobody
    assert (await host.call("spotlight", {"meeting_id": meeting, "sid": host.sid}))["ok"]
    await late.next("spotlight", lambda d: d["sid"] == host.sid)
    assert (await host.call("spotlight", {"meeting_id": meeting, "sid": None}))["ok"]
    for peer in (host, a, b, late):
        await peer.next("spotlight", lambda d: d["sid"] is None)
    await until(lambda: len(b.received("spotlight")) == 3, what="three spotlight events at b")
    assert len(b.received("spotlight")) == 3  # set, moved, taken away: no repeats


async def test_only_moderators_spotlight_and_only_participants_of_the_room(
    cluster: Cluster, meeting: str, kafka_producer
) -> None:
    host, a, b = await in_room(cluster, meeting, "host-" + meeting, "r2", "r1")
    outsider = await cluster.peer(cluster.r1)
    assert error_code(await a.call("spotlight", {"meeting_id": meeting, "sid": a.sid})) == "forbidden"
    assert error_code(await outsider.call("spotlight", {"meeting_id": meeting, "sid": a.sid})) == "not_in_room"
    assert error_code(await host.call("spotlight", {"meeting_id": meeting, "sid": outsider.sid})) == "peer_not_in_room"
    for bad in ({"meeting_id": meeting}, {"meeting_id": meeting, "sid": 5}, {"sid": a.sid},
                {"meeting_id": meeting, "sid": "x" * 500}):
        assert error_code(await host.call("spotlight", bad)) == "invalid_payload"
    assert host.received("spotlight") == [] and b.received("spotlight") == []
    # a co-host may
    await publish_event(kafka_producer, MeetingRoleChanged(
        meeting_id=meeting, user_id=a.user_id, role="cohost", changed_by=host.user_id, changed_at=datetime.now(UTC)))
    await a.next("role-changed")
    assert (await a.call("spotlight", {"meeting_id": meeting, "sid": b.sid}))["ok"]
    event = await host.next("spotlight")
    assert (event["sid"], event["by"]) == (b.sid, a.sid)


async def test_the_spotlight_goes_when_its_participant_leaves(cluster: Cluster, meeting: str) -> None:
    host, a = await in_room(cluster, meeting, "host-" + meeting, "r2")
    assert (await host.call("spotlight", {"meeting_id": meeting, "sid": a.sid}))["ok"]
    await host.next("spotlight", lambda d: d["sid"] == a.sid)
    assert (await a.call("leave", {"meeting_id": meeting}))["ok"]
    await host.next("peer-left", lambda d: d["sid"] == a.sid)
    late = await cluster.peer(cluster.r2)
    cluster.meetings.admit(meeting, late.user_id)
    ack = await late.call("join", {"meeting_id": meeting})
    assert ack["data"]["spotlight"] is None


async def test_a_spotlight_read_back_after_its_participant_left_changes_nothing(cluster: Cluster, meeting: str) -> None:
    """A spotlight is applied when each replica reads it back; its participant may have left
    by then (the leave is applied at once). Nobody is shown in the spotlight then."""
    host, a = await in_room(cluster, meeting, "host-" + meeting, "r2")
    assert (await a.call("leave", {"meeting_id": meeting}))["ok"]
    await host.next("peer-left", lambda d: d["sid"] == a.sid)
    message = SpotlightMessage(meeting_id=meeting, sid=a.sid, by=host.sid, at=datetime.now(UTC))
    await cluster.r1.fanout.publish_room_message(message.model_dump(mode="json"))
    assert (await host.call("spotlight", {"meeting_id": meeting, "sid": host.sid}))["ok"]  # read after it
    await host.next("spotlight", lambda d: d["sid"] == host.sid)
    assert [d["sid"] for d in host.received("spotlight")] == [host.sid]
