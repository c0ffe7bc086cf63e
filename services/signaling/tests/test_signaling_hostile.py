"""Hostile and careless clients (issue 6): raw Engine.IO / socket.io frames against two real
replicas sharing real Kafka, where the official clients cannot produce the input.
"""

import asyncio
import json
import logging

import httpx
import pytest
import socketio

from parley_testing import TokenIssuer, scraped_value

from signaling_testkit import Cluster, Peer, RawPolling, RawSocket, unique, until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SDP_OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
#: 2 * 64 KiB + 16 KiB, the default largest Engine.IO message (docs/signaling.md "Limits").
MAX_MESSAGE_BYTES = 147456
#: Names socket.io or its clients reserve, and python-socketio's catch-all.
RESERVED = ("connect", "disconnect", "connect_error", "disconnecting", "newListener", "removeListener", "message", "*")


def error_code(ack: object) -> str:
    assert isinstance(ack, dict) and ack["ok"] is False, ack
    return ack["error"]["code"]


async def raw_peer(cluster: Cluster, replica: str = "r1", name: str = "Raw") -> tuple[RawSocket, str, str]:
    user_id = unique("u")
    token = cluster.issuer.issue(user_id, name)
    raw = await RawSocket.open(getattr(cluster, replica).url, token)
    return raw, user_id, token


# --- item 1: reserved event names ---------------------------------------------------------


async def test_reserved_event_names_are_refused_and_change_nothing(cluster: Cluster, meeting: str) -> None:
    raw, user_id, token = await raw_peer(cluster)
    b = await cluster.peer(cluster.r2)
    cluster.meetings.admit(meeting, user_id, b.user_id)
    assert (await raw.call("join", {"meeting_id": meeting}))["ok"]
    assert (await b.call("join", {"meeting_id": meeting}))["ok"]
    await until(lambda: cluster.r2.fanout.directory.get(raw.sid), what="the raw socket in r2's directory")
    record = cluster.r1.rooms.sockets[raw.sid]

    for name in RESERVED:
        for args in ([], [{}], [{}, {"token": token}], [b.sid]):
            ack = await raw.call(name, *args)
            assert error_code(ack) == "invalid_payload", (name, args, ack)
            assert "reserved" in ack["error"]["message"], ack

    # a second real CONNECT packet on the connected session is refused by python-socketio
    await raw.send("40" + json.dumps({"token": token}))
    assert error_code(await raw.call("leave", {"meeting_id": unique("m")})) == "not_in_room"
    assert any(str(frame).startswith("44") for frame in raw.frames), raw.frames

    # the same socket record (rate limit included), still in the room on both replicas
    assert cluster.r1.rooms.sockets[raw.sid] is record
    assert record.meeting_id == meeting
    assert cluster.r2.fanout.directory.get(raw.sid).meeting_id == meeting
    assert (await b.call("offer", {"meeting_id": meeting, "to": raw.sid, "sdp": SDP_OFFER}))["ok"]
    assert (await raw.call("offer", {"meeting_id": meeting, "to": b.sid, "sdp": SDP_OFFER}))["ok"]
    assert (await b.next("offer"))["from"] == raw.sid
    assert b.received("peer-left") == []

    # a real disconnect still leaves the room, everywhere, once
    await raw.close()
    left = await b.next("peer-left")
    assert (left["sid"], left["reason"]) == (raw.sid, "disconnected")
    await until(lambda: cluster.r2.fanout.directory.get(raw.sid) is None, what="the entry gone from r2")
    assert raw.sid not in cluster.r1.rooms.sockets


async def test_event_names_that_are_not_strings_are_refused(cluster: Cluster) -> None:
    raw, _, _ = await raw_peer(cluster)
    for frame_args in ([1, {}], [None], [{"join": 1}], [["join"], {}]):
        ack_id = raw.next_id()
        await raw.send(f"42{ack_id}" + json.dumps(frame_args))
        assert error_code(await raw.ack(ack_id)) == "invalid_payload", frame_args
    assert error_code(await raw.call("leave", {"meeting_id": "m1"})) == "not_in_room"
    await raw.close()


# --- item 2: "*" and other sockets' rate limits --------------------------------------------


async def test_an_event_named_star_charges_only_its_sender(cluster: Cluster) -> None:
    victim = await cluster.peer(cluster.r1)
    attacker, _, _ = await raw_peer(cluster)
    # 60 at once: more than the cluster's burst of 40
    ids = [await attacker.emit("*", victim.sid, {"meeting_id": "m1"}) for _ in range(60)]
    codes = [error_code(await attacker.ack(i)) for i in ids]
    assert set(codes[:30]) == {"invalid_payload"}
    assert "rate_limited" in codes[40:]

    acks = await asyncio.gather(*(victim.call("leave", {"meeting_id": "m1"}) for _ in range(30)))
    assert [error_code(ack) for ack in acks] == ["not_in_room"] * 30
    await attacker.close()


# --- item 5: message size in bytes ---------------------------------------------------------


async def test_a_websocket_message_over_the_limit_in_bytes_closes_the_connection(cluster: Cluster) -> None:
    raw, _, _ = await raw_peer(cluster)
    before = await scraped_value(cluster.r1.url, "parley_signaling_rejected_inputs_total", reason="too_large")
    # fewer characters than the limit, more bytes: 4 bytes of UTF-8 per character
    ack_id = raw.next_id()
    payload = {"meeting_id": "m1", "to": "x", "sdp": "😀" * 40_000}
    frame = f"42{ack_id}" + json.dumps(["offer", payload], ensure_ascii=False)
    assert len(frame) < MAX_MESSAGE_BYTES < len(frame.encode())
    await raw.send(frame)
    assert await raw.closed() == 1009  # "message too big" (RFC 6455 §7.4.1)
    assert ack_id not in raw.acks
    after = await scraped_value(cluster.r1.url, "parley_signaling_rejected_inputs_total", reason="too_large")
    assert after == before + 1


async def test_a_websocket_message_within_the_limit_is_read(cluster: Cluster) -> None:
    raw, _, _ = await raw_peer(cluster)
    sdp = "é" * ((MAX_MESSAGE_BYTES - 200) // 2)  # about 147 KB of UTF-8: read, then too big an SDP
    ack_id = raw.next_id()
    frame = f"42{ack_id}" + json.dumps(["offer", {"meeting_id": "m1", "to": "x", "sdp": sdp}], ensure_ascii=False)
    assert len(frame.encode()) <= MAX_MESSAGE_BYTES
    await raw.send(frame)
    assert error_code(await raw.ack(ack_id)) == "invalid_payload"
    assert error_code(await raw.call("leave", {"meeting_id": "m1"})) == "not_in_room"
    await raw.close()


async def test_a_polling_post_over_the_limit_in_bytes_is_refused_unread(cluster: Cluster) -> None:
    user_id = unique("u")
    raw = await RawPolling.open(cluster.r1.url, cluster.issuer.issue(user_id))
    body = "421" + json.dumps(["offer", {"meeting_id": "m1", "to": "x", "sdp": "😀" * 40_000}], ensure_ascii=False)
    assert len(body) < MAX_MESSAGE_BYTES < len(body.encode())
    # a long-poll waits meanwhile: python-engineio answers the refused POST only once the
    # session's queue is drained (see docs/signaling.md)
    poll = asyncio.create_task(raw.poll())
    session = cluster.r1.app.engineio_server.eio.sockets[raw.eio_sid]
    await until(lambda: bool(session.queue._getters), what="the long-poll waits in the session's queue")
    response = await raw.post(body)
    assert response.status_code == 400
    await asyncio.wait_for(poll, 10)
    await until(lambda: raw.sid not in cluster.r1.rooms.sockets, what="the session closed")
    await raw.http.aclose()


# --- item 6: log flooding ------------------------------------------------------------------

#: socket.io packets a client should never send, each inside a valid Engine.IO message.
JUNK_PACKETS = (
    "4x",  # unknown socket.io packet type
    "47",
    "44{}",  # CONNECT_ERROR from a client
    "42",  # EVENT without data
    "42[",  # truncated JSON
    "42{}",
    "42[]",
    '42"abc"',
    "43",  # ACK of nothing
    '451-["x",{"_placeholder":true,"num":"zero"}]',  # binary event with a bad placeholder...
    "4nonsense",  # ...whose attachment never comes: a text packet is read as one
    '4/other,2["join",{}]',  # event to a namespace the socket never connected to
)
#: Engine.IO messages that are not Engine.IO: the server closes the connection.
JUNK_MESSAGES = ("", "x", "9", "7hello", "b!!!")
#: Long-polling POST bodies that are no Engine.IO payload: refused, the session goes on.
JUNK_BODIES = ("x", "9", "4\x1e", "4x", "b!!!", b"4\xff\xfe")


async def test_malformed_frames_are_counted_and_logged_briefly_without_tracebacks(
    cluster: Cluster, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    before = await scraped_value(cluster.r1.url, "parley_signaling_rejected_inputs_total", reason="malformed")
    caplog.set_level(logging.INFO)
    raw, _, _ = await raw_peer(cluster)
    rounds = 50
    for _ in range(rounds):
        for frame in JUNK_PACKETS:
            await raw.send(frame)
    # handled in order, and the socket is still served
    assert error_code(await raw.call("leave", {"meeting_id": "m1"})) in ("not_in_room", "rate_limited")
    await raw.close()

    closed_codes = []
    for message in JUNK_MESSAGES:
        other, _, _ = await raw_peer(cluster)
        await other.send(message)
        closed_codes.append(await other.closed())
    assert closed_codes == [1002] * len(JUNK_MESSAGES)

    websocket = await scraped_value(cluster.r1.url, "parley_signaling_rejected_inputs_total", reason="malformed")
    assert websocket - before >= rounds * 8 + len(JUNK_MESSAGES)

    polling = await RawPolling.open(cluster.r1.url, cluster.issuer.issue(unique("u")))
    for _ in range(10):
        for body in JUNK_BODIES:
            assert (await polling.post(body)).status_code == 200
    assert (await polling.post('421["leave",{"meeting_id":"m1"}]')).status_code == 200
    assert error_code((await polling.acks(1))[1]) == "not_in_room"
    await polling.close()
    after = await scraped_value(cluster.r1.url, "parley_signaling_rejected_inputs_total", reason="malformed")
    assert after - websocket == 10 * len(JUNK_BODIES)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert tracebacks == []
    lines = [r for r in caplog.records if r.name.startswith(("parley_signaling", "engineio", "socketio", "uvicorn"))]
    # at most a few lines per connection (7 of them), however many frames
    assert 0 < len(lines) <= 7 * 2, [r.getMessage() for r in lines]
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


async def test_a_binary_event_that_asks_for_an_acknowledgement_gets_invalid_payload(cluster: Cluster) -> None:
    """socket.io's BINARY_EVENT carries an acknowledgement id like an EVENT: the official client
    waits for it (``emitWithAck`` with a Buffer). It is answered ``invalid_payload``, its
    attachment dropped, and the socket goes on."""
    raw, _, _ = await raw_peer(cluster)
    await raw.send('451-12["offer",{"meeting_id":"m1","to":"x","sdp":{"_placeholder":true,"num":0}}]')
    await raw.send(b"v=0")
    assert error_code(await raw.ack(12)) == "invalid_payload"
    await raw.send('451-/other,13["offer",{"_placeholder":true,"num":0}]')  # a namespace it is not in: dropped
    assert error_code(await raw.call("leave", {"meeting_id": "m1"})) == "not_in_room"
    assert 13 not in raw.acks
    await raw.close()


async def test_a_connect_to_another_namespace_or_a_second_connect_gets_the_documented_refusal(cluster: Cluster) -> None:
    """python-socketio answers both with the bare string "Unable to connect" (the JavaScript
    client then has no ``err.data``); the refusal has the documented shape, and the socket's
    connection and identity stay as they were."""
    raw, _, token = await raw_peer(cluster)
    sid = raw.sid
    await raw.send("40/admin," + json.dumps({"token": token}))
    await raw.send("40" + json.dumps({"token": token}))
    refusals: list[str] = []
    while len(refusals) < 2:  # the session event comes first
        frame = await raw._recv(10)
        if isinstance(frame, str) and frame.startswith("44"):
            refusals.append(frame)
    assert refusals[0].startswith("44/admin,")
    assert json.loads(refusals[0].removeprefix("44/admin,"))["data"]["code"] == "invalid_namespace"
    second = json.loads(refusals[1].removeprefix("44"))
    assert second["data"] == {"code": "already_connected", "message": second["message"]}
    assert error_code(await raw.call("leave", {"meeting_id": "m1"})) == "not_in_room"
    assert cluster.r1.rooms.sockets[sid].sid == sid
    await raw.close()


async def test_an_engineio_close_ends_the_websocket_at_once(cluster: Cluster) -> None:
    """A client's Engine.IO CLOSE (``1``) disconnects its socket and closes the WebSocket then,
    not when the silence timeout (45 s) ends it."""
    raw, _, _ = await raw_peer(cluster)
    sid = raw.sid
    await raw.send("1")
    assert await raw.closed(timeout=5) is not None
    await until(lambda: sid not in cluster.r1.rooms.sockets, timeout=5, what="the socket gone")


async def test_requests_engineio_refuses_are_warnings_not_errors(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    """A foreign origin, an unknown transport, protocol version or session id: each is refused
    (400) and logged once as a WARNING (python-engineio says ERROR): what a client sent is
    never the server's error."""
    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient(base_url=cluster.r1.url, timeout=10) as http:
        for query, headers in (
            ("EIO=4&transport=polling", {"Origin": "http://evil.example"}),
            ("EIO=4&transport=foo", {}),
            ("EIO=3&transport=polling", {}),
            ("EIO=4&transport=polling&sid=s9_nosuchsession", {}),
        ):
            assert (await http.get(f"/socket.io/?{query}", headers=headers)).status_code == 400, query
    refused = [r for r in caplog.records if r.name.startswith("parley_signaling")]
    assert [r for r in refused if r.levelno >= logging.ERROR] == []
    warnings = [r.getMessage() for r in refused if r.levelno == logging.WARNING and "request refused" in r.getMessage()]
    assert warnings and all("further occurrences" not in w for w in warnings), warnings


#: Events whose text Python's json module reads but RFC 8259 does not allow (NaN, Infinity, a
#: lone surrogate) or that nest beyond 1,024 levels: malformed, never a handler's input.
NOT_JSON_EVENTS = (
    '42["leave",{"meeting_id":NaN}]',
    '42["leave",{"meeting_id":-Infinity}]',
    '42["leave",{"meeting_id":"\\ud800"}]',
    '42["leave",' + "[" * 1100 + "]" * 1100 + "]",
)


async def test_event_text_that_is_not_json_is_malformed_and_no_handler_sees_it(cluster: Cluster) -> None:
    before = await scraped_value(cluster.r1.url, "parley_signaling_rejected_inputs_total", reason="malformed")
    handled = await scraped_value(cluster.r1.url, "parley_signaling_events_total", event="leave", result="invalid_payload")
    raw, _, _ = await raw_peer(cluster)
    for text in NOT_JSON_EVENTS:
        await raw.send(text)
    # handled in order, and the socket is still served
    assert error_code(await raw.call("leave", {"meeting_id": "m1"})) == "not_in_room"
    await raw.close()
    after = await scraped_value(cluster.r1.url, "parley_signaling_rejected_inputs_total", reason="malformed")
    assert after - before == len(NOT_JSON_EVENTS)
    assert await scraped_value(cluster.r1.url, "parley_signaling_events_total", event="leave", result="invalid_payload") == handled


async def test_an_event_with_an_acknowledgement_whose_json_is_not_taken_gets_invalid_payload(cluster: Cluster) -> None:
    """JSON the official client writes (``JSON.stringify`` of a name cut inside an emoji: a
    lone surrogate escape) or too deep to decode: answered, not left to time out."""
    raw, _, _ = await raw_peer(cluster)
    await raw.send('4221["join",{"meeting_id":"m1","display_name":"Ann\\ud800"}]')
    assert error_code(await raw.ack(21)) == "invalid_payload"
    await raw.send('4222["leave",' + "[" * 1100 + "]" * 1100 + "]")
    assert error_code(await raw.ack(22)) == "invalid_payload"
    await raw.send('4223["leave",{')  # not JSON at all
    assert error_code(await raw.ack(23)) == "invalid_payload"
    await raw.send('42["join",{"meeting_id":"m1","display_name":"Ann\\ud800"}]')  # no acknowledgement asked
    await raw.send('42/other,24["leave",{]')  # a namespace it is not in: dropped
    assert error_code(await raw.call("leave", {"meeting_id": "m1"})) == "not_in_room"
    assert 24 not in raw.acks
    await raw.close()


async def test_an_event_without_an_acknowledgement_is_handled_and_its_outcome_counted(
    cluster: Cluster, meeting: str
) -> None:
    """docs/signaling.md, "Acknowledgements and errors": no callback, same handling; the
    outcome only in ``parley_signaling_events_total``."""
    raw, user_id, _ = await raw_peer(cluster)
    b = await cluster.peer(cluster.r1)
    cluster.meetings.admit(meeting, user_id, b.user_id)
    assert (await raw.call("join", {"meeting_id": meeting}))["ok"]
    assert (await b.call("join", {"meeting_id": meeting}))["ok"]
    refused_offers = {"event": "offer", "result": "invalid_payload"}
    refused = await scraped_value(cluster.r1.url, "parley_signaling_events_total", **refused_offers)
    await raw.send("42" + json.dumps(["offer", {"meeting_id": meeting, "to": b.sid, "sdp": "v=0 no ack"}]))
    await raw.send("42" + json.dumps(["offer", {"meeting_id": meeting, "to": b.sid, "sdp": ""}]))  # refused
    # one socket's events are handled in arrival order: once this one is answered, so were those
    assert error_code(await raw.call("leave", {"meeting_id": unique("m")})) == "not_in_room"
    offer = await b.next("offer")
    assert offer["sdp"] == "v=0 no ack" and len(b.received("offer")) == 1
    after = await scraped_value(cluster.r1.url, "parley_signaling_events_total", **refused_offers)
    assert after - refused == 1
    await raw.close()


# --- item 7: junk tokens and the JWKS ---------------------------------------------------------


async def test_connects_with_unknown_key_ids_fetch_the_jwks_at_most_once(cluster: Cluster) -> None:
    url = cluster.r2.url

    async def fetches() -> float:
        return sum([await scraped_value(url, "parley_jwks_fetches_total", result=r) for r in ("ok", "failed")])

    before_fetches = await fetches()
    before_refused = await scraped_value(url, "parley_tokens_refused_total", reason="unknown_key")
    for _ in range(30):
        peer = Peer("junk")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect(url, TokenIssuer().issue("u-junk"))  # a kid auth never published
        assert peer.connect_error["data"]["code"] == "unauthorized"
    assert await fetches() - before_fetches <= 1
    assert await scraped_value(url, "parley_tokens_refused_total", reason="unknown_key") == before_refused + 30


# --- item 9: one socket's events one at a time ----------------------------------------------


async def test_concurrent_polling_posts_of_one_session_are_handled_one_at_a_time(cluster: Cluster) -> None:
    user_id = unique("u")
    raw = await RawPolling.open(cluster.r1.url, cluster.issuer.issue(user_id))
    first, second = unique("m"), unique("m")
    for meeting in (first, second):
        cluster.meetings.admit(meeting, user_id)
        cluster.meetings.delays[meeting] = 0.3  # meetings answers slowly: the joins would overlap
    # two POSTs at once (a careless client), each joining one meeting: handled one after the
    # other, each is answered as it would be alone, and the socket ends in one room
    responses = await asyncio.gather(
        raw.post("421" + json.dumps(["join", {"meeting_id": first}])),
        raw.post("422" + json.dumps(["join", {"meeting_id": second}])),
    )
    assert [r.status_code for r in responses] == [200, 200]
    acks = await raw.acks(1, 2)
    for seq, meeting_id in ((1, first), (2, second)):
        assert acks[seq] == {
            "ok": True,
            "data": {
                "meeting_id": meeting_id,
                "peers": [],
                "replica_id": cluster.r1.name,
                "participant_id": raw.sid,
                "resumed": False,
                "hands": [],
                "recordings": [],
                "spotlight": None,
            },
        }
    room = cluster.r1.rooms.sockets[raw.sid].meeting_id
    assert room in (first, second)
    left = second if room == first else first
    # r2 learns the joins in order over Kafka (it may see the socket in the other room first)
    in_room = lambda: (entry := cluster.r2.fanout.directory.get(raw.sid)) and entry.meeting_id == room  # noqa: E731
    await until(in_room, what="the socket in r2's directory, in the room it ended in")
    assert cluster.r1.fanout.directory.peers(left, exclude="") == []
    await raw.close()
