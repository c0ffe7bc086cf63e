"""The WebRTC half of the probe: ICE servers, candidates, relay-only policy, media counting."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCConfiguration, RTCIceTransportPolicy

from parley_probe.peer import (
    PeerError,
    ProbePeer,
    build_ice_servers,
    candidate_from_signaling,
    candidate_type,
    relay_only_configuration,
    sdp_candidates,
)

CREDENTIALS = {
    "iceServers": [
        {"urls": ["stun:turn.example.org:3478"]},
        {
            "urls": [
                "turns:turn.example.org:5349?transport=tcp",
                "turn:turn.example.org:3478?transport=tcp",
                "turn:turn.example.org:3478?transport=udp",
            ],
            "username": "1767225600:user-1",
            "credential": "c2VjcmV0",
        },
    ],
    "ttl": 3600,
    "expires_at": "2026-01-01T00:00:00Z",
}


async def _connect(a: ProbePeer, b: ProbePeer) -> None:
    """Offer/answer and trickle candidates directly, as signaling would carry them."""
    answer = await b.accept_offer(await a.create_offer())
    await a.accept_answer(answer)
    for src, dst in ((a, b), (b, a)):
        for candidate in [*src.local_candidates(), None]:
            await dst.add_remote_candidate(candidate)
    await asyncio.gather(a.wait_ice_connected(10), b.wait_ice_connected(10))


# ---- ICE servers ---------------------------------------------------------------------------


def test_build_ice_servers_keeps_credentials_and_puts_turn_udp_first() -> None:
    servers = build_ice_servers(CREDENTIALS)

    turn = servers[0]
    assert turn.urls == [
        "turn:turn.example.org:3478?transport=udp",
        "turn:turn.example.org:3478?transport=tcp",
        "turns:turn.example.org:5349?transport=tcp",
    ]
    assert (turn.username, turn.credential) == ("1767225600:user-1", "c2VjcmV0")
    assert servers[1].urls == ["stun:turn.example.org:3478"]


def test_build_ice_servers_accepts_a_single_url_string_and_drops_unusable_urls() -> None:
    servers = build_ice_servers(
        {
            "iceServers": [
                {"urls": "turn:10.0.0.1:3478", "username": "u", "credential": "p"},
                {"urls": ["https://not-ice", "stun:10.0.0.1"]},
            ]
        }
    )
    assert [s.urls for s in servers] == [["turn:10.0.0.1:3478"], ["stun:10.0.0.1"]]


@pytest.mark.parametrize(
    "credentials",
    [
        {},
        {"iceServers": []},
        {"iceServers": [{"urls": ["stun:10.0.0.1:3478"]}]},
        {"iceServers": [{"urls": ["turn:10.0.0.1:3478"]}]},  # no username/credential
        {"iceServers": ["turn:10.0.0.1"]},
    ],
)
def test_build_ice_servers_refuses_credentials_without_a_usable_turn_server(credentials) -> None:
    with pytest.raises(PeerError):
        build_ice_servers(credentials)


def test_relay_only_configuration_sets_the_relay_policy() -> None:
    configuration = relay_only_configuration(build_ice_servers(CREDENTIALS))
    assert configuration.iceTransportPolicy == RTCIceTransportPolicy.RELAY
    assert configuration.iceServers and configuration.iceServers[0].username == "1767225600:user-1"


# ---- candidates ----------------------------------------------------------------------------

SDP = """v=0\r
o=- 1 1 IN IP4 0.0.0.0\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
m=audio 9 UDP/TLS/RTP/SAVPF 111\r
a=mid:0\r
a=candidate:abc 1 udp 16777215 203.0.113.7 50000 typ relay raddr 0.0.0.0 rport 9\r
a=end-of-candidates\r
m=video 9 UDP/TLS/RTP/SAVPF 96\r
a=mid:1\r
a=candidate:def 1 udp 2130706431 192.0.2.1 40000 typ host\r
"""


def test_sdp_candidates_gives_browser_shaped_candidates_per_media_section() -> None:
    assert sdp_candidates(SDP) == [
        {
            "candidate": "candidate:abc 1 udp 16777215 203.0.113.7 50000 typ relay raddr 0.0.0.0 rport 9",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        },
        {
            "candidate": "candidate:def 1 udp 2130706431 192.0.2.1 40000 typ host",
            "sdpMid": "1",
            "sdpMLineIndex": 1,
        },
    ]
    assert [candidate_type(c["candidate"]) for c in sdp_candidates(SDP)] == ["relay", "host"]


def test_candidate_from_signaling_round_trips_and_handles_end_of_candidates() -> None:
    payload = sdp_candidates(SDP)[0]
    candidate = candidate_from_signaling(payload)
    assert candidate is not None
    assert (
        candidate.type,
        candidate.ip,
        candidate.port,
        candidate.sdpMid,
        candidate.sdpMLineIndex,
    ) == (
        "relay",
        "203.0.113.7",
        50000,
        "0",
        0,
    )
    assert candidate_from_signaling(None) is None
    assert candidate_from_signaling({"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}) is None


@pytest.mark.parametrize(
    "payload",
    [
        {"candidate": "candidate:garbage", "sdpMid": "0"},
        {"candidate": "candidate:abc 1 udp 1 1.2.3.4 5 typ host"},  # no mid, no index
    ],
)
def test_candidate_from_signaling_refuses_malformed_candidates(payload) -> None:
    with pytest.raises(PeerError):
        candidate_from_signaling(payload)


# ---- real peers over loopback --------------------------------------------------------------


async def test_two_peers_exchange_media_and_data_directly_over_loopback() -> None:
    """No TURN here (policy all, no ICE servers): checks negotiation, counting and pair reading."""
    a = ProbePeer("a", RTCConfiguration(iceServers=[]))
    b = ProbePeer("b", RTCConfiguration(iceServers=[]))
    try:
        await _connect(a, b)
        counts = await asyncio.gather(
            *(
                p.wait_media(min_video=10, min_audio=20, min_messages=1, timeout_s=10)
                for p in (a, b)
            )
        )
        assert counts[0].data_messages == ["hello from b"]
        assert counts[1].data_messages == ["hello from a"]
        pair = a.selected_pair()
        assert pair is not None and pair.local_type == "host" and pair.remote_type == "host"
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_relay_only_peers_connect_through_coturn_with_relay_candidates_only(
    turn_server,
) -> None:
    a = ProbePeer("a", relay_only_configuration(build_ice_servers(turn_server.credentials("a"))))
    b = ProbePeer("b", relay_only_configuration(build_ice_servers(turn_server.credentials("b"))))
    try:
        await _connect(a, b)
        for peer in (a, b):
            assert {candidate_type(c["candidate"]) for c in peer.local_candidates()} == {"relay"}
            pair = peer.selected_pair()
            assert pair is not None and (pair.local_type, pair.remote_type) == ("relay", "relay")
            assert pair.local_address.split(":")[1] != "0"
        await asyncio.gather(
            *(
                p.wait_media(min_video=10, min_audio=20, min_messages=1, timeout_s=10)
                for p in (a, b)
            )
        )
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_an_answer_prepared_before_the_offer_uses_the_candidate_gathered_beforehand(
    turn_server,
) -> None:
    a = ProbePeer("a", relay_only_configuration(build_ice_servers(turn_server.credentials("a"))))
    b = ProbePeer("b", relay_only_configuration(build_ice_servers(turn_server.credentials("b"))))
    try:
        b.prepare_answer()
        await b._prepared
        # max-bundle: audio and video share one ICE transport, gathered before any offer
        (transport,) = {t.receiver.transport.transport for t in b.pc.getTransceivers()}
        (gathered,) = transport.iceGatherer.getLocalCandidates()
        assert gathered.type == "relay"

        await _connect(a, b)
        # the answer carries that candidate (no second TURN allocation) and the call is relayed
        # (one per m-section of the SDP, all the same bundled transport's)
        (answered,) = {c["candidate"] for c in b.local_candidates()}
        assert f"{gathered.ip} {gathered.port} typ relay" in answered
        assert {len(p.pc.getTransceivers()) for p in (a, b)} == {2}
        for peer in (a, b):
            pair = peer.selected_pair()
            assert pair is not None and (pair.local_type, pair.remote_type) == ("relay", "relay")
        await asyncio.gather(
            *(p.wait_media(min_video=5, min_audio=5, min_messages=1, timeout_s=10) for p in (a, b))
        )
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_relay_only_peer_gathers_nothing_without_a_turn_server() -> None:
    peer = ProbePeer(
        "lonely", RTCConfiguration(iceServers=[], iceTransportPolicy=RTCIceTransportPolicy.RELAY)
    )
    try:
        await peer.create_offer()
        assert peer.local_candidates() == []
    finally:
        await peer.close()


async def test_wait_media_names_what_is_missing_at_the_deadline() -> None:
    peer = ProbePeer("idle", RTCConfiguration(iceServers=[]))
    try:
        with pytest.raises(
            PeerError, match=r"0/5 video frames, 0/5 audio frames, 0/1 data-channel"
        ):
            await peer.wait_media(min_video=5, min_audio=5, min_messages=1, timeout_s=0.2)
    finally:
        await peer.close()
