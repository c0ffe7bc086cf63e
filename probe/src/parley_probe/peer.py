"""One side of the synthetic call: an aiortc ``RTCPeerConnection`` restricted to TURN relays.

Relay-only is enforced the standard way: ``RTCConfiguration(iceTransportPolicy=RELAY)``
(W3C webrtc-pc §4.2.1, RFC 9429 §3.5.3). aiortc (1.16.0 is locked) passes it to aioice as
``TransportPolicy.RELAY``, which gathers *only* TURN-allocated (relay) candidates — no host or
server-reflexive candidate ever exists on this side, so every pair it can form has a relay
local candidate. An aiortc without ``iceTransportPolicy`` is refused, never silently run with
all candidates. ``selected_pair()`` reads the nominated pair afterwards, so the probe proves the
call was relayed rather than assuming it.

The peer sends a synthetic audio track (aiortc's silence, 20 ms frames) and a small synthetic
video track, plus one data-channel message, and counts the *decoded* frames it receives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import (
    AudioStreamTrack,
    MediaStreamError,
    MediaStreamTrack,
    VideoStreamTrack,
)
from aiortc.rtcicetransport import RTCIceTransport, parse_stun_turn_uri
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

from parley_probe import triggered_check

try:  # present in the locked aiortc 1.16
    from aiortc import RTCIceTransportPolicy
except ImportError:  # pragma: no cover - older aiortc cannot enforce relay-only
    RTCIceTransportPolicy = None  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

DATA_CHANNEL_LABEL = "parley-probe"


class PeerError(RuntimeError):
    """A WebRTC step of the probe failed (bad credentials, no relay, ICE failure, ...)."""


# --------------------------------------------------------------------------------------------
# ICE servers from GET /api/turn/credentials


def _turn_url_rank(url: str) -> int:
    """Preference among TURN URLs, as aiortc uses only the first usable one: UDP, TCP, TLS."""
    parsed = parse_stun_turn_uri(url)
    if parsed["scheme"] == "turns":
        return 2
    return 0 if parsed["transport"] == "udp" else 1


def build_ice_servers(credentials: Mapping[str, Any]) -> list[RTCIceServer]:
    """Turn the ``/api/turn/credentials`` answer into aiortc ``RTCIceServer`` objects.

    ``credentials`` is ``{"iceServers": [{"urls": str | [str], "username"?, "credential"?}],
    "ttl", "expires_at"}`` (docs/http-api.md, TURN REST API draft-uberti-behave-turn-rest-00).
    URLs aiortc cannot parse (RFC 7064/7065 ``stun:``/``turn:``/``turns:`` with an IPv4 or
    DNS host) are dropped; TURN URLs are reordered UDP first, then TCP, then TLS, because
    aiortc only uses the first usable TURN URL and one STUN URL.

    Raises ``PeerError`` when no usable TURN URL with a username and credential remains —
    without one a relay-only peer cannot gather any candidate.
    """
    servers = credentials.get("iceServers")
    if not isinstance(servers, list) or not servers:
        raise PeerError("TURN credentials have no iceServers")
    result: list[RTCIceServer] = []
    has_turn = False
    for entry in servers:
        if not isinstance(entry, Mapping):
            raise PeerError(f"malformed iceServers entry: {entry!r}")
        raw_urls = entry.get("urls")
        urls = [raw_urls] if isinstance(raw_urls, str) else list(raw_urls or [])
        usable: list[str] = []
        for url in urls:
            try:
                parse_stun_turn_uri(url)
            except (ValueError, TypeError):
                logger.warning("ignoring ICE server URL aiortc cannot use: %r", url)
                continue
            usable.append(url)
        if not usable:
            continue
        turn_urls = sorted((u for u in usable if u.startswith("turn")), key=_turn_url_rank)
        other_urls = [u for u in usable if not u.startswith("turn")]
        username, credential = entry.get("username"), entry.get("credential")
        if turn_urls and username and credential:
            has_turn = True
        result.append(
            RTCIceServer(urls=turn_urls + other_urls, username=username, credential=credential)
        )
    if not has_turn:
        raise PeerError("TURN credentials contain no usable turn: URL with username and credential")
    # TURN entries first: aiortc keeps the first TURN server it meets.
    result.sort(key=lambda s: 0 if any(str(u).startswith("turn") for u in s.urls) else 1)
    return result


def relay_only_configuration(ice_servers: Sequence[RTCIceServer]) -> RTCConfiguration:
    """``RTCConfiguration`` with ``iceTransportPolicy`` relay and ``bundlePolicy``
    max-bundle (one ICE transport, so one TURN allocation, for audio, video and data;
    W3C webrtc-pc §4.2.5); ``PeerError`` if aiortc lacks the relay policy."""
    if RTCIceTransportPolicy is None or not any(
        f.name == "iceTransportPolicy" for f in dataclasses.fields(RTCConfiguration)
    ):
        raise PeerError(
            "installed aiortc has no RTCConfiguration.iceTransportPolicy: cannot force relay-only"
        )
    return RTCConfiguration(
        iceServers=list(ice_servers),
        iceTransportPolicy=RTCIceTransportPolicy.RELAY,
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )


# --------------------------------------------------------------------------------------------
# Candidates as they travel through signaling (RTCIceCandidateInit of webrtc-pc)


def sdp_candidates(sdp: str) -> list[dict[str, Any]]:
    """Every ``a=candidate`` line of ``sdp`` as ``{"candidate", "sdpMid", "sdpMLineIndex"}``.

    ``candidate`` is the browser form ``"candidate:<foundation> <component> ..."`` (RFC 8839
    §5.1); ``sdpMid`` comes from the section's ``a=mid`` (RFC 8843), ``sdpMLineIndex`` counts
    ``m=`` lines from 0.
    """
    found: list[tuple[int, str]] = []
    mids: dict[int, str] = {}
    index = -1
    for line in sdp.splitlines():
        line = line.strip()
        if line.startswith("m="):
            index += 1
        elif index >= 0 and line.startswith("a=mid:"):
            mids[index] = line[len("a=mid:") :]
        elif index >= 0 and line.startswith("a=candidate:"):
            found.append((index, line[len("a=") :]))
    return [{"candidate": text, "sdpMid": mids.get(i), "sdpMLineIndex": i} for i, text in found]


def candidate_from_signaling(payload: Mapping[str, Any] | None):
    """Parse an ``ice-candidate`` event's ``candidate`` into an aiortc ``RTCIceCandidate``.

    ``None`` (end-of-candidates) and an empty ``candidate`` string (the browser's
    end-of-candidates form) both give ``None``. Raises ``PeerError`` on a malformed candidate.
    """
    if payload is None:
        return None
    text = payload.get("candidate") or ""
    if not text:
        return None
    if text.startswith("candidate:"):
        text = text[len("candidate:") :]
    try:
        candidate = candidate_from_sdp(text)
    except (AssertionError, ValueError, IndexError) as exc:
        raise PeerError(f"malformed ICE candidate {payload!r}") from exc
    candidate.sdpMid = payload.get("sdpMid")
    candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        raise PeerError("ICE candidate has neither sdpMid nor sdpMLineIndex")
    return candidate


def candidate_type(candidate_line: str) -> str:
    """The ``typ`` of an SDP candidate line (``host``, ``srflx``, ``prflx`` or ``relay``)."""
    text = candidate_line.removeprefix("a=").removeprefix("candidate:")
    return candidate_from_sdp(text).type


# --------------------------------------------------------------------------------------------
# Synthetic media


class SyntheticVideoTrack(VideoStreamTrack):
    """A 30 fps video source of small frames whose brightness changes every frame.

    Smaller than aiortc's 640×480 default so that two peers encoding and decoding VP8 stay
    cheap on a small CI machine.
    """

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        self._n = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        self._n += 1
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        luma = (self._n * 7) % 256
        for i, plane in enumerate(frame.planes):
            plane.update(bytes([luma if i == 0 else 128]) * plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        return frame


@dataclass
class MediaCounts:
    """What one peer received: decoded frames per kind and data-channel messages (texts)."""

    video_frames: int = 0
    audio_frames: int = 0
    data_messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CandidatePairInfo:
    """The nominated ICE pair of one peer: candidate types (RFC 8445 §5.1.1) and addresses."""

    local_type: str
    remote_type: str
    local_address: str
    remote_address: str
    protocol: str

    def as_dict(self) -> dict[str, str]:
        """``{"local", "remote", "local_address", "remote_address", "protocol"}``."""
        return {
            "local": self.local_type,
            "remote": self.remote_type,
            "local_address": self.local_address,
            "remote_address": self.remote_address,
            "protocol": self.protocol,
        }


class ProbePeer:
    """An aiortc peer that sends synthetic audio+video and counts what it decodes.

    Typical use, offerer side: ``sdp = await peer.create_offer()`` → send; later
    ``await peer.accept_answer(answer_sdp)``. Answerer side:
    ``answer = await peer.accept_offer(offer_sdp)``. Both: forward ``local_candidates()``
    over signaling, feed received ones to ``add_remote_candidate()``, then
    ``await peer.wait_ice_connected(timeout_s)`` and ``await peer.wait_media(...)``.
    Always ``await peer.close()``.
    """

    def __init__(
        self,
        name: str,
        configuration: RTCConfiguration,
        *,
        video_size: tuple[int, int] = (320, 240),
    ) -> None:
        self.name = name
        triggered_check.install()  # aioice's RFC 8445 §7.3.1.4 fix, see triggered_check.py
        self.pc = RTCPeerConnection(configuration)
        self.counts = MediaCounts()
        self.ice_connected_at: float | None = None
        self.first_message_at: float | None = None
        self._video_size = video_size
        self._sources: list[MediaStreamTrack] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._channel: RTCDataChannel | None = None
        self._pending_candidates: list[Any] = []
        self._prepared: asyncio.Task[None] | None = None
        self._remote_set = False
        self._greeting = f"hello from {name}"

        @self.pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            task = asyncio.create_task(self._count_frames(track), name=f"{name}-recv-{track.kind}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        @self.pc.on("datachannel")
        def _on_datachannel(channel: RTCDataChannel) -> None:
            self._use_channel(channel)

        @self.pc.on("connectionstatechange")
        def _on_state() -> None:
            self._changed.set()

        @self.pc.on("iceconnectionstatechange")
        def _on_ice_state() -> None:
            if self.pc.iceConnectionState == "completed" and self.ice_connected_at is None:
                self.ice_connected_at = time.monotonic()
            self._changed.set()

    # ---- negotiation --------------------------------------------------------------------

    def _add_sources(self) -> None:
        self._sources = [AudioStreamTrack(), SyntheticVideoTrack(*self._video_size)]
        for track in self._sources:
            self.pc.addTrack(track)

    async def create_offer(self) -> str:
        """Add the tracks and the data channel, gather relay candidates, return the SDP offer."""
        self._add_sources()
        self._use_channel(self.pc.createDataChannel(DATA_CHANNEL_LABEL))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    def prepare_answer(self) -> None:
        """Answerer side, before any offer: add the tracks and start gathering the candidates
        of the ICE transport they share (max-bundle), so that ``accept_offer`` does not wait
        for the TURN allocation (what ``iceCandidatePoolSize`` does in browsers).

        aiortc gives an offered audio or video section to a transceiver of that kind that has
        no mid yet (webrtc-pc §4.4.1.5), so these transceivers and their transport are the
        ones the answer uses.
        """
        if self._prepared is not None:
            return
        self._add_sources()
        transports = {t.receiver.transport.transport for t in self.pc.getTransceivers()}
        gathering = asyncio.gather(*(t.iceGatherer.gather() for t in transports))
        self._prepared = asyncio.ensure_future(gathering)

    async def accept_offer(self, sdp: str) -> str:
        """Apply the remote offer, add the tracks (unless ``prepare_answer`` did), gather the
        candidates (or wait for the prepared gathering), return the SDP answer."""
        if self._prepared is not None:
            await self._prepared  # a second gather() meanwhile would return at once, empty
        await self._set_remote(RTCSessionDescription(sdp=sdp, type="offer"))
        if self._prepared is None:
            self._add_sources()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def accept_answer(self, sdp: str) -> None:
        """Apply the remote answer to a local offer (starts ICE checks)."""
        await self._set_remote(RTCSessionDescription(sdp=sdp, type="answer"))

    async def _set_remote(self, description: RTCSessionDescription) -> None:
        await self.pc.setRemoteDescription(description)
        self._remote_set = True
        pending, self._pending_candidates = self._pending_candidates, []
        for candidate in pending:
            await self.pc.addIceCandidate(candidate)

    def local_candidates(self) -> list[dict[str, Any]]:
        """The local candidates (relay only) as signaling payloads; [] before negotiation.

        aiortc gathers every candidate during ``setLocalDescription`` and also embeds them in
        the SDP; the probe still trickles them as ``ice-candidate`` events, as the protocol
        says, followed by end-of-candidates (``None``).
        """
        if self.pc.localDescription is None:
            return []
        return sdp_candidates(self.pc.localDescription.sdp)

    async def add_remote_candidate(self, payload: Mapping[str, Any] | None) -> None:
        """Apply a received ``ice-candidate`` payload (``None`` = end-of-candidates).

        Candidates that arrive before the remote description are kept and applied after it.
        """
        candidate = candidate_from_signaling(payload)
        if not self._remote_set:
            self._pending_candidates.append(candidate)
            return
        await self.pc.addIceCandidate(candidate)

    # ---- waiting ------------------------------------------------------------------------

    async def _wait_until(self, predicate, timeout_s: float, what: str) -> None:
        async def loop() -> None:
            while not predicate():
                if self.pc.iceConnectionState == "failed":
                    raise PeerError(f"{self.name}: ICE failed while waiting for {what}")
                if self.pc.connectionState == "closed":
                    raise PeerError(f"{self.name}: connection closed while waiting for {what}")
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(loop(), timeout_s)
        except TimeoutError as exc:
            raise PeerError(
                f"{self.name}: timed out after {timeout_s:g} s waiting for {what}"
            ) from exc

    async def wait_ice_connected(self, timeout_s: float) -> float:
        """Wait until ICE is ``completed``; return the monotonic time it happened (seconds)."""
        await self._wait_until(
            lambda: self.ice_connected_at is not None, timeout_s, "ICE connected"
        )
        assert self.ice_connected_at is not None
        return self.ice_connected_at

    async def wait_connected(self, timeout_s: float) -> None:
        """Wait until the peer connection is ``connected`` (ICE and DTLS, webrtc-pc §4.4.3)."""
        await self._wait_until(
            lambda: self.pc.connectionState == "connected", timeout_s, "DTLS connected"
        )

    async def wait_media(
        self, *, min_video: int, min_audio: int, min_messages: int, timeout_s: float
    ) -> MediaCounts:
        """Wait until at least the given numbers of decoded video/audio frames and data-channel
        messages arrived; raise ``PeerError`` naming what is short at the deadline."""

        def enough() -> bool:
            c = self.counts
            return (
                c.video_frames >= min_video
                and c.audio_frames >= min_audio
                and len(c.data_messages) >= min_messages
            )

        try:
            await self._wait_until(enough, timeout_s, "media")
        except PeerError as exc:
            c = self.counts
            raise PeerError(
                f"{exc}: got {c.video_frames}/{min_video} video frames, "
                f"{c.audio_frames}/{min_audio} audio frames, "
                f"{len(c.data_messages)}/{min_messages} data-channel messages"
            ) from None
        return self.counts

    # ---- inspection ---------------------------------------------------------------------

    def _ice_transport(self) -> RTCIceTransport | None:
        if self.pc.sctp is not None:
            return self.pc.sctp.transport.transport
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.transport is not None:
                return transceiver.receiver.transport.transport
        return None

    def selected_pair(self) -> CandidatePairInfo | None:
        """The nominated candidate pair of the (bundled) ICE transport, or None if none yet.

        aiortc exposes no candidate-pair stats, so this reads aioice's ``Connection``
        (``RTCIceTransport._connection._nominated``, component 1 = RTP, RFC 8445 §8.1.1).
        """
        transport = self._ice_transport()
        connection = getattr(transport, "_connection", None)
        nominated = getattr(connection, "_nominated", None) or {}
        pair = nominated.get(1) or next(iter(nominated.values()), None)
        if pair is None:
            return None
        local, remote = pair.local_candidate, pair.remote_candidate
        return CandidatePairInfo(
            local_type=local.type,
            remote_type=remote.type,
            local_address=f"{local.host}:{local.port}",
            remote_address=f"{remote.host}:{remote.port}",
            protocol=local.transport,
        )

    # ---- internals ----------------------------------------------------------------------

    def _use_channel(self, channel: RTCDataChannel) -> None:
        self._channel = channel

        @channel.on("message")
        def _on_message(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode(errors="replace")
            self.counts.data_messages.append(text)
            if self.first_message_at is None:
                self.first_message_at = time.monotonic()
            self._changed.set()

        if channel.readyState == "open":
            channel.send(self._greeting)
        else:
            channel.on("open", lambda: channel.send(self._greeting))

    async def _count_frames(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                self.counts.video_frames += 1
            elif track.kind == "audio":
                self.counts.audio_frames += 1
            self._changed.set()

    async def close(self) -> None:
        """Stop the sources and receivers and close the connection; safe to call twice."""
        if self._prepared is not None and not self._prepared.done():
            self._prepared.cancel()
            await asyncio.gather(self._prepared, return_exceptions=True)
        for track in self._sources:
            track.stop()
        try:
            await asyncio.wait_for(self.pc.close(), 10)
        except (TimeoutError, Exception):  # noqa: BLE001 - cleanup must not raise
            logger.warning("%s: closing the peer connection failed", self.name, exc_info=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
