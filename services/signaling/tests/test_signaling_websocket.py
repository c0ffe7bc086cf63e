"""How a replica serves a WebSocket (``parley_signaling.transport.serve_websocket``, in place
of python-engineio's handler): the wire protocol is unchanged, so events and their
acknowledgements arrive complete and in order, over a WebSocket opened directly and over one
upgraded from long-polling (the official clients' default), whether a packet is written at once
(the socket's writer idle) or by the writer; and a closed connection is freed by reference
counting alone, without waiting for the cycle collector.
"""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from parley_signaling.websocket_protocol import WebSocketProtocol
from signaling_testkit import Cluster, Peer, RawSocket, unique, until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

BURST = 30  # under the cluster's burst of 40 events


@pytest.mark.parametrize("transports", [("websocket",), ("polling", "websocket")], ids=["websocket", "upgraded"])
async def test_relays_and_acknowledgements_arrive_complete_and_in_order(
    cluster: Cluster, transports: tuple[str, ...]
) -> None:
    meeting = unique("m")
    a = Peer("a")
    a_user = unique("u")
    await a.connect(cluster.r1.url, cluster.issuer.issue(a_user, "A"), transports=transports)
    cluster.peers.append(a)
    await a.next("session")
    if len(transports) > 1:  # wait for the upgrade to finish (up to 30 s: a busy machine delays it)
        await until(lambda: a.client.transport() == "websocket", what="the upgrade to websocket")
        assert a.client.transport() == "websocket"
    b = await cluster.peer(cluster.r1)
    cluster.meetings.admit(meeting, a_user, b.user_id)  # type: ignore[attr-defined]
    assert (await a.call("join", {"meeting_id": meeting}))["ok"]
    assert (await b.call("join", {"meeting_id": meeting}))["ok"]

    for sender, receiver in ((a, b), (b, a)):
        acks = await asyncio.gather(*(
            sender.call("ice-candidate", {"meeting_id": meeting, "to": receiver.sid, "candidate": candidate(i)})
            for i in range(BURST)
        ))
        assert [ack["ok"] for ack in acks] == [True] * BURST
        await receiver.next("ice-candidate", lambda d: d["candidate"]["candidate"].startswith(f"candidate:{BURST - 1} "))
        got = [d["candidate"]["candidate"] for d in receiver.received("ice-candidate") if d["from"] == sender.sid]
        assert got == [candidate(i)["candidate"] for i in range(BURST)]
    # and over a WebSocket, packets for an idle writer were written at once (PacketQueue)
    sockets = cluster.r1.app.engineio_server.eio.sockets
    assert all(sockets[peer.client.eio.sid].queue.written > 0 for peer in (a, b))


def candidate(i: int) -> dict:
    return {"candidate": f"candidate:{i} 1 udp 2122260223 192.0.2.1 {10000 + i} typ host", "sdpMid": "0",
            "sdpMLineIndex": 0}


@pytest.fixture
def awaited_events(cluster: Cluster) -> Iterator[list[str]]:
    """The names of the events replica r1 handles through python-socketio (``client_event``),
    not as they are read (``client_event_now``)."""
    sio = cluster.r1.app.engineio_server
    handle, names = sio.client_event, []

    async def recording(sid: str, data: Any) -> Any:
        names.append(data[0] if isinstance(data, list) and data else None)
        return await handle(sid, data)

    sio.client_event = recording
    yield names
    sio.client_event = handle


async def test_a_relay_within_the_replica_is_handled_as_it_is_read(
    cluster: Cluster, awaited_events: list[str]
) -> None:
    """A relay read while its socket is idle, to a socket of the same replica, is handled then
    and there (docs/signaling.md, "Transport"), with the outcome python-socketio's way gives;
    one to another replica, or one that fails, takes python-socketio's way."""
    meeting = unique("m")
    a, b = await cluster.peer(cluster.r1), await cluster.peer(cluster.r1)
    c = await cluster.peer(cluster.r2)
    cluster.meetings.admit(meeting, a.user_id, b.user_id, c.user_id)  # type: ignore[attr-defined]
    for peer in (a, b, c):
        assert (await peer.call("join", {"meeting_id": meeting}))["ok"]
    await until(lambda: cluster.r1.fanout.directory.in_room(meeting, c.sid), what="c in r1's directory")
    awaited_events.clear()

    for i in range(5):  # one at a time: the socket is idle when each is read
        ack = await a.call("ice-candidate", {"meeting_id": meeting, "to": b.sid, "candidate": candidate(i)})
        assert ack == {"ok": True, "data": {}}
    offer = await a.call("offer", {"meeting_id": meeting, "to": b.sid, "sdp": "v=0\r\n"})
    assert offer == {"ok": True, "data": {}}
    await b.next("offer", lambda d: d["from"] == a.sid)
    got = [d["candidate"]["candidate"] for d in b.received("ice-candidate")]
    assert got == [candidate(i)["candidate"] for i in range(5)]
    relayed = {"meeting_id": meeting, "from": a.sid, "candidate": {**candidate(0), "usernameFragment": None}}
    assert b.received("ice-candidate")[0] == relayed
    assert awaited_events == []

    assert (await a.call("ice-candidate", {"meeting_id": meeting, "to": c.sid, "candidate": candidate(9)}))["ok"]
    await c.next("ice-candidate", lambda d: d["from"] == a.sid)
    to_self = await a.call("ice-candidate", {"meeting_id": meeting, "to": a.sid, "candidate": candidate(9)})
    assert to_self["error"]["code"] == "peer_not_in_room"
    no_candidate = await a.call("ice-candidate", {"meeting_id": meeting, "to": b.sid})
    assert no_candidate["error"]["code"] == "invalid_payload"
    assert awaited_events == ["ice-candidate"] * 3


async def test_an_event_read_behind_another_waits_for_it(cluster: Cluster, awaited_events: list[str]) -> None:
    """A relay read while an event of the same socket waits for its turn is not handled before
    it: after a ``leave`` in the same read, the relay finds its sender out of the room."""
    meeting = unique("m")
    a_user = unique("u")
    a = await RawSocket.open(cluster.r1.url, cluster.issuer.issue(a_user, "A"))
    b = await cluster.peer(cluster.r1)
    cluster.meetings.admit(meeting, a_user, b.user_id)  # type: ignore[attr-defined]
    assert (await a.call("join", {"meeting_id": meeting}))["ok"]
    assert (await b.call("join", {"meeting_id": meeting}))["ok"]
    awaited_events.clear()
    try:
        leave_id, relay_id = a.next_id(), a.next_id()
        relay = {"meeting_id": meeting, "to": b.sid, "candidate": candidate(1)}
        for frame in (f"42{leave_id}" + json.dumps(["leave", {"meeting_id": meeting}]),
                      f"42{relay_id}" + json.dumps(["ice-candidate", relay])):
            a.ws.protocol.send_text(frame.encode())
        a.ws.transport.write(b"".join(a.ws.protocol.data_to_send()))  # both frames in one write
        assert (await a.ack(leave_id))["ok"]
        assert (await a.ack(relay_id))["error"]["code"] == "not_in_room"
        assert awaited_events == ["leave", "ice-candidate"]
        assert b.received("ice-candidate") == []
    finally:
        await a.close()


async def test_a_closed_connection_is_freed_though_it_outlived_a_full_collection(cluster: Cluster) -> None:
    """The survivors of a full collection are frozen (parley_observability.gc_freeze): the cycle
    collector no longer looks at them, so a closed connection of a socket that lived through one
    is freed only if no reference cycle holds it (else it waits for the next thaw, 15 minutes)."""
    server_state = cluster.r1.server.server_state
    before = {id(p) for p in server_state.connections}
    peer = await cluster.peer(cluster.r1)
    opened = [p for p in server_state.connections if isinstance(p, WebSocketProtocol) and id(p) not in before]
    assert len(opened) == 1
    protocol, conn = weakref.ref(opened[0]), weakref.ref(opened[0].conn)  # uvicorn's, websockets'
    del opened
    await peer.next("session")
    await asyncio.sleep(1)  # the connection settled: nothing of its set-up still in flight
    gc.collect()
    gc.freeze()  # as a replica's SurvivorFreezer does after a full collection
    # From here on no collection freezes anything: what the close itself makes is not frozen
    # halfway (the replicas' freezers are off, and automatic collections with them).
    gc.disable()
    freezers, gc.callbacks[:] = gc.callbacks[:], []
    try:
        sid = peer.client.eio.sid
        await peer.client.disconnect()
        cluster.peers.remove(peer)
        sockets = cluster.r1.app.engineio_server.eio.sockets
        await until(lambda: sid not in sockets, what="the socket closed on the replica")

        def freed() -> bool:
            gc.collect()  # what the close left in cycles of its own (young objects)
            return protocol() is None and conn() is None

        await until(freed, what="the closed connection freed")
    finally:
        gc.callbacks[:] = freezers + gc.callbacks
        gc.enable()


async def test_an_open_connection_keeps_no_opening_request(cluster: Cluster) -> None:
    """websockets' server parser read the opening request (its headers, ~2.3 KB per socket
    measured with tracemalloc) into a local of its own frame and kept it there for the
    connection's life; the connection now parses frames with a parser of its own once the
    handshake is done, and still relays in both directions."""
    server_state = cluster.r1.server.server_state
    before = {id(p) for p in server_state.connections}
    meeting = unique("m")
    a, b = await cluster.peer(cluster.r1), await cluster.peer(cluster.r1)
    opened = [p for p in server_state.connections if isinstance(p, WebSocketProtocol) and id(p) not in before]
    assert len(opened) == 2
    for protocol in opened:
        frame = protocol.conn.parser.gi_frame
        assert frame is not None and "request" not in frame.f_locals, frame.f_code.co_qualname
    del opened
    cluster.meetings.admit(meeting, a.user_id, b.user_id)  # type: ignore[attr-defined]
    assert (await a.call("join", {"meeting_id": meeting}))["ok"]
    assert (await b.call("join", {"meeting_id": meeting}))["ok"]
    await a.next("peer-joined")
    candidate = {"candidate": "candidate:1 1 UDP 1 192.0.2.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    assert (await a.call("ice-candidate", {"meeting_id": meeting, "to": b.sid, "candidate": candidate}))["ok"]
    assert (await b.next("ice-candidate"))["candidate"] == {**candidate, "usernameFragment": None}
    assert (await b.call("ice-candidate", {"meeting_id": meeting, "to": a.sid, "candidate": candidate}))["ok"]
    await a.next("ice-candidate")
