"""Resumable participants and drain, on real replicas sharing the test stack's Kafka
(docs/signaling.md, "Resumable participants" and "Drain")."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from signaling_testkit import Cluster, FakeMeetings, Peer, Replica, start_replica, unique, until

from parley_events import ParticipantJoined, ParticipantLeft
from parley_testing import Stack, TokenIssuer, TopicTail

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

WINDOW_S = 1.5
OVERRIDES = {"signaling_resume_seconds": WINDOW_S, "signaling_drain_seconds": 8.0}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(stack: Stack) -> AsyncIterator[Cluster]:
    issuer, meetings, run = TokenIssuer(), FakeMeetings(), unique("res")
    r1 = await start_replica(f"{run}-1", stack, issuer, meetings, **OVERRIDES)
    r2 = await start_replica(f"{run}-2", stack, issuer, meetings, **OVERRIDES)
    cluster = Cluster(stack=stack, issuer=issuer, meetings=meetings, r1=r1, r2=r2)
    try:
        yield cluster
    finally:
        for peer in cluster.peers:
            await peer.close()
        await r1.stop()
        await r2.stop()


async def joined(cluster: Cluster, replica: Replica, meeting: str, user_id: str | None = None, **join: object) -> tuple[Peer, dict]:
    peer = await cluster.peer(replica, user_id=user_id)
    cluster.meetings.admit(meeting, peer.user_id)  # type: ignore[attr-defined]
    ack = await peer.call("join", {"meeting_id": meeting, **join})
    assert ack["ok"], ack
    return peer, ack["data"]


def lefts(tail: TopicTail, sid: str) -> list[ParticipantLeft]:
    return [e.data for e in tail.seen if isinstance(e.data, ParticipantLeft) and e.data.sid == sid]


async def test_a_dropped_resumable_participant_is_held_and_resumed_on_another_replica(
    cluster: Cluster, participants_tail: TopicTail
) -> None:
    meeting = unique()
    ada, ada_ack = await joined(cluster, cluster.r1, meeting, resumable=True)
    bob, _ = await joined(cluster, cluster.r2, meeting)
    assert ada_ack["participant_id"] == ada.sid and ada_ack["resumed"] is False
    ada_id = ada.sid
    await participants_tail.find(lambda e: isinstance(e.data, ParticipantJoined) and e.data.sid == bob.sid)

    await ada.client.disconnect()  # the socket drops; the participant stays
    again = await cluster.peer(cluster.r2, user_id=ada.user_id)  # type: ignore[attr-defined]
    ack = await again.call("join", {"meeting_id": meeting, "resume": ada_id})
    assert ack["ok"] and ack["data"]["resumed"] is True
    assert ack["data"]["participant_id"] == ada_id
    assert [p["sid"] for p in ack["data"]["peers"]] == [bob.sid]
    resumed = await bob.next("peer-resumed")
    assert resumed == {"meeting_id": meeting, "sid": ada_id, "user_id": ada.user_id, "display_name": "Test User"}  # type: ignore[attr-defined]

    # relays address the participant, whichever socket holds it
    assert (await bob.call("offer", {"meeting_id": meeting, "to": ada_id, "sdp": "v=0 b"}))["ok"]
    assert (await again.next("offer"))["from"] == bob.sid
    assert (await again.call("answer", {"meeting_id": meeting, "to": bob.sid, "sdp": "v=0 a"}))["ok"]
    assert (await bob.next("answer"))["from"] == ada_id

    await asyncio.sleep(WINDOW_S + 1.0)  # past the window: nothing expires a resumed participant
    assert bob.received("peer-left") == [] and bob.received("peer-joined") == []
    assert cluster.r1.rooms.held == {}
    assert lefts(participants_tail, ada_id) == []
    assert cluster.r1.fanout.directory.get(ada_id).replica_id == cluster.r2.name  # type: ignore[union-attr]


async def test_a_held_participant_that_does_not_resume_leaves_after_the_window(
    cluster: Cluster, participants_tail: TopicTail
) -> None:
    meeting = unique()
    ada, _ = await joined(cluster, cluster.r1, meeting, resumable=True)
    bob, _ = await joined(cluster, cluster.r2, meeting)
    ada_id = ada.sid
    await ada.client.disconnect()
    await asyncio.sleep(WINDOW_S / 2)
    assert bob.received("peer-left") == []
    left = await bob.next("peer-left", timeout=WINDOW_S + 10)
    assert left == {"meeting_id": meeting, "sid": ada_id, "user_id": ada.user_id, "reason": "disconnected"}  # type: ignore[attr-defined]
    event = await participants_tail.find(lambda e: isinstance(e.data, ParticipantLeft) and e.data.sid == ada_id)
    assert event.data.reason == "disconnected" and event.data.replica_id == cluster.r1.name

    # too late to resume: a fresh join with a new participant id
    again = await cluster.peer(cluster.r1, user_id=ada.user_id)  # type: ignore[attr-defined]
    ack = await again.call("join", {"meeting_id": meeting, "resume": ada_id, "resumable": True})
    assert ack["data"]["resumed"] is False and ack["data"]["participant_id"] == again.sid
    assert (await bob.next("peer-joined"))["sid"] == again.sid


async def test_resume_of_another_users_participant_is_an_ordinary_join(cluster: Cluster) -> None:
    meeting = unique()
    ada, _ = await joined(cluster, cluster.r1, meeting, resumable=True)
    eve, ack = await joined(cluster, cluster.r2, meeting, resume=ada.sid)
    assert ack["resumed"] is False and ack["participant_id"] == eve.sid
    assert (await ada.next("peer-joined"))["sid"] == eve.sid
    assert ada.client.connected and cluster.r1.fanout.directory.get(ada.sid).socket == ada.sid  # type: ignore[union-attr]


async def test_resuming_a_participant_whose_old_socket_is_still_connected_closes_that_socket(
    cluster: Cluster, participants_tail: TopicTail
) -> None:
    meeting = unique()
    ada, _ = await joined(cluster, cluster.r1, meeting, resumable=True)
    bob, _ = await joined(cluster, cluster.r1, meeting)
    ada_id = ada.sid
    again, ack = await joined(cluster, cluster.r2, meeting, user_id=ada.user_id, resume=ada_id)  # type: ignore[attr-defined]
    assert ack["resumed"] is True and ack["participant_id"] == ada_id
    await bob.next("peer-resumed")
    for _ in range(200):
        if not ada.client.connected:
            break
        await asyncio.sleep(0.05)
    assert not ada.client.connected  # the server closed the replaced socket
    await asyncio.sleep(WINDOW_S + 0.5)
    assert bob.received("peer-left") == [] and lefts(participants_tail, ada_id) == []
    assert (await bob.call("offer", {"meeting_id": meeting, "to": ada_id, "sdp": "v=0"}))["ok"]
    assert (await again.next("offer"))["from"] == bob.sid


async def test_a_second_window_of_the_same_user_moves_the_participant_there(
    cluster: Cluster, participants_tail: TopicTail
) -> None:
    """One participant per user: a plain ``join`` (no ``resume``) by a user already in the room,
    from another socket on another replica, takes the participant over. The old socket gets
    ``participant-moved`` and stays connected; the others see it leave (``moved``) and join
    again under the same id, so they connect afresh to the new socket; the roster is unchanged."""
    meeting = unique()
    ada, _ = await joined(cluster, cluster.r1, meeting)
    bob, _ = await joined(cluster, cluster.r1, meeting)
    ada_id = ada.sid
    await participants_tail.find(lambda e: isinstance(e.data, ParticipantJoined) and e.data.sid == bob.sid)

    second, ack = await joined(cluster, cluster.r2, meeting, user_id=ada.user_id)  # type: ignore[attr-defined]
    assert ack["resumed"] is False and ack["participant_id"] == ada_id
    assert [p["sid"] for p in ack["peers"]] == [bob.sid]
    assert await ada.next("participant-moved") == {"meeting_id": meeting}
    left = await bob.next("peer-left", lambda d: d["sid"] == ada_id)
    assert left["reason"] == "moved"
    await bob.next("peer-joined", lambda d: d["sid"] == ada_id)
    assert [n for n, d in bob.events if n in ("peer-left", "peer-joined") and d["sid"] == ada_id] == ["peer-left", "peer-joined"]

    await asyncio.sleep(1.0)
    assert ada.client.connected  # out of the room, not disconnected
    assert cluster.r1.rooms.sockets[ada.sid].meeting_id is None
    directory_entry = cluster.r1.fanout.directory.get(ada_id)
    assert directory_entry is not None and directory_entry.socket == second.sid and directory_entry.replica_id == cluster.r2.name
    # relays reach the new window; the old one is not in the room any more
    assert (await bob.call("offer", {"meeting_id": meeting, "to": ada_id, "sdp": "v=0"}))["ok"]
    assert (await second.next("offer"))["from"] == bob.sid
    assert not (await ada.call("offer", {"meeting_id": meeting, "to": bob.sid, "sdp": "v=0"}))["ok"]
    # the old socket's disconnect is not a leave: the roster keeps the participant
    await ada.client.disconnect()
    await asyncio.sleep(1.0)
    assert lefts(participants_tail, ada_id) == []
    assert bob.received("peer-left") == [left]


async def test_two_windows_of_one_user_joining_at_the_same_moment_are_one_participant(
    cluster: Cluster, participants_tail: TopicTail
) -> None:
    """Two sockets of one user on two replicas join at once; neither sees the other's
    participant when it joins. The later join in the fan-out's order wins on both replicas:
    the other socket gets ``participant-moved`` (its ``join`` fails with ``participant_moved``
    when the move came before its answer), the room and the roster end with one participant of
    that user, and nobody is offered the user's own other socket as a peer. Five rounds: the
    race goes either way."""
    for _ in range(5):
        meeting = unique()
        bob, _ = await joined(cluster, cluster.r1, meeting)
        first = await cluster.peer(cluster.r1)
        second = await cluster.peer(cluster.r2, user_id=first.user_id)  # type: ignore[attr-defined]
        cluster.meetings.admit(meeting, first.user_id)  # type: ignore[attr-defined]
        acks = await asyncio.gather(first.call("join", {"meeting_id": meeting}), second.call("join", {"meeting_id": meeting}))

        def winners() -> list[str]:
            return [e.socket for e in cluster.r1.fanout.directory.peers(meeting) if e.user_id == first.user_id]  # type: ignore[attr-defined]

        await until(lambda: len(winners()) == 1 and winners() == [e.socket for e in cluster.r2.fanout.directory.peers(meeting) if e.user_id == first.user_id])  # type: ignore[attr-defined]
        (winner_sid,) = winners()
        winner, loser = (first, second) if winner_sid == first.sid else (second, first)
        winner_ack, loser_ack = acks if winner is first else acks[::-1]
        assert winner_ack["ok"], winner_ack
        assert [p["sid"] for p in winner_ack["data"]["peers"]] == [bob.sid]
        assert await loser.next("participant-moved") == {"meeting_id": meeting}
        assert loser_ack["ok"] or loser_ack["error"]["code"] == "participant_moved", loser_ack
        assert not (await loser.call("offer", {"meeting_id": meeting, "to": bob.sid, "sdp": "v=0"}))["ok"]
        # the room: a newcomer sees the user once; the roster ends with the winner only
        carol, carol_ack = await joined(cluster, cluster.r2, meeting)
        assert sorted(p["sid"] for p in carol_ack["peers"]) == sorted([bob.sid, winner_ack["data"]["participant_id"]])
        loser_id = loser_ack["data"]["participant_id"] if loser_ack["ok"] else None
        if loser_id is not None:
            await bob.next("peer-left", lambda d: d["sid"] == loser_id)
            await participants_tail.find(lambda e: isinstance(e.data, ParticipantLeft) and e.data.sid == loser_id)
        for peer in (bob, first, second, carol):
            await peer.close()


async def test_two_windows_joining_at_once_to_take_over_a_participant_leave_no_socket_behind(
    cluster: Cluster, participants_tail: TopicTail, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user in the room joins from two more sockets at the same moment: both take its
    participant over, in the topic's order. The race made deterministic: the first taker's
    replica is slow to go on after its join is read back, so the second join is read before
    it answers. The socket that had the participant gets ``participant-moved`` (it used to keep
    relaying as that participant, and its later ``leave`` emptied the roster), the first taker
    gets ``participant-moved`` and ``participant_moved``, the second has the participant; the
    roster keeps it throughout."""
    meeting = unique()
    ada, _ = await joined(cluster, cluster.r1, meeting)
    bob, _ = await joined(cluster, cluster.r2, meeting)
    ada_id = ada.sid
    one = await cluster.peer(cluster.r1, user_id=ada.user_id)  # type: ignore[attr-defined]
    two = await cluster.peer(cluster.r2, user_id=ada.user_id)  # type: ignore[attr-defined]
    announce = cluster.r1.fanout.announce_join

    async def slow_announce(entry, timeout_s):  # noqa: ANN001, ANN202 - the replica's own signature
        confirmation = await announce(entry, timeout_s)
        await until(lambda: cluster.r1.fanout.directory.get(ada_id).socket == two.sid)  # type: ignore[union-attr]
        return confirmation

    monkeypatch.setattr(cluster.r1.fanout, "announce_join", slow_announce)

    async def second_join() -> dict:
        await until(lambda: cluster.r2.fanout.directory.get(ada_id).socket == one.sid)  # type: ignore[union-attr]
        return await two.call("join", {"meeting_id": meeting})

    one_ack, two_ack = await asyncio.gather(one.call("join", {"meeting_id": meeting}), second_join())
    assert two_ack["ok"] and two_ack["data"]["participant_id"] == ada_id, two_ack
    assert one_ack == {"ok": False, "error": {"code": "participant_moved", "message": one_ack["error"]["message"]}}
    assert await ada.next("participant-moved") == {"meeting_id": meeting}
    assert await one.next("participant-moved") == {"meeting_id": meeting}
    for old in (ada, one):
        assert not (await old.call("offer", {"meeting_id": meeting, "to": bob.sid, "sdp": "v=0"}))["ok"]
    assert (await bob.call("offer", {"meeting_id": meeting, "to": ada_id, "sdp": "v=0 w"}))["ok"]
    assert (await two.next("offer", lambda d: d["sdp"] == "v=0 w"))["from"] == bob.sid
    assert not (await ada.call("leave", {"meeting_id": meeting}))["ok"]  # not in the room any more
    await asyncio.sleep(0.5)
    assert cluster.r2.fanout.directory.get(ada_id).socket == two.sid  # type: ignore[union-attr]
    assert lefts(participants_tail, ada_id) == []
    assert [d["sid"] for d in bob.received("peer-left")] in ([ada_id], [ada_id, ada_id])  # moved, never left


async def test_a_draining_replica_moves_its_participants_and_refuses_new_sockets(
    cluster: Cluster, stack: Stack, participants_tail: TopicTail
) -> None:
    meeting = unique()
    r3 = await start_replica(f"{cluster.r1.name}-drain", stack, cluster.issuer, cluster.meetings, **OVERRIDES)
    try:
        ada, _ = await joined(cluster, r3, meeting, resumable=True)
        bob, _ = await joined(cluster, cluster.r1, meeting)
        plain, _ = await joined(cluster, r3, meeting)  # not resumable: leaves when r3 stops
        ada_id, plain_id = ada.sid, plain.sid
        async with httpx.AsyncClient(base_url=r3.url, timeout=30) as http:
            drain = asyncio.create_task(http.get("/drain"))
            assert await ada.next("draining") == {"replica_id": r3.name}
            # a new socket is refused while draining, with a code the client can act on
            refused = Peer("refused")
            try:
                await refused.connect(r3.url, cluster.issuer.issue(ada.user_id))  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - python-socketio raises ConnectionError
                pass
            assert refused.connect_error["data"]["code"] == "draining"
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["draining"].startswith("error")
            # the client moves: a new socket on another replica resumes the participant
            moved, ack = await joined(cluster, cluster.r2, meeting, user_id=ada.user_id, resume=ada_id)  # type: ignore[attr-defined]
            assert ack["resumed"] is True
            report = (await drain).json()
        assert report["moved"] == 1 and report["remaining"] == 0
        await r3.stop()
        left = await bob.next("peer-left")
        assert left["sid"] == plain_id  # only the socket that could not resume left
        await asyncio.sleep(WINDOW_S + 1.0)
        assert [p["sid"] for p in bob.received("peer-left")] == [plain_id]
        assert lefts(participants_tail, ada_id) == []
        assert (await bob.call("offer", {"meeting_id": meeting, "to": ada_id, "sdp": "v=0"}))["ok"]
        assert (await moved.next("offer"))["from"] == bob.sid
    finally:
        if not r3.task.done():
            await r3.stop()


async def test_participants_of_a_stopped_replica_can_resume_within_the_window(
    cluster: Cluster, stack: Stack, participants_tail: TopicTail
) -> None:
    meeting = unique()
    r3 = await start_replica(f"{cluster.r1.name}-stop", stack, cluster.issuer, cluster.meetings, **OVERRIDES)
    try:
        ada, _ = await joined(cluster, r3, meeting, resumable=True)
        cid, _ = await joined(cluster, r3, meeting, resumable=True)
        bob, _ = await joined(cluster, cluster.r1, meeting)
        ada_id, cid_id = ada.sid, cid.sid
    finally:
        await r3.stop()  # no drain: a clean stop hands the participants to the cluster
    ack = await (await cluster.peer(cluster.r2, user_id=ada.user_id)).call(  # type: ignore[attr-defined]
        "join", {"meeting_id": meeting, "resume": ada_id}
    )
    assert ack["data"]["resumed"] is True
    # cid does not come back: the reporter expires it after the window
    left = await bob.next("peer-left", timeout=WINDOW_S + 10)
    assert left["sid"] == cid_id
    event = await participants_tail.find(lambda e: isinstance(e.data, ParticipantLeft) and e.data.sid == cid_id)
    assert event.data.reason == "replica_lost" and event.data.replica_id == r3.name
    assert [p["sid"] for p in bob.received("peer-left")] == [cid_id]
    assert lefts(participants_tail, ada_id) == []
