"""The probe's outcome (one JSON object) and its step-by-step progress on stderr."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO


class StepFailed(RuntimeError):
    """A scenario step failed; ``step`` names it (e.g. ``distinct_replicas``)."""

    def __init__(self, step: str, error: str) -> None:
        self.step, self.error = step, error
        super().__init__(f"{step}: {error}")


@dataclass
class ProbeResult:
    """Everything the probe measured; ``summary()`` is the JSON object printed last.

    Units: every ``*_ms`` is milliseconds (float, 1 decimal). Frame counts are decoded frames.
    ``call_setup_ms``: the host's REST join → ICE connected on both peers; ``negotiation_ms``:
    sending the offer → ICE connected on both; ``first_data_ms``: sending the offer → each
    peer received the other's first data-channel message (ICE, DTLS, SCTP, channel open).
    ``steps_ms``: each step's own duration; steps that run at once overlap (see run.py).
    """

    ok: bool = False
    call_setup_ms: float | None = None
    negotiation_ms: float | None = None
    first_data_ms: float | None = None
    ice_candidate_pair: dict[str, str] | None = None
    ice_candidate_pairs: dict[str, dict[str, str]] = field(default_factory=dict)
    signaling_replicas: list[str] = field(default_factory=list)
    replica_attempts: int = 0
    frames_by_peer: dict[str, dict[str, int]] = field(default_factory=dict)
    data_channel_messages: dict[str, int] = field(default_factory=dict)
    chat_delivered_ms: float | None = None
    chat_in_history: bool = False
    meeting_ended_delivered: bool = False
    meeting_id: str | None = None
    steps_ms: dict[str, float] = field(default_factory=dict)
    failed_step: str | None = None
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON-ready summary.

        ``{"ok", "call_setup_ms", "negotiation_ms", "first_data_ms", "ice_candidate_pair":
        {"local", "remote",
        ...} (the host's nominated pair), "ice_candidate_pairs": {"host", "guest"},
        "signaling_replicas": [host, guest], "replica_attempts", "video_frames_received",
        "audio_frames_received" (sums over both peers), "frames_by_peer": {"host": {"video",
        "audio"}, "guest": {...}}, "data_channel_messages", "chat_delivered_ms",
        "chat_in_history", "meeting_ended_delivered", "meeting_id", "steps_ms"}`` plus
        ``"failed_step"`` and ``"error"`` when ``ok`` is false.
        """
        out: dict[str, Any] = {
            "ok": self.ok,
            "call_setup_ms": self.call_setup_ms,
            "negotiation_ms": self.negotiation_ms,
            "first_data_ms": self.first_data_ms,
            "ice_candidate_pair": self.ice_candidate_pair,
            "ice_candidate_pairs": self.ice_candidate_pairs,
            "signaling_replicas": self.signaling_replicas,
            "replica_attempts": self.replica_attempts,
            "video_frames_received": sum(p.get("video", 0) for p in self.frames_by_peer.values()),
            "audio_frames_received": sum(p.get("audio", 0) for p in self.frames_by_peer.values()),
            "frames_by_peer": self.frames_by_peer,
            "data_channel_messages": self.data_channel_messages,
            "chat_delivered_ms": self.chat_delivered_ms,
            "chat_in_history": self.chat_in_history,
            "meeting_ended_delivered": self.meeting_ended_delivered,
            "meeting_id": self.meeting_id,
            "steps_ms": self.steps_ms,
        }
        if not self.ok:
            out["failed_step"] = self.failed_step
            out["error"] = self.error
        return out

    def to_json(self) -> str:
        """``summary()`` as one line of JSON."""
        return json.dumps(self.summary(), separators=(",", ":"), sort_keys=False)


def ms_between(start: float, end: float) -> float:
    """Milliseconds between two ``time.monotonic()`` readings, rounded to 0.1 ms."""
    return round((end - start) * 1000.0, 1)


class Progress:
    """Times named steps and prints one line per step on ``stream`` (stderr by default):
    ``[probe] <step> ok <ms> ms (t=<ms since start>)`` or ``... FAILED ...: <error>``."""

    def __init__(self, result: ProbeResult, stream: TextIO | None = None) -> None:
        self.result = result
        self.stream = stream or sys.stderr
        self.started = time.monotonic()

    def note(self, text: str) -> None:
        """Print a free-form progress line."""
        print(f"[probe] {text}", file=self.stream, flush=True)

    @asynccontextmanager
    async def step(self, name: str, timeout_s: float) -> AsyncIterator[None]:
        """Time the block as step ``name``, bounded by ``timeout_s`` seconds; any exception
        (a timeout included) becomes ``StepFailed(name, message)``."""
        begin = time.monotonic()
        try:
            async with asyncio.timeout(timeout_s):
                yield
        except StepFailed:
            raise
        except Exception as exc:
            elapsed = ms_between(begin, time.monotonic())
            if isinstance(exc, TimeoutError) and not str(exc):
                message = f"timed out after {timeout_s:g} s"
            else:
                message = str(exc) or type(exc).__name__
            self.note(f"{name} FAILED after {elapsed} ms: {message}")
            raise StepFailed(name, message) from exc
        elapsed = ms_between(begin, time.monotonic())
        self.result.steps_ms[name] = elapsed
        self.note(f"{name} ok {elapsed} ms (t={ms_between(self.started, time.monotonic())} ms)")
