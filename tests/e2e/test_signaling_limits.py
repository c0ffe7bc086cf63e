"""The signaling replicas as the stack runs them refuse a WebSocket message over the size
limit in bytes (docs/signaling.md "Limits"), at uvicorn's frame check, before reading it.

A raw Engine.IO/socket.io client sends one message of 40,000 four-byte characters: fewer
characters than the limit (147,456), more bytes (160,000+). The replica closes with 1009 and
counts it in ``parley_signaling_rejected_inputs_total{reason="too_large"}``.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import websockets

from parley_probe.api import ApiClient
from parley_testing import Stack, scraped_value

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

LIMIT_BYTES = 147456


async def too_large(url: str) -> float:
    return await scraped_value(url, "parley_signaling_rejected_inputs_total", reason="too_large")


async def test_a_message_over_the_limit_in_bytes_is_refused_unread(stack: Stack) -> None:
    run = uuid.uuid4().hex[:10]
    api = ApiClient(stack.base_url)
    email = f"limits-{run}@e2e.parley.example.com"
    await api.register(email, "Limits", "correct horse battery")
    await api.login(email, "correct horse battery")
    url = stack.raw["services"]["signaling-1"]["url"]
    before = await too_large(url)

    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(ws_url, max_size=None) as ws:
        assert (await asyncio.wait_for(ws.recv(), 10)).startswith("0{")
        await ws.send("40" + json.dumps({"token": api.access_token}))
        assert (await asyncio.wait_for(ws.recv(), 10)).startswith("40{")
        payload = {"meeting_id": "m1", "to": "x", "sdp": "😀" * 40_000}
        frame = "421" + json.dumps(["offer", payload], ensure_ascii=False)
        assert len(frame) < LIMIT_BYTES < len(frame.encode())
        await ws.send(frame)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                received = await asyncio.wait_for(ws.recv(), 10)
                assert not str(received).startswith("431"), "the message was read and answered"
                if received == "2":
                    await ws.send("3")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert await too_large(url) == before + 1
