"""The synthetic two-party call, step by step, through the public contracts only.

Steps (each timed and bounded; the first failure ends the run and names the step):
``register`` → ``login`` → ``create_meeting`` → ``join_meeting`` → ``signaling_connect`` →
``distinct_replicas`` → ``turn_credentials`` → ``signaling_join`` → ``offer_answer`` →
``ice_connected`` → ``media`` → ``chat_live`` → ``chat_history`` → ``end_meeting`` →
``meeting_ended``. Clean-up (peer connections, sockets, HTTP clients, and ending a meeting the
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
from typing import Any, TextIO

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
    """

    base_url: str
    step_timeout_s: float = 15.0
    ice_timeout_s: float = 20.0
    media_timeout_s: float = 20.0
    chat_timeout_s: float = 10.0
    min_video_frames: int = 30
    min_audio_frames: int = 50
    replica_attempts: int = 8
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
        assert self.socket is not None
        return self.socket.sid


async def _send_candidates(me: Participant, to_sid: str, meeting_id: str, timeout_s: float) -> None:
    """Trickle my local candidates to ``to_sid`` as ``ice-candidate`` events, then ``null``."""
    assert me.socket is not None and me.peer is not None
    for candidate in [*me.peer.local_candidates(), None]:
        await me.socket.request(
            "ice-candidate", {"meeting_id": meeting_id, "to": to_sid, "candidate": candidate}, timeout_s
        )


async def _pump_candidates(me: Participant, from_sid: str, progress: Progress) -> None:
    """Feed every ``ice-candidate`` from ``from_sid`` to my peer until cancelled."""
    assert me.socket is not None and me.peer is not None
    async for received in me.socket.stream("ice-candidate"):
        data = received.data if isinstance(received.data, dict) else {}
        if data.get("from") != from_sid:
            continue
        try:
            await me.peer.add_remote_candidate(data.get("candidate"))
        except Exception as exc:  # noqa: BLE001 - a bad candidate must not kill the pump
            progress.note(f"{me.role}: ignoring ICE candidate {data.get('candidate')!r}: {exc}")


def _ok_payload(data: Any, sid: str) -> bool:
    return isinstance(data, dict) and data.get("from") == sid


async def run_probe(options: ProbeOptions, stream: TextIO | None = None) -> ProbeResult:
    """Run the whole scenario once against ``options.base_url``, progress lines going to
    ``stream`` (stderr by default). Never raises for a failed step: the returned
    ``ProbeResult`` then has ``ok`` false, ``failed_step`` and ``error``."""
    result = ProbeResult()
    progress = Progress(result, stream)
    run_id = uuid.uuid4().hex[:12]
    password = secrets.token_urlsafe(18)
    step_t = options.step_timeout_s
    host = Participant(
        "host", ApiClient(options.base_url, timeout_s=step_t),
        f"probe-host-{run_id}@{options.email_domain}", f"Probe host {run_id}",
    )
    guest = Participant(
        "guest", ApiClient(options.base_url, timeout_s=step_t),
        f"probe-guest-{run_id}@{options.email_domain}", f"Probe guest {run_id}",
    )
    pumps: list[asyncio.Task[None]] = []
    meeting_id: str | None = None
    ended = False
    progress.note(f"run {run_id} against {options.base_url}")
    try:
        async with progress.step("register", step_t):
            await asyncio.gather(
                *(p.api.register(p.email, p.display_name, password) for p in (host, guest))
            )
        async with progress.step("login", step_t):
            await asyncio.gather(*(p.api.login(p.email, password) for p in (host, guest)))

        async with progress.step("create_meeting", step_t):
            meeting = await host.api.create_meeting(f"Parley probe {run_id}")
            meeting_id = str(meeting["meeting_id"])
            result.meeting_id = meeting_id

        join_started = time.monotonic()
        async with progress.step("join_meeting", step_t):
            for p in (host, guest):
                joined = await p.api.join_meeting(meeting_id)
                if (joined.get("meeting") or {}).get("status") != "active":
                    raise RuntimeError(f"{p.role} joined a meeting that is not active: {joined!r}")

        async with progress.step("signaling_connect", step_t):
            host.socket = SignalingClient("host", options.base_url, host.api.access_token or "")
            await host.socket.connect(step_t)

        async with progress.step("distinct_replicas", step_t * options.replica_attempts):
            for attempt in range(1, options.replica_attempts + 1):
                result.replica_attempts = attempt
                # A new client has a new cookie jar: the sticky cookie cannot pin it.
                guest.socket = SignalingClient("guest", options.base_url, guest.api.access_token or "")
                await guest.socket.connect(step_t)
                if guest.socket.replica_id != host.socket.replica_id:
                    break
                progress.note(
                    f"guest landed on the host's replica {host.socket.replica_id!r} "
                    f"(attempt {attempt}/{options.replica_attempts}); reconnecting with a fresh cookie jar"
                )
                await guest.socket.close()
                guest.socket = None
            else:
                raise RuntimeError(
                    f"after {options.replica_attempts} fresh connections the guest always landed "
                    f"on the host's signaling replica {host.socket.replica_id!r}"
                )
            result.signaling_replicas = [host.socket.replica_id, guest.socket.replica_id]

        async with progress.step("turn_credentials", step_t):
            host_creds, guest_creds = await asyncio.gather(
                host.api.turn_credentials(), guest.api.turn_credentials()
            )
            host.peer = ProbePeer("host", relay_only_configuration(build_ice_servers(host_creds)))
            guest.peer = ProbePeer("guest", relay_only_configuration(build_ice_servers(guest_creds)))

        async with progress.step("signaling_join", step_t):
            await host.socket.request("join", {"meeting_id": meeting_id}, step_t)
            pumps = [
                asyncio.create_task(_pump_candidates(host, guest.sid, progress)),
                asyncio.create_task(_pump_candidates(guest, host.sid, progress)),
            ]
            guest_join = await guest.socket.request("join", {"meeting_id": meeting_id}, step_t)
            peers = guest_join.get("peers") or []
            if not any(isinstance(p, dict) and p.get("sid") == host.sid for p in peers):
                raise RuntimeError(f"guest's join ack does not list the host's sid {host.sid}: {peers!r}")
            await host.socket.wait_for(
                "peer-joined", lambda d: isinstance(d, dict) and d.get("sid") == guest.sid, timeout_s=step_t
            )

        negotiation_started = time.monotonic()
        async with progress.step("offer_answer", step_t):
            # docs/signaling.md: the peer already in the room offers to the newcomer.
            offer = await host.peer.create_offer()
            await host.socket.request(
                "offer", {"meeting_id": meeting_id, "to": guest.sid, "sdp": offer}, step_t
            )
            await _send_candidates(host, guest.sid, meeting_id, step_t)
            got_offer = await guest.socket.wait_for(
                "offer", lambda d: _ok_payload(d, host.sid), timeout_s=step_t
            )
            answer = await guest.peer.accept_offer(got_offer.data["sdp"])
            await guest.socket.request(
                "answer", {"meeting_id": meeting_id, "to": got_offer.data["from"], "sdp": answer}, step_t
            )
            await _send_candidates(guest, host.sid, meeting_id, step_t)
            got_answer = await host.socket.wait_for(
                "answer", lambda d: _ok_payload(d, guest.sid), timeout_s=step_t
            )
            await host.peer.accept_answer(got_answer.data["sdp"])

        async with progress.step("ice_connected", options.ice_timeout_s):
            connected = await asyncio.gather(
                host.peer.wait_ice_connected(options.ice_timeout_s),
                guest.peer.wait_ice_connected(options.ice_timeout_s),
            )
            result.call_setup_ms = ms_between(join_started, max(connected))
            result.negotiation_ms = ms_between(negotiation_started, max(connected))
            for p in (host, guest):
                pair = p.peer.selected_pair()
                if pair is None:
                    raise RuntimeError(f"{p.role}: ICE completed but no nominated pair is visible")
                result.ice_candidate_pairs[p.role] = pair.as_dict()
            result.ice_candidate_pair = result.ice_candidate_pairs["host"]
            not_relay = [
                f"{role} {pair['local']}" for role, pair in result.ice_candidate_pairs.items()
                if pair["local"] != "relay"
            ]
            if not_relay:
                raise RuntimeError(f"selected pair is not relayed: {', '.join(not_relay)}")

        async with progress.step("media", options.media_timeout_s):
            await asyncio.gather(
                *(
                    p.peer.wait_media(
                        min_video=options.min_video_frames,
                        min_audio=options.min_audio_frames,
                        min_messages=1,
                        timeout_s=options.media_timeout_s,
                    )
                    for p in (host, guest)
                )
            )

        async with progress.step("chat_live", options.chat_timeout_s):
            message_id = f"probe-{run_id}-{uuid.uuid4().hex[:12]}"
            posted = time.monotonic()
            await host.api.post_chat(meeting_id, message_id, f"probe chat {run_id}")
            delivered = await guest.socket.wait_for(
                "chat-message",
                lambda d: isinstance(d, dict) and d.get("message_id") == message_id,
                timeout_s=options.chat_timeout_s,
            )
            result.chat_delivered_ms = ms_between(posted, delivered.at)

        async with progress.step("chat_history", step_t):
            history = await guest.api.chat_history(meeting_id)
            if not any(m.get("message_id") == message_id for m in history.get("messages") or []):
                raise RuntimeError(f"message {message_id} is not in the guest's chat history")
            result.chat_in_history = True

        async with progress.step("end_meeting", step_t):
            ended_meeting = await host.api.end_meeting(meeting_id)
            ended = True
            if ended_meeting.get("status") != "ended":
                raise RuntimeError(f"end answered status {ended_meeting.get('status')!r}")

        async with progress.step("meeting_ended", step_t):
            await asyncio.gather(
                *(
                    p.socket.wait_for(
                        "meeting-ended",
                        lambda d: isinstance(d, dict) and d.get("meeting_id") == meeting_id,
                        timeout_s=step_t,
                    )
                    for p in (host, guest)
                )
            )
            result.meeting_ended_delivered = True
        result.ok = True
    except StepFailed as exc:
        result.failed_step, result.error = exc.step, exc.error
    except Exception as exc:  # a bug in the probe itself: still report, still clean up
        logger.exception("probe crashed")
        result.failed_step, result.error = "internal", f"{type(exc).__name__}: {exc}"
    finally:
        for p in (host, guest):
            if p.peer is not None:
                counts = p.peer.counts
                result.frames_by_peer[p.role] = {"video": counts.video_frames, "audio": counts.audio_frames}
                result.data_channel_messages[p.role] = len(counts.data_messages)
        await _clean_up(host, guest, pumps, meeting_id if not ended else None, progress)
    return result


async def _clean_up(
    host: Participant,
    guest: Participant,
    pumps: list[asyncio.Task[None]],
    active_meeting_id: str | None,
    progress: Progress,
) -> None:
    """Cancel the candidate pumps, close peers and sockets, end a meeting left active (best
    effort, so failed runs do not leave live meetings behind), close the HTTP clients."""
    for task in pumps:
        task.cancel()
    await asyncio.gather(*pumps, return_exceptions=True)
    await asyncio.gather(*(p.peer.close() for p in (host, guest) if p.peer is not None))
    await asyncio.gather(*(p.socket.close() for p in (host, guest) if p.socket is not None))
    if active_meeting_id is not None and host.api.access_token:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(host.api.end_meeting(active_meeting_id), 5)
            progress.note(f"clean-up: ended meeting {active_meeting_id}")
    await asyncio.gather(host.api.aclose(), guest.api.aclose())
