"""JsonPacket: socket.io packets built without python-socketio's walk of the data for bytes,
encoded exactly as upstream's Packet encodes the same JSON data."""

import pytest
from prometheus_client import CollectorRegistry
from socketio import packet

from parley_signaling import packet_json
from parley_signaling.metrics import SignalingMetrics
from parley_signaling.rejections import Rejections
from parley_signaling.server import JsonPacket, SignalingServer

DATA = ["signal", {"to": "p1", "description": {"type": "offer", "sdp": "v=0\r\n"}, "candidates": [{"a": 1}, None, True]}]


class UpstreamPacket(packet.Packet):
    json = packet_json


class Packet(JsonPacket):
    json = packet_json


def test_the_signaling_server_builds_json_packets() -> None:
    server = SignalingServer(rejections=Rejections(SignalingMetrics(CollectorRegistry()).rejected_inputs), async_mode="asgi")
    assert issubclass(server.packet_class, JsonPacket)


def test_packets_encode_as_upstream_without_walking_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [UpstreamPacket(packet.EVENT, namespace="/", data=DATA).encode(), UpstreamPacket(packet.ACK, namespace="/", id=7, data=[{"ok": True}]).encode()]

    def walked(cls, data):
        raise AssertionError("data_is_binary was called")

    monkeypatch.setattr(packet.Packet, "data_is_binary", classmethod(walked))
    built = [Packet(packet.EVENT, namespace="/", data=DATA).encode(), Packet(packet.ACK, namespace="/", id=7, data=[{"ok": True}]).encode()]
    assert built == expected
    assert built[0].startswith('2["signal",')


def test_bytes_in_the_data_fail_to_encode_instead_of_going_out_as_binary() -> None:
    with pytest.raises(TypeError):
        Packet(packet.EVENT, namespace="/", data=["x", b"\x00"]).encode()
