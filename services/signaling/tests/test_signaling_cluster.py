"""Two signaling replicas on real uvicorn servers, sharing the sandbox's real Kafka.

Clients connect over WebSocket with tokens of a TokenIssuer; meetings' membership answers
come from a fake. Every test uses its own meeting ids, so the tests share one cluster.
"""

import asyncio
import logging
from datetime import UTC, datetime

import pytest
import socketio

from parley_events import (
    ChatMessagePosted,
    MeetingCancelled,
    MeetingEnded,
    MeetingExpired,
    MeetingJoined,
    ParticipantJoined,
    ParticipantLeft,
)
from parley_events.topics import MEETINGS
from parley_testing import TokenIssuer, TopicTail, sample_value, scraped_value

from signaling_testkit import ALLOWED_ORIGIN, Cluster, Peer, publish_event, start_replica, unique, until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SDP_OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
SDP_ANSWER = SDP_OFFER.replace("o=- 1 2", "o=- 3 4")
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host", "sdpMid": "0", "sdpMLineIndex": 0}


def error_code(ack: dict) -> str:
    assert ack["ok"] is False, ack
    return ack["error"]["code"]


async def joined(cluster: Cluster, meeting: str, *placements: str) -> list[Peer]:
    """Connect one peer per placement ("r1"/"r2"), admit them all, join them in order.

    Returns once every peer has seen ``peer-joined`` for each later one: a join's ack only
    says its own replica read the join back from Kafka, and the others' replicas may read it
    a moment later (a client only addresses a peer after ``peer-joined``, so it never sees
    that gap).
    """
    peers = [await cluster.peer(getattr(cluster, where)) for where in placements]
    cluster.meetings.admit(meeting, *(p.user_id for p in peers))
    for peer in peers:
        ack = await peer.call("join", {"meeting_id": meeting})
        assert ack["ok"], ack
    for i, earlier in enumerate(peers):
        for later in peers[i + 1 :]:
            await earlier.next("peer-joined", lambda d, sid=later.sid: d["sid"] == sid)
    return peers


# --- connecting --------------------------------------------------------------------------


async def refused(cluster: Cluster, token: str | None, headers: dict | None = None) -> Peer:
    peer = Peer("refused")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(cluster.r1.url, token, headers)
    return peer


async def test_connect_refused_without_a_valid_token(cluster: Cluster) -> None:
    other = TokenIssuer()
    same_kid_other_key = TokenIssuer()
    same_kid_other_key.kid = cluster.issuer.kid
    wrong_audience = TokenIssuer(audience="someone-else")
    wrong_audience.kid, wrong_audience._key = cluster.issuer.kid, cluster.issuer._key  # noqa: SLF001
    tokens = {
        "missing": None,
        "garbage": "not-a-jwt",
        "forged, unknown key": other.issue("u1"),
        "forged, known kid": same_kid_other_key.issue("u1"),
        "expired": cluster.issuer.issue("u1", ttl_s=-60),
        "wrong audience": wrong_audience.issue("u1"),
        "refresh token": cluster.issuer.issue("u1", typ="refresh"),
    }
    for case, token in tokens.items():
        peer = await refused(cluster, token)
        assert peer.connect_error is not None, case
        assert peer.connect_error["data"]["code"] == "unauthorized", (case, peer.connect_error)
        assert peer.connect_error["data"]["message"], case
        assert peer.events == [], case


async def test_origin_allow_list(cluster: Cluster) -> None:
    await refused(cluster, cluster.issuer.issue("u1"), headers={"Origin": "http://evil.example"})
    peer = Peer("browser")
    cluster.peers.append(peer)
    await peer.connect(cluster.r1.url, cluster.issuer.issue("u-origin"), headers={"Origin": ALLOWED_ORIGIN})
    assert (await peer.next("session"))["user_id"] == "u-origin"


async def test_session_event(cluster: Cluster) -> None:
    peer = await cluster.peer(cluster.r2, "u-session")
    session = peer.received("session")
    assert session == [{"protocol_version": 1, "sid": peer.sid, "replica_id": cluster.r2.name, "user_id": "u-session"}]


async def test_long_polling_transport(cluster: Cluster, meeting: str) -> None:
    a = (await joined(cluster, meeting, "r1"))[0]
    polling = Peer("polling")
    cluster.peers.append(polling)
    await polling.connect(cluster.r2.url, cluster.issuer.issue("u-poll", "Poll"), transports=("polling",))
    assert (await polling.next("session"))["replica_id"] == cluster.r2.name
    assert polling.client.transport() == "polling"
    cluster.meetings.admit(meeting, "u-poll")
    ack = await polling.call("join", {"meeting_id": meeting})
    assert [p["sid"] for p in ack["data"]["peers"]] == [a.sid]
    # a's replica learns of the newcomer over the fan-out: only then may a address it
    await a.next("peer-joined", lambda d: d["sid"] == polling.sid)
    assert (await a.call("offer", {"meeting_id": meeting, "to": polling.sid, "sdp": SDP_OFFER}))["ok"]
    assert (await polling.next("offer"))["from"] == a.sid


# --- joining and relaying across replicas -------------------------------------------------


async def test_join_and_relay_across_replicas(cluster: Cluster, meeting: str, participants_tail: TopicTail) -> None:
    a = await cluster.peer(cluster.r1, name="Ada")
    b = await cluster.peer(cluster.r2, name="Bob")
    cluster.meetings.admit(meeting, a.user_id, b.user_id)

    ack_a = await a.call("join", {"meeting_id": meeting})
    assert ack_a == {
        "ok": True,
        "data": {
            "meeting_id": meeting,
            "peers": [],
            "replica_id": cluster.r1.name,
            "participant_id": a.sid,
            "resumed": False,
            "hands": [],
            "recordings": [],
            "spotlight": None,
        },
    }
    ack_b = await b.call("join", {"meeting_id": meeting})
    assert ack_b == {
        "ok": True,
        "data": {
            "meeting_id": meeting,
            "peers": [{"sid": a.sid, "user_id": a.user_id, "display_name": "Ada"}],
            "replica_id": cluster.r2.name,
            "participant_id": b.sid,
            "resumed": False,
            "hands": [],
            "recordings": [],
            "spotlight": None,
        },
    }
    assert await a.next("peer-joined") == {
        "meeting_id": meeting,
        "sid": b.sid,
        "user_id": b.user_id,
        "display_name": "Bob",
    }

    # A (already in the room) offers to the newcomer B; B answers; candidates trickle both ways.
    assert await a.call("offer", {"meeting_id": meeting, "to": b.sid, "sdp": SDP_OFFER}) == {"ok": True, "data": {}}
    assert await b.next("offer") == {"meeting_id": meeting, "from": a.sid, "sdp": SDP_OFFER}
    assert (await b.call("answer", {"meeting_id": meeting, "to": a.sid, "sdp": SDP_ANSWER}))["ok"]
    assert await a.next("answer") == {"meeting_id": meeting, "from": b.sid, "sdp": SDP_ANSWER}
    assert (await a.call("ice-candidate", {"meeting_id": meeting, "to": b.sid, "candidate": CANDIDATE}))["ok"]
    assert (await a.call("ice-candidate", {"meeting_id": meeting, "to": b.sid, "candidate": None}))["ok"]
    assert (await b.call("ice-candidate", {"meeting_id": meeting, "to": a.sid, "candidate": CANDIDATE}))["ok"]
    await b.next("ice-candidate", lambda d: d["candidate"] is None)
    relayed = b.received("ice-candidate")
    assert relayed == [
        {"meeting_id": meeting, "from": a.sid, "candidate": {**CANDIDATE, "usernameFragment": None}},
        {"meeting_id": meeting, "from": a.sid, "candidate": None},
    ]
    assert (await a.next("ice-candidate"))["from"] == b.sid

    # the newcomer is told about nobody twice, and nothing went back to a sender
    assert b.received("peer-joined") == []
    assert a.received("offer") == [] and b.received("answer") == []

    for peer in (a, b):
        event = await participants_tail.find(lambda e, p=peer: isinstance(e.data, ParticipantJoined) and e.data.sid == p.sid)
        assert event.data.meeting_id == meeting
        assert event.data.user_id == peer.user_id
        assert event.source == "/parley/signaling"
    assert (await participants_tail.find(lambda e: e.data.sid == b.sid)).data.replica_id == cluster.r2.name


async def link_relays(url: str, result: str) -> float:
    """``parley_signaling_link_relays_total{result}`` of the replica at ``url``, from /metrics."""
    return await scraped_value(url, "parley_signaling_link_relays_total", result=result)


async def test_relays_between_replicas_take_the_replica_link_in_the_senders_order(cluster: Cluster, meeting: str) -> None:
    a, b = await joined(cluster, meeting, "r1", "r2")
    sent, received = await link_relays(cluster.r1.url, "sent"), await link_relays(cluster.r2.url, "received")
    candidates = [{**CANDIDATE, "candidate": f"candidate:{n} 1 udp 2122260223 10.0.0.1 {40000 + n} typ host"} for n in range(30)]
    # a raised hand (a room message through Kafka) between the relays: b sees all in a's order
    calls = [a.call("ice-candidate", {"meeting_id": meeting, "to": b.sid, "candidate": c}) for c in candidates[:15]]
    calls.append(a.call("raise-hand", {"meeting_id": meeting}))
    calls += [a.call("ice-candidate", {"meeting_id": meeting, "to": b.sid, "candidate": c}) for c in candidates[15:]]
    assert all(ack["ok"] for ack in await asyncio.gather(*calls))
    await until(lambda: len(b.received("ice-candidate")) == 30, what="every candidate relayed")
    seen = [data["candidate"]["candidate"] if name == "ice-candidate" else name
            for name, data in b.events if name in ("ice-candidate", "hands")]
    assert seen == [c["candidate"] for c in candidates[:15]] + ["hands"] + [c["candidate"] for c in candidates[15:]]
    # over the link: every candidate before the hand but the first between two replicas, which
    # dials it; those after the hand too, unless Kafka took over 50 ms to acknowledge the hand
    assert await link_relays(cluster.r1.url, "sent") - sent >= 14
    assert await link_relays(cluster.r2.url, "received") - received >= 14


async def test_relays_a_broken_link_lost_arrive_through_kafka_once_and_in_order(cluster: Cluster, meeting: str) -> None:
    """r2 drops its end of the link while it reads r1's 5th relay (that relay and any behind it
    in the socket are never handled): every relay still reaches b once, in a's order."""
    a, b = await joined(cluster, meeting, "r1", "r2")
    assert (await a.call("ice-candidate", {"meeting_id": meeting, "to": b.sid, "candidate": CANDIDATE}))["ok"]
    link = cluster.r1.fanout._links._links[cluster.r2.fanout.replica_id]  # noqa: SLF001
    await until(lambda: link.writer is not None, what="the link open")
    server = cluster.r2.fanout._link_server  # noqa: SLF001
    handle, read = server._on_frame, []  # noqa: SLF001

    async def breaking(replica_id: str, host_id: str, frame: dict) -> None:
        read.append(frame["seq"])
        if len(read) == 5:
            raise ConnectionResetError("the link broke")
        await handle(replica_id, host_id, frame)

    server._on_frame = breaking  # noqa: SLF001
    resent = await link_relays(cluster.r1.url, "resent")
    candidates = [{**CANDIDATE, "candidate": f"candidate:{n} 1 udp 2122260223 10.0.0.1 {40000 + n} typ host"} for n in range(30)]
    acks = await asyncio.gather(*(a.call("ice-candidate", {"meeting_id": meeting, "to": b.sid, "candidate": c}) for c in candidates))
    assert all(ack["ok"] for ack in acks)
    await until(lambda: len(b.received("ice-candidate")) >= 31, what="every candidate relayed")
    await asyncio.sleep(0.3)  # a duplicate, if any, would arrive by now
    seen = [data["candidate"]["candidate"] for data in b.received("ice-candidate")[1:]]
    assert seen == [c["candidate"] for c in candidates]
    assert len(read) >= 5 and await link_relays(cluster.r1.url, "resent") - resent >= 1


async def test_several_peers_learn_each_other_exactly_once(cluster: Cluster, meeting: str) -> None:
    peers = await joined(cluster, meeting, "r1", "r2", "r1", "r2")
    for index, peer in enumerate(peers):
        later = {p.sid for p in peers[index + 1 :]}
        await until(lambda p=peer, s=later: {d["sid"] for d in p.received("peer-joined")} == s, what="peer-joined")
    await asyncio.sleep(0.1)
    for index, peer in enumerate(peers):
        assert sorted(d["sid"] for d in peer.received("peer-joined")) == sorted(p.sid for p in peers[index + 1 :])


async def test_relay_checks_rooms(cluster: Cluster) -> None:
    m1, m2 = unique("m"), unique("m")
    a, b = await joined(cluster, m1, "r1", "r2")
    c, d = await joined(cluster, m2, "r2", "r1")
    outsider = await cluster.peer(cluster.r1)

    ack = await a.call("offer", {"meeting_id": m1, "to": c.sid, "sdp": SDP_OFFER})
    assert error_code(ack) == "peer_not_in_room"
    ack = await a.call("offer", {"meeting_id": m2, "to": c.sid, "sdp": SDP_OFFER})
    assert error_code(ack) == "not_in_room"
    ack = await a.call("offer", {"meeting_id": m1, "to": a.sid, "sdp": SDP_OFFER})
    assert error_code(ack) == "peer_not_in_room"
    ack = await a.call("ice-candidate", {"meeting_id": m1, "to": "nosuchsid", "candidate": None})
    assert error_code(ack) == "peer_not_in_room"
    ack = await outsider.call("offer", {"meeting_id": m1, "to": a.sid, "sdp": SDP_OFFER})
    assert error_code(ack) == "not_in_room"

    # a later, valid relay to C arrives, and it is the only thing C received
    assert (await d.call("offer", {"meeting_id": m2, "to": c.sid, "sdp": SDP_OFFER}))["ok"]
    await c.next("offer")
    assert c.received("offer") == [{"meeting_id": m2, "from": d.sid, "sdp": SDP_OFFER}]
    assert a.received("offer") == [] and b.received("offer") == []


async def test_malformed_payloads_reach_nobody(cluster: Cluster, meeting: str) -> None:
    a, b = await joined(cluster, meeting, "r1", "r2")
    bad = [
        ("offer", {"meeting_id": meeting, "to": b.sid}),
        ("offer", {"meeting_id": meeting, "to": b.sid, "sdp": 42}),
        ("offer", {"meeting_id": meeting, "to": b.sid, "sdp": "v" * (64 * 1024 + 1)}),
        ("answer", {"meeting_id": meeting, "to": ["x"], "sdp": SDP_ANSWER}),
        ("ice-candidate", {"meeting_id": meeting, "to": b.sid, "candidate": {"candidate": "candidate:1"}}),
        ("ice-candidate", {"meeting_id": meeting, "to": b.sid}),
        ("ice-candidate", {"meeting_id": meeting, "to": b.sid, "candidate": "candidate:1"}),
        ("join", {"meeting_id": "../../etc"}),
        ("join", {}),
        ("leave", {"meeting_id": None}),
        ("offer", "a string"),
        ("offer", [1, 2]),
        ("offer", None),
    ]
    for event, payload in bad:
        ack = await a.call(event, payload)
        assert error_code(ack) == "invalid_payload", (event, payload, ack)
        assert ack["error"]["message"]
    assert error_code(await a.call("offer", {"meeting_id": meeting}, {"to": b.sid})) == "invalid_payload"
    assert error_code(await a.call("no-such-event", {"meeting_id": meeting})) == "invalid_payload"

    assert (await a.call("offer", {"meeting_id": meeting, "to": b.sid, "sdp": SDP_OFFER}))["ok"]
    await b.next("offer")
    assert [name for name, _ in b.events if name not in ("session",)] == ["offer"]
    # still connected and in the room
    assert (await a.call("join", {"meeting_id": meeting}))["data"]["peers"][0]["sid"] == b.sid


async def test_join_refusals(cluster: Cluster) -> None:
    peer = await cluster.peer(cluster.r1)
    other = await cluster.peer(cluster.r2)
    not_mine, ended, down = unique("m"), unique("m"), unique("m")
    cluster.meetings.admit(not_mine, other.user_id)
    cluster.meetings.admit(ended, peer.user_id, status="ended")
    cluster.meetings.admit(down, peer.user_id)
    cluster.meetings.unavailable.add(down)

    assert error_code(await peer.call("join", {"meeting_id": not_mine})) == "forbidden"
    assert error_code(await peer.call("join", {"meeting_id": unique("nope")})) == "meeting_not_found"
    assert error_code(await peer.call("join", {"meeting_id": ended})) == "meeting_ended"
    assert error_code(await peer.call("join", {"meeting_id": down})) == "unavailable"
    assert error_code(await peer.call("leave", {"meeting_id": not_mine})) == "not_in_room"

    # the refused joins left no trace: the member joining next sees no peers
    ack = await other.call("join", {"meeting_id": not_mine})
    assert ack["ok"] and ack["data"]["peers"] == []


async def test_join_with_a_token_that_expired_since_connecting(cluster: Cluster, meeting: str) -> None:
    peer = Peer("short-lived")
    cluster.peers.append(peer)
    # exp is whole seconds from a truncated iat: 2 s leave at least 1 s to connect
    await peer.connect(cluster.r1.url, cluster.issuer.issue("u-short", ttl_s=2))
    cluster.meetings.admit(meeting, "u-short")
    await asyncio.sleep(2.1)
    assert error_code(await peer.call("join", {"meeting_id": meeting})) == "unauthorized"


async def test_rate_limit(cluster: Cluster) -> None:
    peer = await cluster.peer(cluster.r2)
    # 60 events at once (the cluster's burst is 40 at 20/s); handled in order of arrival
    acks = await asyncio.gather(*(peer.call("leave", {"meeting_id": "m1"}) for _ in range(60)))
    codes = [ack["error"]["code"] for ack in acks]
    assert codes[:30] == ["not_in_room"] * 30
    assert "rate_limited" in codes[40:]


async def test_joining_another_meeting_leaves_the_first(cluster: Cluster) -> None:
    m1, m2 = unique("m"), unique("m")
    a, b = await joined(cluster, m1, "r1", "r2")
    cluster.meetings.admit(m2, b.user_id)
    assert (await b.call("join", {"meeting_id": m2}))["ok"]
    left = await a.next("peer-left")
    assert left == {"meeting_id": m1, "sid": b.sid, "user_id": b.user_id, "reason": "left"}
    assert error_code(await a.call("offer", {"meeting_id": m1, "to": b.sid, "sdp": SDP_OFFER})) == "peer_not_in_room"


# --- display names and media state (protocol version 1 additions) ----------------------


async def test_join_display_name_is_shown_across_replicas(
    cluster: Cluster, meeting: str, participants_tail: TopicTail
) -> None:
    a = await cluster.peer(cluster.r1, name="Token Name A")
    b = await cluster.peer(cluster.r2, name="Token Name B")
    c = await cluster.peer(cluster.r1, name="Carol")
    cluster.meetings.admit(meeting, a.user_id, b.user_id, c.user_id)

    assert (await a.call("join", {"meeting_id": meeting, "display_name": "  Ada L.  "}))["ok"]
    ack_b = await b.call("join", {"meeting_id": meeting, "display_name": "Bobby"})
    assert ack_b["data"]["peers"] == [{"sid": a.sid, "user_id": a.user_id, "display_name": "Ada L."}]
    assert await a.next("peer-joined") == {
        "meeting_id": meeting, "sid": b.sid, "user_id": b.user_id, "display_name": "Bobby",
    }
    ack_c = await c.call("join", {"meeting_id": meeting})  # no display_name: the token's name
    assert {p["sid"]: p["display_name"] for p in ack_c["data"]["peers"]} == {a.sid: "Ada L.", b.sid: "Bobby"}
    assert (await b.next("peer-joined"))["display_name"] == "Carol"
    # both replicas' directories hold the chosen names
    for replica in (cluster.r1, cluster.r2):
        await until(lambda r=replica: r.fanout.directory.get(c.sid) is not None, what="c in the directory")
        assert replica.fanout.directory.get(b.sid).display_name == "Bobby"
        assert replica.fanout.directory.get(a.sid).display_name == "Ada L."
    joined_b = await participants_tail.find(lambda e: isinstance(e.data, ParticipantJoined) and e.data.sid == b.sid)
    assert joined_b.data.display_name == "Bobby"
    joined_c = await participants_tail.find(lambda e: isinstance(e.data, ParticipantJoined) and e.data.sid == c.sid)
    assert joined_c.data.display_name == "Carol"


async def test_a_blank_or_bad_display_name_is_refused_and_joins_nothing(cluster: Cluster, meeting: str) -> None:
    a, b = await joined(cluster, meeting, "r1", "r2")
    newcomer = await cluster.peer(cluster.r2)
    cluster.meetings.admit(meeting, newcomer.user_id)
    for display_name in ("", "   ", "x" * 81, 42):
        ack = await newcomer.call("join", {"meeting_id": meeting, "display_name": display_name})
        assert error_code(ack) == "invalid_payload", (display_name, ack)
    assert error_code(await newcomer.call("media-state", {"meeting_id": meeting, "audio": True, "video": True, "screen": False})) == "not_in_room"
    await a.next("peer-joined")
    await asyncio.sleep(0.3)
    assert [d["sid"] for d in a.received("peer-joined")] == [b.sid]
    assert b.received("peer-joined") == []
    for replica in (cluster.r1, cluster.r2):
        assert replica.fanout.directory.get(newcomer.sid) is None


MEDIA = {"audio": True, "video": False, "screen": True}


async def test_media_state_reaches_the_rest_of_the_room_on_every_replica(cluster: Cluster, meeting: str) -> None:
    a, b, c = await joined(cluster, meeting, "r1", "r2", "r1")
    other_room = unique("m")
    outsider_r1, outsider_r2 = await joined(cluster, other_room, "r1", "r2")

    ack = await a.call("media-state", {"meeting_id": meeting, **MEDIA, "extra": "never forwarded"})
    assert ack == {"ok": True, "data": {}}
    expected = {"meeting_id": meeting, "sid": a.sid, **MEDIA}
    assert await b.next("peer-media-state") == expected  # the other replica
    assert await c.next("peer-media-state") == expected  # the same replica

    # a later change arrives after the first, from another sender too
    assert (await a.call("media-state", {"meeting_id": meeting, "audio": False, "video": False, "screen": False}))["ok"]
    assert (await b.call("media-state", {"meeting_id": meeting, "audio": True, "video": True, "screen": False}))["ok"]
    await until(lambda: len(b.received("peer-media-state")) == 2, what="b gets both of a's states")
    await a.next("peer-media-state", lambda d: d["sid"] == b.sid)
    await c.next("peer-media-state", lambda d: d["sid"] == b.sid)
    await asyncio.sleep(0.2)
    assert [(d["sid"], d["audio"]) for d in b.received("peer-media-state")] == [(a.sid, True), (a.sid, False)]
    assert a.received("peer-media-state") == [{"meeting_id": meeting, "sid": b.sid, "audio": True, "video": True, "screen": False}]
    assert len(c.received("peer-media-state")) == 3
    assert outsider_r1.received("peer-media-state") == [] and outsider_r2.received("peer-media-state") == []

    # the sender must be in that room
    assert error_code(await outsider_r2.call("media-state", {"meeting_id": meeting, **MEDIA})) == "not_in_room"
    assert error_code(await a.call("media-state", {"meeting_id": other_room, **MEDIA})) == "not_in_room"
    await asyncio.sleep(0.2)
    assert len(b.received("peer-media-state")) == 2 and len(c.received("peer-media-state")) == 3
    assert outsider_r1.received("peer-media-state") == []


async def test_bad_media_state_payloads_reach_nobody(cluster: Cluster, meeting: str) -> None:
    a, b, c = await joined(cluster, meeting, "r1", "r2", "r1")
    bad = [
        {"meeting_id": meeting, "audio": True, "video": False},
        {"meeting_id": meeting, "audio": "true", "video": False, "screen": False},
        {"meeting_id": meeting, "audio": 1, "video": 0, "screen": 0},
        {"meeting_id": meeting, "audio": None, "video": False, "screen": False},
        {"meeting_id": "../../etc", **MEDIA},
        {**MEDIA},
        "muted",
        [meeting, True, False, False],
        None,
    ]
    for payload in bad:
        ack = await a.call("media-state", payload)
        assert error_code(ack) == "invalid_payload", (payload, ack)
        assert ack["error"]["message"]
    assert (await a.call("media-state", {"meeting_id": meeting, **MEDIA}))["ok"]  # a marker
    for peer in (b, c):
        await peer.next("peer-media-state")
        await asyncio.sleep(0.1)
        assert peer.received("peer-media-state") == [{"meeting_id": meeting, "sid": a.sid, **MEDIA}]
    assert a.received("peer-media-state") == []


async def test_media_state_is_rate_limited(cluster: Cluster, meeting: str) -> None:
    a, b = await joined(cluster, meeting, "r1", "r2")
    # 60 events at once (the cluster's burst is 40 at 20/s); handled in order of arrival
    acks = await asyncio.gather(*(a.call("media-state", {"meeting_id": meeting, **MEDIA}) for _ in range(60)))
    codes = ["ok" if ack["ok"] else ack["error"]["code"] for ack in acks]
    assert codes[:30] == ["ok"] * 30
    assert "rate_limited" in codes[40:]
    ok = codes.count("ok")
    await until(lambda: len(b.received("peer-media-state")) == ok, what="every accepted state relayed")
    await asyncio.sleep(0.2)
    assert len(b.received("peer-media-state")) == ok


# --- leaving ------------------------------------------------------------------------------


async def test_leave_and_disconnect(cluster: Cluster, meeting: str, participants_tail: TopicTail) -> None:
    a, b = await joined(cluster, meeting, "r1", "r2")
    b_sid = b.sid
    assert await b.call("leave", {"meeting_id": meeting}) == {"ok": True, "data": {}}
    assert await a.next("peer-left") == {"meeting_id": meeting, "sid": b_sid, "user_id": b.user_id, "reason": "left"}
    assert error_code(await b.call("leave", {"meeting_id": meeting})) == "not_in_room"
    left = await participants_tail.find(lambda e: isinstance(e.data, ParticipantLeft) and e.data.sid == b_sid)
    assert left.data.reason == "left" and left.data.meeting_id == meeting

    assert (await b.call("join", {"meeting_id": meeting}))["data"]["peers"][0]["sid"] == a.sid
    await b.close()
    gone = await a.next("peer-left", lambda d: d["reason"] == "disconnected")
    assert gone["sid"] == b_sid
    left = await participants_tail.find(
        lambda e: isinstance(e.data, ParticipantLeft) and e.data.sid == b_sid and e.data.reason == "disconnected"
    )
    assert left.data.replica_id == cluster.r2.name
    ack = await a.call("offer", {"meeting_id": meeting, "to": b_sid, "sdp": SDP_OFFER})
    assert error_code(ack) == "peer_not_in_room"


async def test_participant_events_do_not_wait_behind_presence_records(
    cluster: Cluster, meeting: str, participants_tail: TopicTail
) -> None:
    """Presence records have a queue and publisher of their own: with r1's presence publisher
    stopped (as if behind thousands of sockets' records, closing at once), r1's participant.joined
    and participant.left are still published; the held presence records follow when it runs."""
    records = cluster.r1.app.other_asgi_app.state.presence_records
    await records.stop()
    try:
        (a,) = await joined(cluster, meeting, "r1")
        a_sid = a.sid
        await participants_tail.find(lambda e: isinstance(e.data, ParticipantJoined) and e.data.sid == a_sid)
        await a.close()
        await participants_tail.find(lambda e: isinstance(e.data, ParticipantLeft) and e.data.sid == a_sid)
    finally:
        records.start()


# --- events from Kafka --------------------------------------------------------------------


async def test_records_for_others_are_skipped_and_records_that_are_no_event_counted_malformed(
    cluster: Cluster, meeting: str, kafka_producer, caplog: pytest.LogCaptureFixture
) -> None:
    """Of ``parley.meetings`` signaling takes the end, lobby, removal, role and update events: a
    ``meeting.joined`` (one per join) is skipped by the type it names, counted ``other``
    ``ignored``; a record that is not JSON, or names no event type, is ``malformed`` and logged;
    the meeting's end after them (same key, same partition) still reaches the room. The
    counters are of the whole topic, which other tests write too: they are compared with at
    least, and the log names this test's own record."""
    caplog.set_level(logging.WARNING, logger="parley_signaling.messaging")
    (a,) = await joined(cluster, meeting, "r1")

    async def count(kind: str, result: str) -> float:
        return await scraped_value(cluster.r1.url, "parley_signaling_consumed_events_total", type=kind, result=result)

    ignored, malformed = await count("other", "ignored"), await count("meeting", "malformed")
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    joined_by_x = MeetingJoined(meeting_id=meeting, user_id="u-x", display_name="X", role="participant", joined_at=at)
    await publish_event(kafka_producer, joined_by_x)
    unknown = f"parley.no.such.{meeting}.v1"
    for value in (b"not json", b'{"specversion": "1.0", "id": "1", "source": "/x", "type": "%s"}' % unknown.encode()):
        await kafka_producer.send_and_wait(MEETINGS.name, value, key=meeting.encode())
    await publish_event(kafka_producer, MeetingEnded(meeting_id=meeting, ended_by="u-host", ended_at=at))
    assert (await a.next("meeting-ended"))["reason"] == "ended"
    assert await count("other", "ignored") >= ignored + 1
    assert await count("meeting", "malformed") >= malformed + 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "parley_signaling.messaging"]
    assert any(unknown in w for w in warnings), warnings
    assert not any("meeting.joined" in w for w in warnings), warnings  # skipped quietly, not malformed


@pytest.mark.parametrize("reason", ["ended", "cancelled", "expired"])
async def test_meeting_ended_or_cancelled_reaches_every_replica(
    cluster: Cluster, meeting: str, kafka_producer, participants_tail: TopicTail, reason: str
) -> None:
    a, b = await joined(cluster, meeting, "r1", "r2")
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    if reason == "ended":
        event = MeetingEnded(meeting_id=meeting, ended_by="u-host", ended_at=at)
    elif reason == "expired":
        event = MeetingExpired(meeting_id=meeting, empty_since=at, empty_timeout_seconds=300, expired_at=at)
    else:
        event = MeetingCancelled(meeting_id=meeting, cancelled_by="u-host", cancelled_at=at, sequence=1)
    await publish_event(kafka_producer, event)
    for peer in (a, b):
        assert await peer.next("meeting-ended") == {
            "meeting_id": meeting,
            "ended_by": None if reason == "expired" else "u-host",
            "ended_at": "2026-01-02T03:04:05Z",
            "reason": reason,
        }
    # both are out of the room
    assert error_code(await a.call("offer", {"meeting_id": meeting, "to": b.sid, "sdp": SDP_OFFER})) == "not_in_room"
    await until(lambda: cluster.r2.rooms.sockets[b.sid].meeting_id is None, what="b out of the room")
    assert error_code(await b.call("offer", {"meeting_id": meeting, "to": a.sid, "sdp": SDP_OFFER})) == "not_in_room"
    for peer in (a, b):
        event = await participants_tail.find(
            lambda e, p=peer: isinstance(e.data, ParticipantLeft) and e.data.sid == p.sid
        )
        assert event.data.reason == "ended"
    assert len(a.received("meeting-ended")) == 1 and len(b.received("meeting-ended")) == 1
    assert a.received("peer-left") == [] and b.received("peer-left") == []
    for peer in (a, b):  # and neither gets back in, however soon after ``meeting-ended``
        assert error_code(await peer.call("join", {"meeting_id": meeting})) == "meeting_ended"


async def test_chat_message_reaches_each_socket_once(cluster: Cluster, meeting: str, kafka_producer) -> None:
    peers = await joined(cluster, meeting, "r1", "r2", "r1")
    outsider = (await joined(cluster, unique("m"), "r2"))[0]
    now = datetime.now(UTC)
    first = ChatMessagePosted(
        meeting_id=meeting, message_id="msg-1", sender_id="u-x", sender_name="X", text="hello", posted_at=now
    )
    event = await publish_event(kafka_producer, first)
    await publish_event(kafka_producer, event)  # the same event again (an outbox relay's retry)
    marker = first.model_copy(update={"message_id": "msg-2", "text": "marker"})
    await publish_event(kafka_producer, marker)
    for peer in peers:
        await peer.next("chat-message", lambda d: d["message_id"] == "msg-2")
    await asyncio.sleep(0.2)
    for peer in peers:
        assert [m["message_id"] for m in peer.received("chat-message")] == ["msg-1", "msg-2"]
        assert peer.received("chat-message")[0] == first.model_dump(mode="json")
    assert outsider.received("chat-message") == []


# --- replicas coming and going ------------------------------------------------------------


async def test_late_replica_learns_rooms_and_its_clean_stop_is_seen(cluster: Cluster, meeting: str) -> None:
    a, b = await joined(cluster, meeting, "r1", "r2")
    r3 = await start_replica(f"{cluster.r1.name[:-2]}-3", cluster.stack, cluster.issuer, cluster.meetings)
    try:
        # it found the live replicas in the topic's recent past, and took their snapshots
        assert {cluster.r1.name, cluster.r2.name} <= r3.fanout.started_with
        assert {e.sid for e in r3.fanout.directory.peers(meeting)} == {a.sid, b.sid}
        c = Peer("late")
        await c.connect(r3.url, cluster.issuer.issue("u-late", "Late"))
        cluster.meetings.admit(meeting, "u-late")
        ack = await c.call("join", {"meeting_id": meeting})
        assert ack["ok"], ack
        assert {p["sid"] for p in ack["data"]["peers"]} == {a.sid, b.sid}
        c_sid = c.sid
        await a.next("peer-joined", lambda d: d["sid"] == c_sid)
        await b.next("peer-joined", lambda d: d["sid"] == c_sid)
        assert (await a.call("offer", {"meeting_id": meeting, "to": c_sid, "sdp": SDP_OFFER}))["ok"]
        assert (await c.next("offer"))["from"] == a.sid
    finally:
        await r3.stop()
    for peer in (a, b):
        left = await peer.next("peer-left", lambda d: d["sid"] == c_sid)
        assert left["reason"] == "disconnected"
    await until(lambda: cluster.r1.fanout.directory.get(c_sid) is None, what="r1 forgets r3's socket")
    assert r3.name not in cluster.r2.fanout.directory.replicas()


# --- HTTP ---------------------------------------------------------------------------------


async def test_health_readiness_and_metrics(cluster: Cluster) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=cluster.r1.url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"kafka": "ok", "jwks": "ok", "draining": "ok"}
        text = (await http.get("/metrics")).text
    for name in (
        "parley_signaling_connected_sockets",
        "parley_signaling_connections_total",
        "parley_signaling_events_total",
        "parley_signaling_event_duration_seconds",
        "parley_signaling_directory_entries",
        "parley_signaling_fanout_messages_total",
        "parley_signaling_rejected_inputs_total",
        "parley_tokens_refused_total",
        "parley_jwks_fetches_total",
        "parley_http_requests_total",
    ):
        assert name in text, name
    assert 'parley_signaling_events_total{event="media-state",result="ok"}' in text
    assert 'parley_signaling_connections_total{result="unauthorized"}' in text
    # every record the listener took (heartbeats at least) has its delay since the send observed
    delays = sample_value(text, "parley_signaling_fanout_delay_seconds_count")
    assert delays > 0
    assert 0 <= sample_value(text, "parley_signaling_fanout_delay_seconds_sum") < delays
