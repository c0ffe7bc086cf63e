"""Raised hands and reactions across two signaling replicas sharing the real Kafka
(docs/signaling.md, "Hands and reactions")."""

import pytest

from signaling_testkit import Cluster, error_code, in_room, unique, until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def order(event: dict) -> list[str]:
    return [hand["sid"] for hand in event["hands"]]


async def test_hands_keep_one_order_on_every_replica_and_reach_a_late_joiner(cluster: Cluster, meeting: str) -> None:
    host, a, b = await in_room(cluster, meeting, "host-" + meeting, "r2", "r1")
    assert (await b.call("raise-hand", {"meeting_id": meeting}))["ok"]
    await a.next("hands", lambda d: order(d) == [b.sid])
    assert (await a.call("raise-hand", {"meeting_id": meeting}))["ok"]
    assert (await a.call("raise-hand", {"meeting_id": meeting}))["ok"]  # raised already: no change
    for peer in (host, a, b):
        event = await peer.next("hands", lambda d: order(d) == [b.sid, a.sid])
        assert (event["sid"], event["raised"], event["lowered_by"]) == (a.sid, True, None)
    late = await cluster.peer(cluster.r2)
    cluster.meetings.admit(meeting, late.user_id)
    ack = await late.call("join", {"meeting_id": meeting})
    assert [h["sid"] for h in ack["data"]["hands"]] == [b.sid, a.sid]
    assert ack["data"]["hands"][0]["user_id"] == b.user_id

    # a participant lowers only its own hand; the host lowers anyone's
    assert error_code(await a.call("lower-hand", {"meeting_id": meeting, "sid": b.sid})) == "forbidden"
    assert (await a.call("lower-hand", {"meeting_id": meeting}))["ok"]
    await host.next("hands", lambda d: order(d) == [b.sid] and d["sid"] == a.sid and not d["raised"])
    assert (await host.call("lower-hand", {"meeting_id": meeting, "sid": b.sid}))["ok"]
    for peer in (a, b, late):
        event = await peer.next("hands", lambda d: order(d) == [] and d["sid"] == b.sid)
        assert (event["raised"], event["lowered_by"]) == (False, host.sid)
    assert len([e for e in b.received("hands") if e["sid"] == a.sid]) == 2  # one raise, one lower: no repeats


async def test_reactions_reach_the_whole_room_once_and_only_known_emoji_pass(cluster: Cluster, meeting: str) -> None:
    host, a = await in_room(cluster, meeting, "host-" + meeting, "r2")
    outsider = await cluster.peer(cluster.r2)
    assert (await a.call("reaction", {"meeting_id": meeting, "emoji": "🎉"}))["ok"]
    for peer in (host, a):
        event = await peer.next("reaction")
        assert (event["sid"], event["user_id"], event["emoji"]) == (a.sid, a.user_id, "🎉")
    for bad in ("💩", "", 1, "🎉🎉"):
        assert error_code(await a.call("reaction", {"meeting_id": meeting, "emoji": bad})) == "invalid_payload"
    assert error_code(await outsider.call("reaction", {"meeting_id": meeting, "emoji": "👍"})) == "not_in_room"
    assert error_code(await outsider.call("raise-hand", {"meeting_id": meeting})) == "not_in_room"
    await until(lambda: len(host.received("reaction")) == 1, what="the one reaction")
    assert len(a.received("reaction")) == 1 and outsider.received("reaction") == []


async def test_gestures_are_rate_limited_per_socket(cluster: Cluster, meeting: str) -> None:
    host, a = await in_room(cluster, meeting, "host-" + meeting, "r1")
    acks = [await a.call("reaction", {"meeting_id": meeting, "emoji": "👍"}) for _ in range(8)]
    assert [ack["ok"] for ack in acks[:5]] == [True] * 5  # the burst (PARLEY_SIGNALING_GESTURE_BURST)
    assert any(not ack["ok"] and ack["error"]["code"] == "rate_limited" for ack in acks[5:])
    # the general limit is untouched: other events pass
    assert (await a.call("media-state", {"meeting_id": meeting, "audio": True, "video": True, "screen": False}))["ok"]


async def test_a_hand_goes_when_its_participant_leaves(cluster: Cluster, meeting: str) -> None:
    host, a = await in_room(cluster, meeting, "host-" + meeting, "r2")
    assert (await a.call("raise-hand", {"meeting_id": meeting}))["ok"]
    await host.next("hands", lambda d: order(d) == [a.sid])
    assert (await a.call("leave", {"meeting_id": meeting}))["ok"]
    await host.next("peer-left", lambda d: d["sid"] == a.sid)
    late = await cluster.peer(cluster.r2)
    cluster.meetings.admit(meeting, late.user_id)
    ack = await late.call("join", {"meeting_id": meeting})
    assert ack["data"]["hands"] == []


async def test_a_participant_that_leaves_and_joins_again_comes_back_without_its_room_state(
    cluster: Cluster, meeting: str
) -> None:
    """The same socket rejoins with the same participant id: its hand, recording and spotlight
    went when it left (the others dropped them on ``peer-left``), and do not come back."""
    host, a = await in_room(cluster, meeting, "host-" + meeting, "r2")
    assert (await a.call("raise-hand", {"meeting_id": meeting}))["ok"]
    assert (await a.call("recording", {"meeting_id": meeting, "active": True}))["ok"]
    assert (await host.call("spotlight", {"meeting_id": meeting, "sid": a.sid}))["ok"]
    await host.next("spotlight", lambda d: d["sid"] == a.sid)
    await host.next("recording", lambda d: [r["sid"] for r in d["recordings"]] == [a.sid])
    await host.next("hands", lambda d: order(d) == [a.sid])
    assert (await a.call("leave", {"meeting_id": meeting}))["ok"]
    await host.next("peer-left", lambda d: d["sid"] == a.sid)
    ack = await a.call("join", {"meeting_id": meeting})
    assert ack["ok"] and ack["data"]["participant_id"] == a.sid
    assert (ack["data"]["hands"], ack["data"]["recordings"], ack["data"]["spotlight"]) == ([], [], None)
    # raising it again is news to everyone
    assert (await a.call("raise-hand", {"meeting_id": meeting}))["ok"]
    assert (await host.next("hands", lambda d: d["raised"] and d["sid"] == a.sid))["hands"][0]["sid"] == a.sid
    # leaving by joining another meeting, then coming back: the same
    other = unique("m")
    cluster.meetings.admit(other, a.user_id)
    assert (await a.call("join", {"meeting_id": other}))["ok"]
    await until(lambda: len([e for e in host.received("peer-left") if e["sid"] == a.sid]) == 2, what="a's second leave")
    ack = await a.call("join", {"meeting_id": meeting})
    assert ack["ok"] and ack["data"]["hands"] == []
