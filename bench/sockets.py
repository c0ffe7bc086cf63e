"""Sockets per process: idle, authenticated, room-joined WebSocket sockets on one signaling
replica, beside the same number on the plain Node socket.io relay (the peer), in one run.

Set-up: about ``sockets / --per-user`` fresh users and ``sockets / per_room`` meetings, each
joined by ``--per-room`` of the users (bench/participants.py; signaling holds at most
``PARLEY_SIGNALING_MAX_SOCKETS_PER_USER`` sockets of a user, 32 by default); the peer
(bench/peers/node-relay/server.mjs) on a free port. Then the load generator
(bench/loadgen/sockets.mjs, Node over the official socket.io client) opens
``--sockets`` sockets at ``--rate`` new sockets per second, open loop, straight to
signaling-1 (no Traefik), each joined to a meeting (``--per-room`` sockets per meeting, one
per member: every socket is a participant of its room), holds them ``--settle`` seconds, closes them and
waits ``--after-close`` seconds; then the same against the peer (two sockets per room, as the
app it stands for allows). The process's RSS is read from /proc before, while held and after
the close.

The last line of stdout is one JSON object: ``{"benchmark": "sockets", "load_average":
{"start", "end"}, "targets": [{"target", "sockets", "rate_per_s", "joined", "failed",
"errors", "connect_join_ms": {"p50", "p99", "max"}, "cpu_ms_per_socket", "rss_kib": {"before",
"held", "after_close"}, "rss_kib_per_socket", ...}]}``; Parley's target also has ``"close":
{"sockets_gone_s", "drained_s"}`` (:func:`watch_close`) and ``"recycled"``: null, or, when
signaling-1 started afresh after the close (docs/signaling.md, "Memory after a burst";
``rss_kib.after_close`` is then null), ``{"rss_kib", "listening_after_s"}`` of the new process
(:func:`recycled`). Exits 1 when a socket failed or the
set-up failed.

Usage (with ``./taskw up`` running): ``./taskw bench:sockets`` or ``.venv/bin/python
bench/sockets.py --sockets 10000 --rate 50``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import httpx
from parley_probe.cli import DEFAULT_BASE_URL
from prometheus_client.parser import text_string_to_metric_families

from node_loadgen import LOADGEN_DIR, run_loadgen
from participants import members_of, set_up
from procstat import CLK_TCK, load_average, pid_listening_on, rss_kib
from signaling_relay import DEFAULT_STACK_FILE, free_port, stack_ports, start_peer, wait_ready

LOADGEN = LOADGEN_DIR / "sockets.mjs"


def users_for(meetings: int, per_room: int, per_user: int) -> int:
    """The fewest users (at least ``per_room``) with which no user is a member of more than
    ``per_user`` of ``meetings`` meetings of ``per_room`` members each
    (:func:`participants.members_of`): each member holds one socket per meeting."""
    users = max(per_room, -(-meetings * per_room // per_user))
    while True:
        held = Counter(m for i in range(meetings) for m in members_of(i, users, per_room))
        if max(held.values()) <= per_user:
            return users
        users += 1


#: signaling's gauges that tell how far a close has got (docs/metrics.md)
CONNECTED = "parley_signaling_connected_sockets"
DISCONNECTING = "parley_signaling_disconnecting_sockets"


async def watch_close(metrics_url: str, sockets: int, done: asyncio.Event) -> dict:
    """Watch signaling's gauges once a second until ``done``: seconds from the first socket
    the load generator closed until none was connected (``sockets_gone_s``) and until none
    was still being disconnected either (``drained_s``: every leave, ``peer-left`` and event of
    the close sent). None for a point not reached; a scrape the busy replica does not answer
    in 5 s is skipped."""
    held_all = False
    closing_at = gone_at = drained_at = None
    async with httpx.AsyncClient(timeout=5) as client:
        while drained_at is None and not done.is_set():
            await asyncio.sleep(1)
            try:
                text = (await client.get(metrics_url)).text
            except httpx.HTTPError:
                continue
            now = time.monotonic()
            values = {
                sample.name: sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name in (CONNECTED, DISCONNECTING)
            }
            connected, disconnecting = values.get(CONNECTED, 0.0), values.get(DISCONNECTING, 0.0)
            held_all = held_all or connected >= sockets
            if held_all and closing_at is None and connected < sockets:
                closing_at = now
            if closing_at is not None and gone_at is None and connected == 0:
                gone_at = now
            if gone_at is not None and disconnecting == 0:
                drained_at = now

    def since_close(at: float | None) -> float | None:
        return None if at is None or closing_at is None else round(at - closing_at, 1)

    return {"sockets_gone_s": since_close(gone_at), "drained_s": since_close(drained_at)}


async def recycled(port: int, pid: int, timeout_s: float = 60.0) -> dict | None:
    """None when ``pid`` still serves ``port``; else, once a new process listens there (up to
    ``timeout_s`` seconds), its RSS in KiB and how long it took to appear (null figures when none did)."""
    if rss_kib(pid) is not None:
        return None
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            new_pid = pid_listening_on(port)
        except LookupError:
            await asyncio.sleep(0.5)
            continue
        await asyncio.to_thread(wait_ready, [port])
        return {"rss_kib": rss_kib(new_pid), "listening_after_s": round(time.monotonic() - started, 1)}
    return {"rss_kib": None, "listening_after_s": None}


async def bench(args: argparse.Namespace) -> dict:
    """Set up, run the load generator against signaling-1 and the peer, return the summary."""
    ports = stack_ports(args.stack_file)
    pid = pid_listening_on(ports["signaling-1"])
    wait_ready([ports["signaling-1"]])
    meetings = max(1, -(-args.sockets // args.per_room))
    users = users_for(meetings, args.per_room, args.per_user)
    people = await set_up(args.base_url, meetings, users=users, per_meeting=args.per_room, label="sockets")
    targets = [
        {"name": "parley", "dialect": "parley", "url": f"http://127.0.0.1:{ports['signaling-1']}", "pid": pid,
         "rooms": people.meeting_ids, "members": [people.tokens(i) for i in range(meetings)]},
    ]
    peer = None
    if "node" in args.targets:  # the peer runs only when it is measured
        peer_port = free_port()
        peer = start_peer(peer_port)
        targets.append({"name": "node", "dialect": "node", "url": f"http://127.0.0.1:{peer_port}", "pid": peer.pid,
                        "rooms": [f"room-{i}" for i in range(max(1, args.sockets // 2))]})
    load_start = load_average()
    try:
        plan = {
            "targets": [target for target in targets if target["name"] in args.targets],
            "sockets": args.sockets,
            "rate": args.rate,
            "settle_s": args.settle,
            "after_close_s": args.after_close,
            "clk_tck": CLK_TCK,
        }
        loadgen_done = asyncio.Event()
        close = asyncio.create_task(
            watch_close(f"http://127.0.0.1:{ports['signaling-1']}/metrics", args.sockets, loadgen_done)
        )
        try:
            result = await run_loadgen(LOADGEN, plan)
        finally:
            loadgen_done.set()
        for target in result["targets"]:
            if target["target"] == "parley":
                target["close"] = await close
                target["recycled"] = await recycled(ports["signaling-1"], pid)
    finally:
        if peer is not None:
            peer.terminate()
            peer.wait(10)
        await people.close()
    return {"benchmark": "sockets", "load_average": {"start": load_start, "end": load_average()}, **result}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/sockets.py", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="the stack's entry point (Traefik), for set-up")
    parser.add_argument("--stack-file", type=Path, default=DEFAULT_STACK_FILE,
                        help="the stack's stack.json (default the dev stack's)")
    parser.add_argument("--sockets", type=int, default=10000, help="sockets per target (default 10000)")
    parser.add_argument("--rate", type=float, default=50.0, help="new sockets per second (default 50)")
    parser.add_argument("--per-room", type=int, default=10,
                        help="Parley sockets per meeting, each of another member (default 10)")
    parser.add_argument("--per-user", type=int, default=32,
                        help="Parley sockets per user at most (default 32, signaling's limit)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds held before reading RSS (default 5)")
    parser.add_argument("--after-close", type=float, default=10.0,
                        help="seconds after closing before reading RSS again (default 10)")
    parser.add_argument("--targets", default="parley,node",
                        help="comma-separated, in this order: parley (signaling-1), node (the peer); default both")
    args = parser.parse_args(argv)
    args.targets = set(args.targets.split(","))
    if not args.targets or not args.targets <= {"parley", "node"}:
        parser.error("--targets takes parley, node or both")
    if args.sockets < 1 or args.rate <= 0 or args.per_room < 2 or args.per_user < 1:
        parser.error("--sockets and --per-user must be at least 1, --per-room 2, --rate positive")
    args.base_url = args.base_url.rstrip("/")
    try:
        summary = asyncio.run(bench(args))
    except Exception as exc:  # noqa: BLE001 - reported, exit 1
        print(f"[bench] failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary), flush=True)
    return 1 if any(t["failed"] for t in summary["targets"]) else 0


if __name__ == "__main__":
    sys.exit(main())
