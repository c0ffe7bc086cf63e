"""Who records the meeting, across two signaling replicas sharing the real Kafka
(docs/signaling.md, "Recording")."""

import pytest

from signaling_testkit import Cluster, error_code, until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def recorders(event: dict) -> list[tuple[str, str]]:
    return [(r["sid"], r["display_name"]) for r in event["recordings"]]


async def joined(cluster: Cluster, meeting: str, host: str):
    """The host on r1 and a recorder named "Rita Recorder" on r2, both in the room."""
    host_peer = await cluster.peer(cluster.r1, host)
    rita = await cluster.peer(cluster.r2, name="Rita Recorder")
    cluster.meetings.admit(meeting, host_peer.user_id, rita.user_id, host=host)
    for peer in (host_peer, rita):
        assert (await peer.call("join", {"meeting_id": meeting}))["ok"]
    await host_peer.next("peer-joined", lambda d: d["sid"] == rita.sid)
    return host_peer, rita


async def test_the_room_and_a_late_joiner_learn_who_records_until_it_stops(cluster: Cluster, meeting: str) -> None:
    host, rita = await joined(cluster, meeting, "host-" + meeting)
    assert (await rita.call("recording", {"meeting_id": meeting, "active": True}))["ok"]
    assert (await rita.call("recording", {"meeting_id": meeting, "active": True}))["ok"]  # said twice: no change
    for peer in (host, rita):
        event = await peer.next("recording", lambda d: d["active"])
        assert (event["sid"], recorders(event)) == (rita.sid, [(rita.sid, "Rita Recorder")])
        assert event["recordings"][0]["user_id"] == rita.user_id
    late = await cluster.peer(cluster.r1)
    cluster.meetings.admit(meeting, late.user_id)
    ack = await late.call("join", {"meeting_id": meeting})
    assert [(r["sid"], r["display_name"]) for r in ack["data"]["recordings"]] == [(rita.sid, "Rita Recorder")]

    assert (await rita.call("recording", {"meeting_id": meeting, "active": False}))["ok"]
    for peer in (host, rita, late):
        event = await peer.next("recording", lambda d: not d["active"])
        assert (event["sid"], event["recordings"]) == (rita.sid, [])
    assert (await rita.call("recording", {"meeting_id": meeting, "active": False}))["ok"]  # stopped already
    await until(lambda: len(late.received("recording")) == 1, what="the one stop")
    assert len(host.received("recording")) == 2  # one start, one stop: no repeats


async def test_a_recorder_who_leaves_is_no_longer_listed(cluster: Cluster, meeting: str) -> None:
    host, rita = await joined(cluster, meeting, "host-" + meeting)
    assert (await rita.call("recording", {"meeting_id": meeting, "active": True}))["ok"]
    await host.next("recording", lambda d: d["active"])
    assert (await rita.call("leave", {"meeting_id": meeting}))["ok"]
    await host.next("peer-left", lambda d: d["sid"] == rita.sid)
    late = await cluster.peer(cluster.r2)
    cluster.meetings.admit(meeting, late.user_id)
    ack = await late.call("join", {"meeting_id": meeting})
    assert ack["data"]["recordings"] == []


async def test_recording_is_validated_and_only_for_the_room(cluster: Cluster, meeting: str) -> None:
    host, rita = await joined(cluster, meeting, "host-" + meeting)
    outsider = await cluster.peer(cluster.r2)
    for bad in ({"meeting_id": meeting}, {"meeting_id": meeting, "active": "yes"}, {"meeting_id": meeting, "active": 1}, {"active": True}):
        assert error_code(await rita.call("recording", bad)) == "invalid_payload"
    assert error_code(await outsider.call("recording", {"meeting_id": meeting, "active": True})) == "not_in_room"
    assert (await host.call("raise-hand", {"meeting_id": meeting}))["ok"]
    await rita.next("hands")  # everything above was refused before reaching the room
    assert rita.received("recording") == [] and host.received("recording") == []
