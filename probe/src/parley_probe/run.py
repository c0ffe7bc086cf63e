"""The synthetic two-party call, step by step, through the public contracts only.

Steps (each timed and bounded; the first failure ends the run and names the step):
``register`` → ``login`` → ``create_meeting`` → [``join_meeting`` (both at once)] beside
[``signaling_connect`` (both at once) → ``distinct_replicas``] beside [``turn_credentials`` →
``gather_offer``] → ``signaling_join`` → ``offer_answer`` (host and guest sides at once) →
``ice_connected`` → ``dtls_connected`` → ``data_channel`` → ``media`` → ``chat_live`` →
``chat_history`` → ``end_meeting`` → ``meeting_ended``. Steps in brackets run beside each
other, as a client does what does not depend on the other (their ``steps_ms`` overlap).
Clean-up (peer connections, sockets, HTTP clients, background tasks, and ending a meeting the
run left active) always happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import TextIO

from parley_probe.api import ApiClient
from parley_probe.peer import ProbePeer, build_ice_servers, relay_only_configuration
from parley_probe.result import Progress, ProbeResult, StepFailed, ms_between
from parley_probe.signaling import SignalingClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeOptions:
    """How to run the probe. Every duration is in seconds.

    ``base_url``: the platform entry point (Traefik). ``step_timeout_s`` bounds each HTTP or
    signaling step; ``ice_timeout_s`` ICE connectivity; ``media_timeout_s`` waiting for
    ``min_video_frames``/``min_audio_frames`` decoded frames and one data-channel message *per
    peer*; ``chat_timeout_s`` live chat delivery. ``replica_attempts`` bounds how many fresh
    guest connections are tried to land on a replica other than the host's. ``email_domain``
    is the domain of the two fresh accounts' addresses (unique local parts per run).
    ``transports`` are the sockets' Engine.IO transports, in order.
    """

    base_url: str
    step_timeout_s: float = 15.0
    ice_timeout_s: float = 20.0
    media_timeout_s: float = 20.0
    chat_timeout_s: float = 10.0
    min_video_frames: int = 30
    min_audio_frames: int = 50
    replica_attempts: int = 8
    #: Engine.IO transports of the sockets, in order: WebSocket only (one connection, what
    #: docs/signaling.md offers clients), or ("polling", "websocket") like socket.io's default
    transports: tuple[str, ...] = ("websocket",)
    # RFC 2606 reserves example.com; auth's validator refuses special-use names like .test
    email_domain: str = "probe.parley.example.com"


@dataclass
class Participant:
    """One side of the call: its API client, socket and peer (None until created)."""

    role: str
    api: ApiClient
    email: str
    display_name: str
    socket: SignalingClient | None = None
    peer: ProbePeer | None = None

    @property
    def sid(self) -> str:
        """This participant's socket id (after ``signaling_connect``)."""
        assert self.socket is not None
        return self.socket.sid


async def _concurrently(*coroutines) -> None:
    """Run ``coroutines`` at once; the first failure cancels the others and is raised as it
    is (a ``StepFailed`` stays one, so the run names the step that failed)."""
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in coroutines:
                group.create_task(coroutine)
    except BaseExceptionGroup as group_error:
        raise group_error.exceptions[0] from None


def _from(sid: str):
    """Predicate: a relayed payload whose ``from`` is ``sid``."""
    return lambda data: isinstance(data, dict) and data.get("from") == sid


def _about(meeting_id: str):
    """Predicate: a payload whose ``meeting_id`` is ``meeting_id``."""
    return lambda data: isinstance(data, dict) and data.get("meeting_id") == meeting_id


class Scenario:
    """One run: the two participants, the meeting, and what has been measured so far.

    Each phase method below runs one or more named steps in order; ``run()`` chains them.
    Participants' sockets and peers are only used after the phase that creates them.
    """

    def __init__(self, options: ProbeOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress
        self.result = progress.result
        self.run_id = uuid.uuid4().hex[:12]
        self.password = secrets.token_urlsafe(18)
        self.host = self._participant("host")
        self.guest = self._participant("guest")
        self.meeting_id = ""
        self.meeting_ended = False
        self.join_started = 0.0
        self._offer = ""
        self._pumps: list[asyncio.Task[None]] = []

    def _participant(self, role: str) -> Participant:
        return Participant(
            role,
            ApiClient(self.options.base_url, timeout_s=self.options.step_timeout_s),
            f"probe-{role}-{self.run_id}@{self.options.email_domain}",
            f"Probe {role} {self.run_id}",
        )

    @property
    def both(self) -> tuple[Participant, Participant]:
        return self.host, self.guest

    def step(self, name: str, timeout_s: float | None = None):
        """``Progress.step`` with the default step timeout."""
        return self.progress.step(name, timeout_s or self.options.step_timeout_s)

    async def run(self) -> None:
        """Every phase in order; raises ``StepFailed`` at the first failing step."""
        self.progress.note(f"run {self.run_id} against {self.options.base_url}")
        await self.accounts()
        await self.meeting()
        await self.signaling()
        await self.call()
        await self.chat()
        await self.end()
        self.result.ok = True

    # ---- phases -------------------------------------------------------------------------

    async def accounts(self) -> None:
        """``register`` and ``login`` both participants (fresh e-mail addresses per run)."""
        async with self.step("register"):
            await asyncio.gather(
                *(p.api.register(p.email, p.display_name, self.password) for p in self.both)
            )
        async with self.step("login"):
            await asyncio.gather(*(p.api.login(p.email, self.password) for p in self.both))

    async def meeting(self) -> None:
        """``create_meeting`` (host)."""
        async with self.step("create_meeting"):
            meeting = await self.host.api.create_meeting(f"Parley probe {self.run_id}")
            self.meeting_id = self.result.meeting_id = str(meeting["meeting_id"])

    async def signaling(self) -> None:
        """Three branches at once (call set-up starts with them), as a client does what does
        not depend on the other:

        - ``join_meeting``: host and guest at once (a meeting is active from its creation);
        - sockets: ``signaling_connect`` (both at once), then ``distinct_replicas`` (the guest
          reconnects with a fresh cookie jar while it shares the host's replica);
        - media: ``turn_credentials`` (both peers built), then ``gather_offer`` (the host's
          offer with its relay candidate: the TURN allocation, done before anyone joins; the
          guest starts its own allocation for its answer at the same time, see
          ``ProbePeer.prepare_answer``).

        Then ``signaling_join`` (host, then guest; the host sees ``peer-joined``), which needs
        the REST join (membership) and the sockets."""
        opts, host, guest = self.options, self.host, self.guest

        async def rest_join() -> None:
            async with self.step("join_meeting"):
                joined = await asyncio.gather(
                    *(p.api.join_meeting(self.meeting_id) for p in self.both)
                )
                for p, answer in zip(self.both, joined, strict=True):
                    if (answer.get("meeting") or {}).get("status") != "active":
                        raise RuntimeError(
                            f"{p.role} joined a meeting that is not active: {answer!r}"
                        )

        async def sockets() -> None:
            async with self.step("signaling_connect"):
                for p in self.both:
                    p.socket = SignalingClient(
                        p.role, opts.base_url, p.api.access_token or "", opts.transports
                    )
                await asyncio.gather(*(p.socket.connect(opts.step_timeout_s) for p in self.both))
            async with self.step("distinct_replicas", opts.step_timeout_s * opts.replica_attempts):
                await self._distinct_replicas()

        async def media() -> None:
            async with self.step("turn_credentials"):
                credentials = await asyncio.gather(*(p.api.turn_credentials() for p in self.both))
                for p, creds in zip(self.both, credentials, strict=True):
                    p.peer = ProbePeer(p.role, relay_only_configuration(build_ice_servers(creds)))
            async with self.step("gather_offer"):
                guest.peer.prepare_answer()
                self._offer = await host.peer.create_offer()

        self.join_started = time.monotonic()
        await _concurrently(rest_join(), sockets(), media())

        async with self.step("signaling_join"):
            join = {"meeting_id": self.meeting_id}
            await host.socket.request("join", join, opts.step_timeout_s)
            peers = (await guest.socket.request("join", join, opts.step_timeout_s)).get(
                "peers"
            ) or []
            if not any(isinstance(p, dict) and p.get("sid") == host.sid for p in peers):
                raise RuntimeError(
                    f"guest's join ack does not list the host's sid {host.sid}: {peers!r}"
                )
            await host.socket.wait_for(
                "peer-joined",
                lambda d: isinstance(d, dict) and d.get("sid") == guest.sid,
                timeout_s=opts.step_timeout_s,
            )

    async def _distinct_replicas(self) -> None:
        """Reconnect the guest with a fresh cookie jar until it is on another replica than the
        host (at most ``replica_attempts`` connections in all)."""
        opts, host, guest = self.options, self.host, self.guest
        for attempt in range(1, opts.replica_attempts + 1):
            self.result.replica_attempts = attempt
            if attempt > 1:
                guest.socket = SignalingClient(
                    "guest", opts.base_url, guest.api.access_token or "", opts.transports
                )
                await guest.socket.connect(opts.step_timeout_s)
            if guest.socket.replica_id != host.socket.replica_id:
                break
            self.progress.note(
                f"guest landed on the host's replica {host.socket.replica_id!r} (attempt "
                f"{attempt}/{opts.replica_attempts}); reconnecting with a fresh cookie jar"
            )
            await guest.socket.close()
        else:
            raise RuntimeError(
                f"after {opts.replica_attempts} fresh connections the guest always landed "
                f"on the host's signaling replica {host.socket.replica_id!r}"
            )
        self.result.signaling_replicas = [host.socket.replica_id, guest.socket.replica_id]

    async def call(self) -> None:
        """``offer_answer``: the host and the guest each run their side at once, as two
        clients would (host: send the offer made in ``gather_offer``, wait for the answer, apply
        it; guest: wait for the offer, gather and answer); both trickle their candidates in the
        background (aiortc also puts them in the SDP), each fed to the other's peer from here
        on. Then ``ice_connected`` (relay pair checked), ``dtls_connected`` (both peer
        connections ``connected``), ``data_channel`` (each peer got the other's data-channel
        message) and ``media`` (decoded frames)."""
        opts, host, guest, mid = self.options, self.host, self.guest, self.meeting_id
        self._pumps = [
            asyncio.create_task(self._pump_candidates(host, guest.sid)),
            asyncio.create_task(self._pump_candidates(guest, host.sid)),
        ]

        async def offerer() -> None:
            await host.socket.request(
                "offer", {"meeting_id": mid, "to": guest.sid, "sdp": self._offer},
                opts.step_timeout_s,
            )  # fmt: skip
            self._background(self._send_candidates(host, guest.sid))
            got_answer = await host.socket.wait_for(
                "answer", _from(guest.sid), timeout_s=opts.step_timeout_s
            )
            await host.peer.accept_answer(got_answer.data["sdp"])

        async def answerer() -> None:
            got_offer = await guest.socket.wait_for(
                "offer", _from(host.sid), timeout_s=opts.step_timeout_s
            )
            answer = await guest.peer.accept_offer(got_offer.data["sdp"])
            await guest.socket.request(
                "answer",
                {"meeting_id": mid, "to": got_offer.data["from"], "sdp": answer},
                opts.step_timeout_s,
            )
            self._background(self._send_candidates(guest, host.sid))

        negotiation_started = time.monotonic()
        async with self.step("offer_answer"):
            await _concurrently(offerer(), answerer())

        async with self.step("ice_connected", opts.ice_timeout_s):
            connected = await asyncio.gather(
                *(p.peer.wait_ice_connected(opts.ice_timeout_s) for p in self.both)
            )
            self.result.call_setup_ms = ms_between(self.join_started, max(connected))
            self.result.negotiation_ms = ms_between(negotiation_started, max(connected))
            pairs = self.result.ice_candidate_pairs
            for p in self.both:
                pair = p.peer.selected_pair()
                if pair is None:
                    raise RuntimeError(f"{p.role}: ICE completed but no nominated pair is visible")
                pairs[p.role] = pair.as_dict()
            self.result.ice_candidate_pair = pairs["host"]
            not_relayed = [
                f"{role} {pair['local']}"
                for role, pair in pairs.items()
                if pair["local"] != "relay"
            ]
            if not_relayed:
                raise RuntimeError(f"selected pair is not relayed: {', '.join(not_relayed)}")

        async with self.step("dtls_connected", opts.media_timeout_s):
            await asyncio.gather(
                *(p.peer.wait_connected(opts.media_timeout_s) for p in self.both)
            )
        async with self.step("data_channel", opts.media_timeout_s):
            await asyncio.gather(
                *(
                    p.peer.wait_media(
                        min_video=0, min_audio=0, min_messages=1, timeout_s=opts.media_timeout_s
                    )
                    for p in self.both
                )
            )
            self.result.first_data_ms = ms_between(
                negotiation_started, max(p.peer.first_message_at for p in self.both)
            )
        async with self.step("media", opts.media_timeout_s):
            await asyncio.gather(
                *(
                    p.peer.wait_media(
                        min_video=opts.min_video_frames,
                        min_audio=opts.min_audio_frames,
                        min_messages=1,
                        timeout_s=opts.media_timeout_s,
                    )
                    for p in self.both
                )
            )

    async def chat(self) -> None:
        """``chat_live`` (host posts, guest's socket receives ``chat-message``; the latency is
        measured from the POST to its arrival) and ``chat_history`` (guest finds it)."""
        opts = self.options
        message_id = f"probe-{self.run_id}-{uuid.uuid4().hex[:12]}"
        async with self.step("chat_live", opts.chat_timeout_s):
            posted = time.monotonic()
            await self.host.api.post_chat(self.meeting_id, message_id, f"probe chat {self.run_id}")
            delivered = await self.guest.socket.wait_for(
                "chat-message",
                lambda d: isinstance(d, dict) and d.get("message_id") == message_id,
                timeout_s=opts.chat_timeout_s,
            )
            self.result.chat_delivered_ms = ms_between(posted, delivered.at)

        async with self.step("chat_history"):
            history = await self.guest.api.chat_history(self.meeting_id)
            if not any(m.get("message_id") == message_id for m in history.get("messages") or []):
                raise RuntimeError(f"message {message_id} is not in the guest's chat history")
            self.result.chat_in_history = True

    async def end(self) -> None:
        """``end_meeting`` (host) and ``meeting_ended`` (both sockets receive it)."""
        async with self.step("end_meeting"):
            ended = await self.host.api.end_meeting(self.meeting_id)
            self.meeting_ended = True
            if ended.get("status") != "ended":
                raise RuntimeError(f"end answered status {ended.get('status')!r}")
        async with self.step("meeting_ended"):
            await asyncio.gather(
                *(
                    p.socket.wait_for(
                        "meeting-ended",
                        _about(self.meeting_id),
                        timeout_s=self.options.step_timeout_s,
                    )
                    for p in self.both
                )
            )
            self.result.meeting_ended_delivered = True

    # ---- candidates and clean-up --------------------------------------------------------

    def _background(self, coro) -> None:
        """Run ``coro`` beside the scenario; cancelled (like the pumps) at clean-up. A failure
        is noted, not raised: what it would have broken fails its own step."""

        async def guarded() -> None:
            try:
                await coro
            except Exception as exc:  # noqa: BLE001 - reported, the steps decide
                self.progress.note(f"background task failed: {type(exc).__name__}: {exc}")

        self._pumps.append(asyncio.create_task(guarded()))

    async def _send_candidates(self, me: Participant, to_sid: str) -> None:
        """Trickle my local candidates to ``to_sid`` as ``ice-candidate`` events, then ``null``."""
        for candidate in [*me.peer.local_candidates(), None]:
            payload = {"meeting_id": self.meeting_id, "to": to_sid, "candidate": candidate}
            await me.socket.request("ice-candidate", payload, self.options.step_timeout_s)

    async def _pump_candidates(self, me: Participant, from_sid: str) -> None:
        """Feed every ``ice-candidate`` from ``from_sid`` to my peer until cancelled."""
        async for received in me.socket.stream("ice-candidate"):
            data = received.data if isinstance(received.data, dict) else {}
            if data.get("from") != from_sid:
                continue
            try:
                await me.peer.add_remote_candidate(data.get("candidate"))
            except Exception as exc:  # noqa: BLE001 - a bad candidate must not kill the pump
                self.progress.note(
                    f"{me.role}: ignoring ICE candidate {data.get('candidate')!r}: {exc}"
                )

    def record_media(self) -> None:
        """Copy both peers' counters into the result (also after a failure)."""
        for p in self.both:
            if p.peer is not None:
                counts = p.peer.counts
                self.result.frames_by_peer[p.role] = {
                    "video": counts.video_frames,
                    "audio": counts.audio_frames,
                }
                self.result.data_channel_messages[p.role] = len(counts.data_messages)

    async def clean_up(self) -> None:
        """Cancel the candidate pumps, close peers and sockets, end the meeting if the run left
        it active (best effort, so failed runs leave no live meeting), close the HTTP clients."""
        for task in self._pumps:
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await asyncio.gather(*(p.peer.close() for p in self.both if p.peer is not None))
        await asyncio.gather(*(p.socket.close() for p in self.both if p.socket is not None))
        if self.meeting_id and not self.meeting_ended and self.host.api.access_token:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.host.api.end_meeting(self.meeting_id), 5)
                self.progress.note(f"clean-up: ended meeting {self.meeting_id}")
        await asyncio.gather(*(p.api.aclose() for p in self.both))


async def run_probe(options: ProbeOptions, stream: TextIO | None = None) -> ProbeResult:
    """Run the whole scenario once against ``options.base_url``, progress lines going to
    ``stream`` (stderr by default). Never raises for a failed step: the returned
    ``ProbeResult`` then has ``ok`` false, ``failed_step`` and ``error``; everything measured
    before the failure is kept."""
    progress = Progress(ProbeResult(), stream)
    scenario = Scenario(options, progress)
    try:
        await scenario.run()
    except StepFailed as exc:
        progress.result.failed_step, progress.result.error = exc.step, exc.error
    except Exception as exc:  # a bug in the probe itself: still report, still clean up
        logger.exception("probe crashed")
        progress.result.failed_step, progress.result.error = (
            "internal",
            f"{type(exc).__name__}: {exc}",
        )
    finally:
        scenario.record_media()
        await scenario.clean_up()
    return progress.result
