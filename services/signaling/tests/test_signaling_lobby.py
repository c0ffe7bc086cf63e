"""The lobby, co-hosts and removal across two signaling replicas sharing the real Kafka
(docs/signaling.md, "Lobby", "Co-hosts and removal"): meetings' events reach the host's and
co-hosts' sockets and the waiting one on whichever replica they are; a removed participant
leaves the room and cannot join again; hostile input changes nothing."""

from datetime import UTC, datetime

import pytest

from parley_events import LobbyAdmitted, LobbyDenied, LobbyWaiting, MeetingRoleChanged, MeetingUpdated, ParticipantRemoved
from signaling_testkit import Cluster, Peer, error_code, in_room, publish_event, unique, until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def _now() -> datetime:
    return datetime.now(UTC)


async def test_the_lobby_reaches_the_moderators_and_the_waiting_socket_on_any_replica(
    cluster: Cluster, meeting: str, kafka_producer
) -> None:
    host, pat = await in_room(cluster, meeting, "host-" + meeting, "r2")
    bob = await cluster.peer(cluster.r2, name="Bob")
    assert (await bob.call("lobby-wait", {"meeting_id": meeting}))["ok"]

    await publish_event(kafka_producer, LobbyWaiting(
        meeting_id=meeting, user_id=bob.user_id, display_name="Bob", requested_at=_now()))
    waiting = await host.next("lobby", lambda d: d["action"] == "waiting")
    assert (waiting["user_id"], waiting["display_name"], waiting["guest"]) == (bob.user_id, "Bob", False)

    await publish_event(kafka_producer, LobbyAdmitted(
        meeting_id=meeting, user_id=bob.user_id, display_name="Bob", decided_by=host.user_id, decided_at=_now()))
    decision = await bob.next("lobby-decision")
    assert (decision["meeting_id"], decision["decision"]) == (meeting, "admitted")
    admitted = await host.next("lobby", lambda d: d["action"] == "admitted")
    assert admitted["by"] == host.user_id
    assert pat.received("lobby") == []  # a participant hears nothing of the lobby

    # the host makes Pat a co-host: the room learns it, Pat hears the lobby and may mute
    await publish_event(kafka_producer, MeetingRoleChanged(
        meeting_id=meeting, user_id=pat.user_id, role="cohost", changed_by=host.user_id, changed_at=_now()))
    for peer in (host, pat):
        changed = await peer.next("role-changed")
        assert (changed["user_id"], changed["role"]) == (pat.user_id, "cohost")
    await publish_event(kafka_producer, LobbyWaiting(
        meeting_id=meeting, user_id="guest-zz", display_name="Zed", guest=True, requested_at=_now()))
    seen = await pat.next("lobby", lambda d: d["user_id"] == "guest-zz")
    assert seen["guest"] is True
    assert (await pat.call("mute", {"meeting_id": meeting, "sid": host.sid}))["ok"]

    await publish_event(kafka_producer, MeetingUpdated(
        meeting_id=meeting, allow_guests=True, admission="locked", updated_by=pat.user_id, updated_at=_now()))
    for peer in (host, pat):
        assert (await peer.next("meeting-updated"))["admission"] == "locked"
    assert bob.received("meeting-updated") == []  # not in the room


async def test_a_denied_socket_hears_its_decision_only_and_others_none(
    cluster: Cluster, meeting: str, kafka_producer
) -> None:
    (host,) = await in_room(cluster, meeting, "host-" + meeting)
    carol = await cluster.peer(cluster.r1, name="Carol")
    same_user_elsewhere = await cluster.peer(cluster.r2, carol.user_id, name="Carol")  # not waiting
    dave = await cluster.peer(cluster.r2, name="Dave")
    for peer in (carol, dave):
        assert (await peer.call("lobby-wait", {"meeting_id": meeting}))["ok"]
    await publish_event(kafka_producer, LobbyDenied(
        meeting_id=meeting, user_id=carol.user_id, display_name="Carol", decided_by=host.user_id, decided_at=_now()))
    assert (await carol.next("lobby-decision"))["decision"] == "denied"
    await host.next("lobby", lambda d: d["action"] == "denied")
    assert dave.received("lobby-decision") == [] and same_user_elsewhere.received("lobby-decision") == []


async def test_a_removed_participant_leaves_the_room_on_its_replica_and_cannot_join_again(
    cluster: Cluster, meeting: str, kafka_producer
) -> None:
    host, victim, other = await in_room(cluster, meeting, "host-" + meeting, "r2", "r1")
    cluster.meetings.removed.add((meeting, victim.user_id))
    await publish_event(kafka_producer, ParticipantRemoved(
        meeting_id=meeting, user_id=victim.user_id, display_name="Vic", removed_by=host.user_id,
        removed_by_name="Ada", removed_at=_now()))
    removed = await victim.next("removed")
    assert (removed["meeting_id"], removed["by_name"]) == (meeting, "Ada")
    for peer in (host, other):
        left = await peer.next("peer-left", lambda d: d["sid"] == victim.sid)
        assert left["reason"] == "removed"
    # out of the room: relays are refused, and joining again too (on either replica)
    assert error_code(await victim.call("media-state", {
        "meeting_id": meeting, "audio": True, "video": True, "screen": False})) == "not_in_room"
    assert error_code(await victim.call("join", {"meeting_id": meeting})) == "removed_from_meeting"
    again = await cluster.peer(cluster.r1, victim.user_id)
    assert error_code(await again.call("join", {"meeting_id": meeting})) == "removed_from_meeting"
    await until(lambda: len(host.received("peer-left")) == 1, what="one peer-left at the host")


async def test_hostile_lobby_input_gets_a_clear_error_and_changes_nothing(
    cluster: Cluster, meeting: str, kafka_producer
) -> None:
    host, pat = await in_room(cluster, meeting, "host-" + meeting, "r2")
    for bad in ({}, {"meeting_id": 5}, {"meeting_id": "a/b"}, {"meeting_id": "x" * 500}):
        assert error_code(await pat.call("lobby-wait", bad)) == "invalid_payload"
    # the server's events are no client events: a participant cannot admit, remove or promote
    for name in ("lobby", "lobby-decision", "removed", "role-changed", "meeting-updated", "admit", "remove"):
        assert error_code(await pat.call(name, {"meeting_id": meeting, "user_id": host.user_id})) == "invalid_payload"
    # a participant's mute is still refused: only a co-host's role (from meetings' event) allows it
    assert error_code(await pat.call("mute", {"meeting_id": meeting, "sid": host.sid})) == "forbidden"
    # a guest waits only for its own meeting
    guest_id = unique("guest-")
    guest = Peer(f"{guest_id}@r1")
    await guest.connect(cluster.r1.url, cluster.issuer.issue_guest(unique("other"), "Gus", guest_id=guest_id))
    cluster.peers.append(guest)
    await guest.next("session")
    assert error_code(await guest.call("lobby-wait", {"meeting_id": meeting})) == "forbidden"
    assert host.received("peer-left") == [] and pat.received("removed") == [] and host.received("lobby") == []
