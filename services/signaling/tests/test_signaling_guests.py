"""A guest's socket on two real replicas over Kafka: it joins its own meeting's room and no
other (even one whose membership meetings would grant), and gets no per-user room."""

import pytest

from signaling_testkit import Peer, unique
from parley_signaling.users import USER_ROOM_PREFIX

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


async def _guest(cluster, meeting_id: str) -> Peer:
    guest_id = unique("guest-")
    peer = Peer(f"{guest_id}@r1")
    await peer.connect(cluster.r1.url, cluster.issuer.issue_guest(meeting_id, "Grace", guest_id=guest_id))
    peer.user_id = guest_id  # type: ignore[attr-defined]
    cluster.peers.append(peer)
    await peer.next("session")
    return peer


async def test_a_guest_joins_its_meeting_only_and_has_no_user_room(cluster, meeting) -> None:
    other = unique("m")
    guest = await _guest(cluster, meeting)
    host = await cluster.peer(cluster.r2)
    cluster.meetings.admit(meeting, guest.user_id, host.user_id)
    cluster.meetings.admit(other, guest.user_id)  # meetings would never answer so; signaling refuses first

    refused = await guest.call("join", {"meeting_id": other})
    assert not refused["ok"] and refused["error"]["code"] == "forbidden", refused
    assert "guest" in refused["error"]["message"]

    assert (await host.call("join", {"meeting_id": meeting}))["ok"]
    joined = await guest.call("join", {"meeting_id": meeting})
    assert joined["ok"], joined
    seen = await host.next("peer-joined", lambda d: d["user_id"] == guest.user_id)
    assert seen["display_name"] == "Grace"

    rooms = cluster.r1.rooms._sio.rooms(guest.sid)
    assert meeting in rooms
    assert not [room for room in rooms if room.startswith(USER_ROOM_PREFIX)], rooms
