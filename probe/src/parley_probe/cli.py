"""Command line: ``python -m parley_probe [--base-url URL] [options]``.

Progress goes to stderr, one line per step. The LAST line of stdout is one JSON object (see
``ProbeResult.summary``). Exit status: 0 when every step passed, 1 when a step failed (stderr's
last line names it), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from parley_probe.result import ProbeResult
from parley_probe.run import ProbeOptions, run_probe

DEFAULT_BASE_URL = "http://127.0.0.1:18000"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line; durations are seconds."""
    parser = argparse.ArgumentParser(
        prog="python -m parley_probe",
        description="Synthetic two-party WebRTC call through a Parley deployment.",
    )
    parser.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help=f"platform entry point (default {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--step-timeout", type=float, default=15.0, help="seconds per HTTP/signaling step"
    )
    parser.add_argument(
        "--ice-timeout", type=float, default=20.0, help="seconds for ICE to connect"
    )
    parser.add_argument(
        "--media-timeout", type=float, default=20.0, help="seconds to receive the frames"
    )
    parser.add_argument(
        "--chat-timeout", type=float, default=10.0, help="seconds for live chat delivery"
    )
    parser.add_argument(
        "--min-video-frames",
        type=int,
        default=30,
        help="decoded video frames each peer must receive",
    )
    parser.add_argument(
        "--min-audio-frames",
        type=int,
        default=50,
        help="decoded audio frames each peer must receive",
    )
    parser.add_argument(
        "--replica-attempts",
        type=int,
        default=8,
        help="fresh guest connections tried to reach another replica",
    )
    parser.add_argument(
        "--email-domain",
        default="probe.parley.example.com",
        help="domain of the two fresh accounts' e-mail addresses",
    )
    parser.add_argument(
        "--transports",
        default="websocket",
        help="Engine.IO transports of the sockets, comma-separated, in order (default "
        "websocket; socket.io's own default is polling,websocket)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log aiortc/aioice/socket.io details on stderr"
    )
    args = parser.parse_args(argv)
    for name in ("step_timeout", "ice_timeout", "media_timeout", "chat_timeout"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.replica_attempts < 1 or args.min_video_frames < 1 or args.min_audio_frames < 1:
        parser.error("--replica-attempts and --min-*-frames must be at least 1")
    return args


def options_from(args: argparse.Namespace) -> ProbeOptions:
    """Build ``ProbeOptions`` from parsed arguments."""
    return ProbeOptions(
        base_url=args.base_url.rstrip("/"),
        step_timeout_s=args.step_timeout,
        ice_timeout_s=args.ice_timeout,
        media_timeout_s=args.media_timeout,
        chat_timeout_s=args.chat_timeout,
        min_video_frames=args.min_video_frames,
        min_audio_frames=args.min_audio_frames,
        replica_attempts=args.replica_attempts,
        email_domain=args.email_domain,
        transports=tuple(args.transports.split(",")),
    )


def report(result: ProbeResult) -> int:
    """Print the JSON summary as stdout's last line and the verdict on stderr; return the
    exit status (0 ok, 1 failed)."""
    print(result.to_json(), flush=True)
    if result.ok:
        print("[probe] OK", file=sys.stderr, flush=True)
        return 0
    print(
        f"[probe] FAILED at step {result.failed_step}: {result.error}", file=sys.stderr, flush=True
    )
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m parley_probe``; returns the exit status."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    result = asyncio.run(run_probe(options_from(args)))
    return report(result)
