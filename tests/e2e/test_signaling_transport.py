"""Signaling's transports through Traefik, spoken raw: Origin refusals, bad packets, routing by sid.

Against the running test stack (docs/signaling.md, "Transport" and "Connecting"):

* a foreign ``Origin`` gets the same answer over both transports: HTTP 400 with the body
  ``"<origin> is not an accepted origin."`` (over WebSocket it used to be 403, empty);
* a long-polling POST of a packet no client may send is answered 400 at once;
* long-polling sessions without any cookie keep working across many requests, on both
  replicas: Traefik routes a request by the prefix of its ``sid``.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from parley_testing import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

FOREIGN = "http://evil.example"
POLLING = {"EIO": "4", "transport": "polling"}


def ws_url(stack: Stack) -> str:
    return stack.base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


def allowed_origin(stack: Stack) -> str:
    return stack.base_url  # PARLEY_ALLOWED_ORIGINS of the local stack: Traefik's own origin


async def test_a_foreign_origin_gets_400_with_the_same_body_over_both_transports(stack: Stack) -> None:
    expected = f"{FOREIGN} is not an accepted origin."
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=5) as http:
        polling = await http.get("/socket.io/", params=POLLING, headers={"Origin": FOREIGN})
    assert (polling.status_code, polling.json()) == (400, expected)

    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(stack), origin=FOREIGN, open_timeout=5):
            pass
    response = refused.value.response
    assert response.status_code == 400
    assert json.loads(response.body) == expected


async def test_an_allowed_origin_opens_a_websocket_session(stack: Stack) -> None:
    async with connect(ws_url(stack), origin=allowed_origin(stack), open_timeout=5) as ws:
        opened = await ws.recv()
    assert opened.startswith("0{")
    assert json.loads(opened[1:])["sid"][:3] in ("s1_", "s2_")


@pytest.mark.parametrize("bad", ["0", "2", "6"])
async def test_a_packet_no_client_may_send_is_answered_400_at_once(stack: Stack, bad: str) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=5) as http:
        opened = await http.get("/socket.io/", params=POLLING)
        sid = json.loads(opened.text[1:])["sid"]
        try:
            answer = await http.post("/socket.io/", params={**POLLING, "sid": sid}, content=bad.encode())
        except httpx.TimeoutException:
            pytest.fail(f"a POST of {bad!r} through Traefik was not answered within 5 s")
        assert answer.status_code == 400
        gone = await http.get("/socket.io/", params={**POLLING, "sid": sid})
        assert (gone.status_code, gone.json()) == (400, f"Invalid session {sid}")


@pytest.mark.timeout(180)
async def test_cookieless_polling_sessions_stay_on_their_replica(stack: Stack) -> None:
    """Sessions opened one after the other (Traefik spreads them over both replicas; until both
    have had some, for at most 120 s: a replica just restarted by another test may still be out
    of Traefik's health check, and on CI's loaded machine one session's exchanges took up to
    10 s), each then doing ten exchanges without a cookie: every request reaches the session's
    replica (a wrong one would answer 400 "Invalid session")."""

    async def request(method: str, **kwargs) -> httpx.Response:
        # a fresh client per request: nothing but the sid ties the requests together. One
        # connection cut mid-answer (seen once in about ten runs on the loaded machine, cause
        # not found; noted on issue 6) is sent again: this test is about where a request is
        # routed, which a wrong replica's 400 "Invalid session" would show.
        for attempt in range(2):
            try:
                async with httpx.AsyncClient(base_url=stack.base_url, timeout=5) as http:
                    return await http.request(method, "/socket.io/", **kwargs)
            except httpx.RemoteProtocolError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    replicas: list[str] = []
    deadline = time.monotonic() + 120
    while len(replicas) < 4 or set(replicas) != {"s1_", "s2_"}:
        assert time.monotonic() < deadline, f"new sessions did not reach both replicas: {replicas}"
        opened = await request("GET", params=POLLING)
        assert opened.status_code == 200
        sid = json.loads(opened.text[1:])["sid"]
        replicas.append(sid[:3])
        params = {**POLLING, "sid": sid}
        for _ in range(10):
            pong = await request("POST", params=params, content=b"3")  # a PONG: accepted at any time
            assert (pong.status_code, pong.text) == (200, "OK"), (sid, pong.text)
        closed = await request("POST", params=params, content=b"1")
        assert closed.status_code == 200, closed.text
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("replica", ["signaling-1", "signaling-2"])
async def test_websocket_frames_are_not_compressed_though_the_client_offers_it(stack: Stack, replica: str) -> None:
    """The client offers permessage-deflate (the websockets client does by default, like
    browsers); the replica, as deployed, accepts the WebSocket without it, and Engine.IO's
    handshake still arrives (docs/signaling.md, "Transport")."""
    url = stack.service_url(replica).replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with connect(url, origin=allowed_origin(stack), open_timeout=5, compression="deflate") as ws:
        assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        assert ws.protocol.extensions == []
        opened = json.loads((await ws.recv())[1:])
    assert (opened["pingInterval"], opened["pingTimeout"]) == (25000, 20000)
