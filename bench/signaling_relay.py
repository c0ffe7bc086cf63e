"""Signaling relay benchmark: ICE candidates relayed between two signaling replicas.

Two fresh participants (set up by the probe's own phases: register, sign in, create and join a
meeting, connect through Traefik until they sit on different signaling replicas, join the room)
then the host sends ``--messages`` ``ice-candidate`` events to the guest at ``--rate`` per
second, open loop (each is sent on schedule, whether or not the previous one arrived). Every
relay crosses replicas, so it goes through the Kafka fan-out topic.

Measured per message, in milliseconds: ``relay_ms`` (send → the guest's ``ice-candidate``
arrives) and ``ack_ms`` (send → the host's acknowledgement). The last line of stdout is one
JSON object: ``{"benchmark": "signaling_relay", "base_url", "signaling_replicas", "messages",
"rate_per_s", "delivered", "lost", "out_of_order", "relay_ms": {"min", "p50", "p95", "p99",
"max", "mean"}, "ack_ms": {...}}``. Exits 1 when a message was lost or the set-up failed.

Usage (with ``./taskw up`` running): ``./taskw bench:relay`` or
``.venv/bin/python bench/signaling_relay.py --messages 500 --rate 40``. Keep ``--rate`` under
the signaling rate limit (``PARLEY_SIGNALING_RATE_PER_SECOND``, default 50).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
from collections.abc import Sequence

from parley_probe.cli import DEFAULT_BASE_URL
from parley_probe.result import Progress, ProbeResult, StepFailed
from parley_probe.run import ProbeOptions, Scenario
from parley_probe.signaling import SignalingClient

from percentiles import distribution

DRAIN_S = 10.0


def candidate(seq: int) -> dict:
    """An RFC 8839 host candidate whose foundation is ``seq`` (TEST-NET-1 address, RFC 5737)."""
    return {
        "candidate": f"candidate:{seq} 1 udp 2122260223 192.0.2.1 {10000 + seq % 50000} typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    }


def seq_of(data: object) -> int | None:
    """The foundation of a relayed ``ice-candidate`` payload, or None for any other payload."""
    try:
        return int(data["candidate"]["candidate"].split()[0].removeprefix("candidate:"))  # type: ignore[index]
    except (TypeError, KeyError, ValueError, IndexError, AttributeError):
        return None


async def relay(host: SignalingClient, guest: SignalingClient, meeting_id: str, messages: int, rate: float) -> dict:
    """Send ``messages`` candidates host → guest at ``rate`` per second; return the figures."""
    sent_at: dict[int, float] = {}
    ack_ms: list[float] = []
    errors: list[str] = []

    async def send(seq: int) -> None:
        sent_at[seq] = time.monotonic()
        try:
            await host.request(
                "ice-candidate", {"meeting_id": meeting_id, "to": guest.sid, "candidate": candidate(seq)}, 10.0
            )
            ack_ms.append(round((time.monotonic() - sent_at[seq]) * 1000, 2))
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors.append(f"{seq}: {exc}")

    start = time.monotonic()
    tasks = []
    for seq in range(messages):
        await asyncio.sleep(max(0.0, start + seq / rate - time.monotonic()))
        tasks.append(asyncio.create_task(send(seq)))
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline and len(arrivals(guest, host.sid)) < messages:
        await asyncio.sleep(0.05)
    arrived = arrivals(guest, host.sid)
    order = [seq for seq, _ in arrived]
    return {
        "delivered": len(arrived),
        "lost": messages - len(set(order)),
        "out_of_order": sum(1 for a, b in zip(order, order[1:]) if b < a),
        "errors": errors[:10],
        "relay_ms": distribution([round((at - sent_at[seq]) * 1000, 2) for seq, at in arrived if seq in sent_at]),
        "ack_ms": distribution(ack_ms),
    }


def arrivals(guest: SignalingClient, from_sid: str) -> list[tuple[int, float]]:
    """(seq, monotonic arrival time) of every benchmark candidate the guest received."""
    out = []
    for received in guest.received("ice-candidate"):
        seq = seq_of(received.data)
        if seq is not None and isinstance(received.data, dict) and received.data.get("from") == from_sid:
            out.append((seq, received.at))
    return out


async def bench(base_url: str, messages: int, rate: float) -> dict:
    """Set up the two participants with the probe's phases, run :func:`relay`, clean up."""
    scenario = Scenario(ProbeOptions(base_url=base_url), Progress(ProbeResult(), io.StringIO()))
    try:
        await scenario.accounts()
        await scenario.meeting()
        await scenario.signaling()
        print(f"[bench] host on {scenario.host.socket.replica_id}, guest on {scenario.guest.socket.replica_id}; "
              f"sending {messages} candidates at {rate:g}/s", file=sys.stderr, flush=True)
        figures = await relay(scenario.host.socket, scenario.guest.socket, scenario.meeting_id, messages, rate)
    finally:
        await scenario.clean_up()
    return {
        "benchmark": "signaling_relay",
        "base_url": base_url,
        "signaling_replicas": scenario.result.signaling_replicas,
        "messages": messages,
        "rate_per_s": rate,
        **figures,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/signaling_relay.py", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="the stack's entry point (Traefik)")
    parser.add_argument("--messages", type=int, default=500, help="candidates to relay (default 500)")
    parser.add_argument("--rate", type=float, default=40.0, help="messages per second (default 40)")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.rate <= 0:
        parser.error("--messages must be at least 1 and --rate positive")
    try:
        summary = asyncio.run(bench(args.base_url.rstrip("/"), args.messages, args.rate))
    except StepFailed as exc:
        print(f"[bench] set-up failed at {exc.step}: {exc.error}", file=sys.stderr)
        return 1
    print(json.dumps(summary), flush=True)
    return 1 if summary["lost"] or summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
