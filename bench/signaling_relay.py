"""Signaling relay benchmark: Parley on one replica, Parley across two replicas, and a plain Node
socket.io relay (the peer), under the same open-loop load, interleaved in one run.

Set-up: ``--pairs`` fresh users and ``2 * --pairs`` meetings, each joined by its host and one
other user (bench/participants.py; a set per Parley target, as a user has one participant per
room); the peer
(bench/peers/node-relay/server.mjs) is started on a free port. Then the load generator
(bench/loadgen/relay.mjs, Node over the official socket.io client) connects, for each target,
``--pairs`` host/guest socket pairs straight to the servers (no Traefik, for the peer
neither) over WebSocket and joins them to their room:

* ``parley-1``: host and guest on signaling-1 (the relay stays in the process);
* ``parley-2``: host on signaling-1, guest on signaling-2 (the relay crosses the Kafka fan-out);
* ``node``: host and guest on the peer (its own event names: ``join``, ``webrtc_ice_candidate``).
* on request (``--targets``), ``py-asgi`` and ``py-aiohttp``: host and guest on the same relay
  as the peer's written on bare python-socketio (bench/peers/bare_socketio.py, started like
  the peer) under uvicorn and under aiohttp: what python-socketio itself costs.

First each target gets a warm-up step of ``--warmup`` seconds at the highest rate, reported
apart (``warmup``): right after the set-up, meetings and the store are still digesting its
joins, and the first round measured that instead of the relay (bench/README.md). For each
round, each rate (``--rates``, messages per second over all pairs together) and each
target in turn, the hosts send ``ice-candidate`` events to their guests for ``--seconds``
seconds, open loop; latency runs from each message's due time to its arrival at the guest.
Parley's events carry an acknowledgement as docs/signaling.md requires; the peer's do not (the
app it stands for sends none). ``--no-ack`` sends Parley's without one too (the server then
answers nothing): what the acknowledgement frame costs. CPU per message is read from /proc for signaling-1,
signaling-2, Kafka and the peer.

The last line of stdout is one JSON object: ``{"benchmark": "signaling_relay", "load_average":
{"start", "end"}, "pairs", "seconds", "rounds", "rates", "parley_acks", "steps": [{"target", "rate_per_s",
"sent", "lost", "duplicates", "refused", "latency_ms": {"p50", "p99", "max"} (from each message's due time),
"from_send_ms": {"p50", "p99", "max"} (from the moment it was sent: without the load generator's lag behind the
due time), "cpu_ms_per_message": {process: ms}, "loadgen_cpu_ms_per_message", "max_send_lag_ms",
"rounds": [...]}], "warmup": {target: {"rate_per_s", "seconds", "p50", "p99", "max", "lost"}}}``.
A message lost in the warm-up fails the run too. Exits 1 when a message was lost or refused, or the set-up failed.

Each socket sends at most ``rate / pairs`` events per second, and each host user twice that:
keep those under signaling's rate limits (``PARLEY_SIGNALING_RATE_PER_SECOND``, 50 by default
per socket, and ``PARLEY_SIGNALING_USER_RATE_PER_SECOND``, 100 per user; 1,000/s over 64 pairs
is 15.6/s per socket and 31/s per host).

Usage (with ``./taskw up`` running): ``./taskw bench:relay`` or ``.venv/bin/python
bench/signaling_relay.py --rates 50,200,500,1000 --seconds 8 --rounds 2``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from parley_probe.cli import DEFAULT_BASE_URL

from node_loadgen import LOADGEN_DIR, run_loadgen
from participants import set_up
from procstat import CLK_TCK, load_average, pid_listening_on

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEER = HERE / "peers" / "node-relay" / "server.mjs"
BARE_PEER = HERE / "peers" / "bare_socketio.py"
LOADGEN = LOADGEN_DIR / "relay.mjs"
DEFAULT_STACK_FILE = REPO / ".stack" / "dev" / "stack.json"
#: The targets, in the order each round runs them.
TARGETS = ("parley-1", "parley-2", "node")
#: Targets run only when asked for (``--targets``): the bare python-socketio peer
#: (peers/bare_socketio.py) under uvicorn as signaling runs (``py-asgi``) and under aiohttp.
BARE_TARGETS = {"py-asgi": "asgi", "py-aiohttp": "aiohttp"}


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_peer(port: int, command: Sequence[str] = ("node", str(PEER))) -> subprocess.Popen[bytes]:
    """A peer relay (by default the Node one) on ``port``, once it listens (its per-event log
    lines go nowhere)."""
    peer = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if peer.poll() is not None:
            raise RuntimeError(f"the peer {command[-1]} exited: {peer.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return peer
        except OSError:
            time.sleep(0.1)
    peer.kill()
    raise RuntimeError(f"the peer {command[-1]} did not listen within 30 s")


def wait_ready(ports: list[int], timeout_s: float = 120.0) -> None:
    """Wait until every signaling replica's ``/readyz`` answers 200 (its JWKS fetched: a replica
    that has not fetched it yet refuses connections as ``unauthorized``)."""
    deadline = time.monotonic() + timeout_s
    for port in ports:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"signaling on port {port} not ready within {timeout_s:g} s")
            time.sleep(0.5)


def stack_ports(stack_file: Path) -> dict[str, int]:
    """Ports of signaling-1, signaling-2 and Kafka from a stack file (deploy/local/stack.py)."""
    stack = json.loads(stack_file.read_text())
    services = stack["services"]
    return {
        "signaling-1": int(services["signaling-1"]["port"]),
        "signaling-2": int(services["signaling-2"]["port"]),
        "kafka": int(stack["kafka_bootstrap_servers"].rsplit(":", 1)[1]),
    }


async def bench(args: argparse.Namespace) -> dict:
    """Set up, run the load generator over the three targets, return the summary."""
    ports = stack_ports(args.stack_file)
    pids = {name: pid_listening_on(port) for name, port in ports.items()}
    wait_ready([ports["signaling-1"], ports["signaling-2"]])
    # a meeting per pair and Parley target: a user has one participant per room, so a second
    # socket of the host in the same meeting would take the first one's participant over;
    # `pairs` users, so that each host sends a few pairs' share of the rate (signaling's event
    # budget per user, docs/signaling.md "Limits")
    people = await set_up(args.base_url, 2 * args.pairs, users=max(2, args.pairs), label="relay")
    peer_port = free_port()
    peer = start_peer(peer_port)
    pids["node"] = peer.pid
    bare: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    load_start = load_average()
    try:
        for name, server in BARE_TARGETS.items():
            if name in args.targets:
                port = free_port()
                bare[name] = port, start_peer(port, (sys.executable, str(BARE_PEER), "--server", server))
        s1, s2 = (f"http://127.0.0.1:{ports[n]}" for n in ("signaling-1", "signaling-2"))
        parley_cpu = {n: pids[n] for n in ("signaling-1", "signaling-2")}

        def parley_pairs(guest_url: str, meetings: range) -> list[dict]:
            pairs = []
            for i in meetings:
                host_token, guest_token = people.tokens(i)  # two members per meeting
                pairs.append({"host": {"url": s1, "token": host_token}, "guest": {"url": guest_url, "token": guest_token},
                              "room": people.meeting_ids[i]})
            return pairs

        def peer_pairs(port: int) -> list[dict]:
            url = f"http://127.0.0.1:{port}"
            return [{"host": {"url": url}, "guest": {"url": url}, "room": f"room-{i}"} for i in range(args.pairs)]

        targets = [
            {"name": "parley-1", "dialect": "parley", "cpu_pids": parley_cpu,
             "pairs": parley_pairs(s1, range(args.pairs))},
            {"name": "parley-2", "dialect": "parley", "cpu_pids": {**parley_cpu, "kafka": pids["kafka"]},
             "pairs": parley_pairs(s2, range(args.pairs, 2 * args.pairs))},
            {"name": "node", "dialect": "node", "cpu_pids": {"node": pids["node"]}, "pairs": peer_pairs(peer_port)},
            *({"name": name, "dialect": "node", "cpu_pids": {name: process.pid}, "pairs": peer_pairs(port)}
              for name, (port, process) in bare.items()),
        ]
        if args.no_ack:
            for target in targets[:2]:
                target["ack"] = False
        plan = {
            "targets": [t for t in targets if t["name"] in args.targets],
            "rates": args.rates,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "drain_s": args.drain,
            "warmup_s": args.warmup,
            "clk_tck": CLK_TCK,
        }
        result = await run_loadgen(LOADGEN, plan)
    finally:
        for process in (peer, *(p for _, p in bare.values())):
            process.terminate()
            process.wait(10)
        await people.close()
    return {
        "benchmark": "signaling_relay",
        "load_average": {"start": load_start, "end": load_average()},
        "pairs": args.pairs,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "rates": args.rates,
        "parley_acks": not args.no_ack,
        **result,
    }


def print_table(summary: dict) -> None:
    """The figures as a table on stderr, the targets of one rate side by side."""
    print(f"[bench] load average {summary['load_average']}", file=sys.stderr)
    print(f"{'target':>9} {'msg/s':>6} {'p50':>7} {'p99':>7} {'max':>8} {'lost':>5} {'sent→p50':>9} {'sent→p99':>9}"
          "  cpu ms/msg", file=sys.stderr)
    for step in sorted(summary["steps"], key=lambda s: (s["rate_per_s"], s["target"])):
        lat, sent = step["latency_ms"], step["from_send_ms"]
        cpu = " ".join(f"{k}={v}" for k, v in step["cpu_ms_per_message"].items())
        print(f"{step['target']:>9} {step['rate_per_s']:>6} {lat['p50']!s:>7} {lat['p99']!s:>7} {lat['max']!s:>8} "
              f"{step['lost']:>5} {sent['p50']!s:>9} {sent['p99']!s:>9}  {cpu}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/signaling_relay.py", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="the stack's entry point (Traefik), for set-up")
    parser.add_argument("--stack-file", type=Path, default=DEFAULT_STACK_FILE,
                        help="the stack's stack.json (signaling and Kafka ports; default the dev stack's)")
    parser.add_argument("--pairs", type=int, default=64, help="socket pairs per target (default 64)")
    parser.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[50, 200, 500, 1000],
                        help="messages per second over all pairs, comma-separated (default 50,200,500,1000)")
    parser.add_argument("--no-ack", action="store_true",
                        help="send Parley's events without an acknowledgement, as the peer's")
    parser.add_argument("--targets", type=lambda s: s.split(","), default=list(TARGETS),
                        help=f"targets to run, comma-separated (default {','.join(TARGETS)}; also "
                             f"{', '.join(BARE_TARGETS)}: the bare python-socketio peer)")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per step (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--warmup", type=float, default=8.0,
                        help="seconds of a warm-up step per target at the highest rate before the rounds, "
                             "reported apart and counted nowhere else (default 8; 0: none)")
    parser.add_argument("--drain", type=float, default=10.0,
                        help="seconds after the last due time until a message not arrived counts as lost (default 10)")
    args = parser.parse_args(argv)
    if not set(args.targets) <= {*TARGETS, *BARE_TARGETS}:
        parser.error(f"--targets are among {', '.join([*TARGETS, *BARE_TARGETS])}")
    if args.pairs < 1 or args.rounds < 1 or args.seconds <= 0 or not all(r > 0 for r in args.rates):
        parser.error("--pairs and --rounds must be at least 1, --seconds and every rate positive")
    args.base_url = args.base_url.rstrip("/")
    try:
        summary = asyncio.run(bench(args))
    except Exception as exc:  # noqa: BLE001 - reported, exit 1
        print(f"[bench] failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print_table(summary)
    print(json.dumps(summary), flush=True)
    failed = any(s["lost"] or s["refused"] for s in summary["steps"]) or any(
        w["lost"] for w in summary.get("warmup", {}).values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
