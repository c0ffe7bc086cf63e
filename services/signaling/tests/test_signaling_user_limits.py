"""What one user's sockets share on a replica: a cap on their number and one event budget
(docs/signaling.md, "Limits"); and a socket whose client left while its token was checked."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from parley_testing import scraped_value

from signaling_testkit import Cluster, Peer, RawPolling, error_code, start_replica, unique, until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


async def test_a_user_holds_at_most_max_sockets_on_a_replica(cluster: Cluster) -> None:
    replica = await start_replica(unique("sig-cap"), cluster.stack, cluster.issuer, cluster.meetings,
                                  signaling_max_sockets_per_user=3)
    user = unique("u")
    token = cluster.issuer.issue(user)
    peers: list[Peer] = []
    try:
        for i in range(3):
            peer = Peer(f"{user}-{i}")
            await peer.connect(replica.url, token)
            peers.append(peer)
        fourth = Peer(f"{user}-3")
        with pytest.raises(Exception):
            await fourth.connect(replica.url, token)
        assert fourth.connect_error["data"]["code"] == "too_many_sockets", fourth.connect_error
        assert "3 connections" in fourth.connect_error["message"]
        assert await scraped_value(replica.url, "parley_signaling_connections_total", result="too_many_sockets") == 1

        other = Peer("another user")  # the cap is per user
        await other.connect(replica.url, cluster.issuer.issue(unique("u")))
        peers.append(other)

        await peers[0].close()  # one of the three goes: room for one more
        await until(lambda: sum(s.principal.user_id == user for s in replica.rooms.sockets.values()) == 2)
        again = Peer(f"{user}-again")
        await again.connect(replica.url, token)
        peers.append(again)
        assert sum(s.principal.user_id == user for s in replica.rooms.sockets.values()) == 3
    finally:
        for peer in peers:
            await peer.close()
        await replica.stop()


async def test_a_users_sockets_share_one_event_budget(cluster: Cluster) -> None:
    """Each socket's own bucket (40 here) would allow every one of the 12 events; the user's
    budget of 6 allows six in all, whichever socket sends them."""
    replica = await start_replica(unique("sig-budget"), cluster.stack, cluster.issuer, cluster.meetings,
                                  signaling_user_rate_per_second=0.001, signaling_user_rate_burst=6)
    user = unique("u")
    peers = []
    try:
        for i in range(2):
            peer = Peer(f"{user}-{i}")
            await peer.connect(replica.url, cluster.issuer.issue(user))
            peers.append(peer)
        codes = [error_code(await peers[i % 2].call("leave", {"meeting_id": "m1"})) for i in range(12)]
        assert codes == ["not_in_room"] * 6 + ["rate_limited"] * 6
        other = Peer("another user")  # another user's budget is whole
        await other.connect(replica.url, cluster.issuer.issue(unique("u")))
        peers.append(other)
        assert error_code(await other.call("leave", {"meeting_id": "m1"})) == "not_in_room"
    finally:
        for peer in peers:
            await peer.close()
        await replica.stop()


async def test_a_client_that_leaves_while_its_token_is_checked_is_not_connected(cluster: Cluster) -> None:
    """The replica's first connect fetches the JWKS (2 s here). A long-polling client that
    closes its session meanwhile (Engine.IO CLOSE in another POST) got no disconnect from
    python-socketio, its socket not being connected yet; the connect handler then failed on
    the closed session with a traceback and left the sid in python-socketio's namespace."""
    fetching = asyncio.Event()
    replica = await start_replica(unique("sig-slow-jwks"), cluster.stack, cluster.issuer, cluster.meetings,
                                  verifier=cluster.issuer.verifier(jwks_delay_s=2.0, fetching=fetching))
    user = unique("u")
    try:
        async with httpx.AsyncClient(base_url=replica.url, timeout=10) as http:
            opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
            session = RawPolling(http, json.loads(opened.text[1:])["sid"])
            connecting = asyncio.create_task(session.post("40" + json.dumps({"token": cluster.issuer.issue(user)})))
            # not a fixed sleep: on a busy machine the CONNECT may not have reached the handler yet
            await asyncio.wait_for(fetching.wait(), 30)
            assert (await session.post("1")).status_code == 200  # CLOSE while the token is checked
            assert (await connecting).status_code == 200
        await until(lambda: session.eio_sid not in replica.app.engineio_server.eio.sockets)
        assert [s.sid for s in replica.rooms.sockets.values() if s.principal.user_id == user] == []
        namespace = replica.app.engineio_server.manager.rooms.get("/", {}).get(None, {})
        assert dict(namespace) == {}
        assert await scraped_value(replica.url, "parley_signaling_connections_total",
                                   result="closed_while_connecting") == 1
        peer = Peer(user)  # and the user connects as before
        await peer.connect(replica.url, cluster.issuer.issue(user))
        await peer.close()
    finally:
        await replica.stop()
