"""Unit tests of the WebSocket guard in front of Engine.IO (fake ASGI receive and send)."""

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from parley_signaling.metrics import SignalingMetrics
from parley_signaling.rejections import Rejections
from parley_signaling.server import WebSocketGuard

SCOPE = {"type": "websocket", "client": ("127.0.0.1", 5000)}


class Connection:
    """What the client sends (``incoming``) and what the guard lets Engine.IO send (``sent``)."""

    def __init__(self, *incoming: dict[str, Any]) -> None:
        self.incoming = list(incoming)
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        return self.incoming.pop(0)

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


def guarded(max_bytes: int, *incoming: dict[str, Any]) -> tuple[Connection, Any, Any, CollectorRegistry]:
    registry = CollectorRegistry()
    guard = WebSocketGuard(max_bytes, Rejections(SignalingMetrics(registry).rejected_inputs))
    connection = Connection(*incoming)
    receive, send = guard.wrap(SCOPE, connection.receive, connection.send)
    return connection, receive, send, registry


def rejected(registry: CollectorRegistry, reason: str) -> float | None:
    return registry.get_sample_value("parley_signaling_rejected_inputs_total", {"reason": reason})


def text(value: str) -> dict[str, Any]:
    return {"type": "websocket.receive", "text": value}


@pytest.mark.parametrize(
    "message",
    [
        text("4" + "😀" * 25),  # 26 characters, 101 bytes
        text("4" + "x" * 100),
        {"type": "websocket.receive", "bytes": b"4" * 101},
    ],
)
async def test_a_message_over_the_limit_in_bytes_closes_with_1009(message: dict[str, Any]) -> None:
    connection, receive, send, registry = guarded(100, message)
    assert await receive() == {"type": "websocket.disconnect", "code": 1009}
    assert connection.sent == [{"type": "websocket.close", "code": 1009}]
    await send({"type": "websocket.close"})  # Engine.IO's own close is not sent twice
    assert len(connection.sent) == 1
    assert rejected(registry, "too_large") == 1


@pytest.mark.parametrize("message", [text("4" + "é" * 49), text("2probe"), {"type": "websocket.receive", "bytes": b"\x00" * 100}])
async def test_a_message_within_the_limit_passes_unchanged(message: dict[str, Any]) -> None:
    connection, receive, send, registry = guarded(100, message)
    assert await receive() == message
    await send({"type": "websocket.send", "text": "3probe"})
    assert connection.sent == [{"type": "websocket.send", "text": "3probe"}]
    assert rejected(registry, "too_large") == 0 and rejected(registry, "malformed") == 0


@pytest.mark.parametrize("value", ["", "x", "9", "7hello", "b4AAAA", "{}"])
async def test_a_text_message_that_is_no_engineio_packet_closes_with_1002(value: str) -> None:
    connection, receive, _, registry = guarded(100, text(value))
    assert await receive() == {"type": "websocket.disconnect", "code": 1002}
    assert connection.sent == [{"type": "websocket.close", "code": 1002}]
    assert rejected(registry, "malformed") == 1


async def test_the_server_refusing_a_message_too_big_counts_as_too_large() -> None:
    disconnect = {"type": "websocket.disconnect", "code": 1009, "reason": ""}
    connection, receive, _, registry = guarded(100, disconnect)
    assert await receive() == disconnect
    assert connection.sent == []
    assert rejected(registry, "too_large") == 1
