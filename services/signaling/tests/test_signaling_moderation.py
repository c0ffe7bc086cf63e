"""The host's moderation requests across two signaling replicas sharing the real Kafka
(docs/signaling.md, "Moderation"): mute one, mute everyone, ask to unmute; host only."""

import pytest

from signaling_testkit import Cluster, error_code, in_room, until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


async def test_the_host_mutes_one_or_everyone_on_any_replica(cluster: Cluster, meeting: str) -> None:
    host, a, b = await in_room(cluster, meeting, "host-" + meeting, "r2", "r1")
    assert (await host.call("mute", {"meeting_id": meeting, "sid": a.sid}))["ok"]
    for peer in (host, a, b):  # the whole room learns it; a's client is the one that acts
        event = await peer.next("moderation", lambda d: d["action"] == "mute")
        assert (event["sid"], event["by"], event["meeting_id"]) == (a.sid, host.sid, meeting)
        assert event["by_name"]
    assert (await host.call("mute", {"meeting_id": meeting}))["ok"]  # everyone
    await b.next("moderation", lambda d: d["action"] == "mute" and d["sid"] is None)
    assert (await host.call("ask-unmute", {"meeting_id": meeting, "sid": b.sid}))["ok"]
    event = await b.next("moderation", lambda d: d["action"] == "ask-unmute")
    assert event["sid"] == b.sid
    await until(lambda: len(a.received("moderation")) == 3, what="three moderation events at a")


async def test_only_the_host_moderates_and_only_participants_of_the_room(cluster: Cluster, meeting: str) -> None:
    host, a = await in_room(cluster, meeting, "host-" + meeting, "r2")
    outsider = await cluster.peer(cluster.r1)
    assert error_code(await a.call("mute", {"meeting_id": meeting, "sid": host.sid})) == "forbidden"
    assert error_code(await a.call("mute", {"meeting_id": meeting})) == "forbidden"
    assert error_code(await a.call("ask-unmute", {"meeting_id": meeting, "sid": host.sid})) == "forbidden"
    assert error_code(await outsider.call("mute", {"meeting_id": meeting, "sid": a.sid})) == "not_in_room"
    assert error_code(await host.call("mute", {"meeting_id": meeting, "sid": outsider.sid})) == "peer_not_in_room"
    assert error_code(await host.call("ask-unmute", {"meeting_id": meeting, "sid": host.sid})) == "peer_not_in_room"
    for bad in ({"meeting_id": meeting, "sid": 5}, {"meeting_id": meeting}, {"sid": a.sid}):
        assert error_code(await host.call("ask-unmute", bad)) == "invalid_payload"
    assert error_code(await host.call("mute", {"meeting_id": meeting, "sid": "x" * 500})) == "invalid_payload"
    assert a.received("moderation") == [] and host.received("moderation") == []
