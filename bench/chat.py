"""Chat benchmark: posts through Traefik, live delivery on the other signaling replica; or,
with ``--history N``, history reads of a meeting holding N messages.

Live (default). Two fresh participants (the probe's own phases: register, sign in, create and
join a meeting, connect through Traefik until they sit on different signaling replicas, join
the room). Then the Node load generator (bench/loadgen/chat.mjs: node:http with keep-alive and
the official socket.io client; bench/README.md, "The load generator") takes the probe's place:
it connects one socket per participant straight to the replica the probe's socket sat on (read
from ``--stack-file``; WebSocket only) and joins the room, and the host posts ``--rate``
messages per second for ``--duration`` seconds through Traefik's REST API (``POST
/api/chat/meetings/{id}/messages``), open loop: each post is sent at its intended time whether
or not earlier ones were answered, and every latency is counted from that intended time, so a
stall shows up in the figures instead of slowing the load. The Python process only sets up
and computes the figures: the former Python generator (httpx, the Python socket.io client)
spent 2.4 ms of CPU per post at 50/s and fell far behind at 200/s, on the two cores the server
needs; the Node one 1.4 and 0.7 ms (bench/README.md).

Measured, in milliseconds: ``post_ms`` (intended send → the 201) and ``live_ms`` (intended send
→ the guest's socket, on the other replica, receives the ``chat-message``). Counted:
``lost`` (acknowledged posts never delivered live within ``--drain`` seconds after the last
answer), ``duplicated`` (a message delivered more than once), ``reordered`` (adjacent deliveries
whose ``seq`` goes down: the order history shows is the order a socket must see),
``seq_matches_ack``, ``failed_posts``, ``guest_disconnects`` (the watching socket was
disconnected: what it missed then counts as lost, though the messages are stored and
published). The generator's own CPU per message (``loadgen_cpu_ms_per_message``, ms of user +
system time from the first post to the end of the drain) and its worst lag behind the schedule
(``max_send_lag_ms``) show whether it kept up. On a local stack (``--stack-file`` of
``./taskw up``), ``cpu_ms_per_post`` gives each of its programs' CPU per post (/proc, user +
system, children included: ``postgres`` counts every backend; ``procstat.stack_cpu_seconds``)
over the generator's run, less what the program spent idle in ``IDLE_SAMPLE_S`` seconds
measured just before (``idle_cpu_percent``, % of a core): less sensitive to the machine's other
load than the latencies.

History (``--history N``). Fills a fresh meeting with N messages through the API, then times ``--reads`` reads of
``limit`` 50, half the first page and half a page further back by a cursor from a random
position: ``api_ms`` (``GET`` through Traefik, membership asked of meetings included) and
``store_ms`` (the repository's ``page()`` straight against the stack's Mongo-wire store,
``--mongo-uri``, default the one in ``--stack-file``), beside the peer ``former_query_ms``
(20 runs of the sorted query history used before, on the same collection in the same run).
``--meeting-id`` of a meeting an earlier run filled: only the store reads and the peer.

The last line of stdout is one JSON object (``{"benchmark": "chat_live", "signaling_replicas",
"rate_per_s", "duration_s", ...}`` with the figures above, or ``{"benchmark": "chat_history",
...}``) with ``base_url`` and ``load_average`` (1, 5, 15 min) at start and end. Exits 1 when a
message was lost or a post failed (live), when a read failed (history), or when the set-up or
the load generator failed.

Usage (with ``./taskw up`` running): ``./taskw bench:chat -- --rate 200 --duration 60`` or
``./taskw bench:chat -- --history 10000``; against another stack, ``--base-url`` and
``--stack-file`` of that stack.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx

from parley_probe.cli import DEFAULT_BASE_URL
from parley_probe.result import Progress, ProbeResult, StepFailed
from parley_probe.run import ProbeOptions, Scenario

from node_loadgen import LOADGEN_DIR, run_loadgen
from procstat import stack_cpu_seconds
from percentiles import distribution

ROOT = Path(__file__).resolve().parent.parent
IDLE_SAMPLE_S = 5.0  # seconds of the stack idle before the posts, for its idle CPU
LOADGEN = LOADGEN_DIR / "chat.mjs"


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


async def live(scenario: Scenario, stack_file: Path, rate: float, duration_s: float, drain_s: float) -> dict:
    """Post at ``rate`` for ``duration_s`` from the host and watch the guest's socket, both
    done by the Node load generator (bench/loadgen/chat.mjs); the figures of ``live_figures``
    plus the generator's own CPU per message and worst send lag."""
    host, guest = scenario.host, scenario.guest
    assert host.socket is not None and guest.socket is not None
    # the probe's sockets chose the replicas; the generator's take their place, one per replica
    urls = {p.role: replica_url(stack_file, p.socket.replica_id) for p in scenario.both}
    await asyncio.gather(*(p.socket.close() for p in scenario.both))
    plan = live_plan(
        host.api.base_url, host.api.access_token or "", scenario.meeting_id, rate, duration_s, drain_s,
        watch={"url": urls["guest"], "token": guest.api.access_token or ""},
        hold=[{"url": urls["host"], "token": host.api.access_token or ""}],
    )
    say(f"posting {max(1, round(rate * duration_s))} messages at {rate:g}/s; host's socket on {host.socket.replica_id}, "
        f"guest's on {guest.socket.replica_id} (Node load generator)")
    idle = await idle_cpu(stack_file)
    cpu_before, started = stack_cpu_seconds(stack_file), time.monotonic()
    result = await run_loadgen(LOADGEN, plan)
    cpu_after, window_s = stack_cpu_seconds(stack_file), time.monotonic() - started
    return {
        **live_figures(result),
        "cpu_ms_per_post": cpu_per_post(cpu_before, cpu_after, result["messages"], idle, window_s),
        "idle_cpu_percent": {name: round(share * 100, 2) for name, share in sorted(idle.items())},
    }


async def idle_cpu(stack_file: Path, seconds: float = IDLE_SAMPLE_S) -> dict[str, float]:
    """The share of a core each program of the stack (``procstat.stack_cpu_seconds``) spends
    over ``seconds`` before the run, with no load from this benchmark."""
    before, started = stack_cpu_seconds(stack_file), time.monotonic()
    await asyncio.sleep(seconds)
    after, elapsed = stack_cpu_seconds(stack_file), time.monotonic() - started
    return {name: max(0.0, after[name] - before[name]) / elapsed for name in after if name in before}


def cpu_per_post(before: dict[str, float], after: dict[str, float], posts: int, idle: dict[str, float],
                 window_s: float) -> dict[str, float]:
    """Milliseconds of CPU per post of each program of the stack over the generator's run (its
    connecting and the drain included), less what the program spends idle over that window
    (``idle``: shares of a core), and their ``total``; empty for a stack that is not local."""
    spent = {
        name: max(0.0, after[name] - before[name] - idle.get(name, 0.0) * window_s) * 1000 / max(posts, 1)
        for name in after if name in before
    }
    figures = {name: round(ms_, 3) for name, ms_ in sorted(spent.items())}
    return {**figures, "total": round(sum(spent.values()), 3)} if figures else {}


def live_plan(base_url: str, token: str, meeting_id: str, rate: float, duration_s: float, drain_s: float,
              watch: dict, hold: list[dict]) -> dict:
    """chat.mjs's plan: ``token`` posts to ``meeting_id`` through ``base_url`` (Traefik) at
    ``rate`` per second for ``duration_s`` seconds, late deliveries awaited ``drain_s`` seconds;
    ``watch`` (``{"url", "token"}``: a signaling replica and a member's token) is the socket
    whose deliveries are counted, ``hold`` other members' sockets kept in the room. Message
    ids carry a fresh run tag, so a meeting can take several runs."""
    return {
        "base_url": base_url,
        "token": token,
        "meeting_id": meeting_id,
        "rate": rate,
        "duration_s": duration_s,
        "drain_s": drain_s,
        "run": uuid.uuid4().hex[:8],
        "watch": watch,
        "hold": hold,
    }


def live_figures(result: dict) -> dict:
    """The live figures from chat.mjs's result (its header comment gives the shape): ``messages``,
    ``acknowledged``, ``failed_posts``, ``failures`` (the first 10), ``delivered`` (distinct
    messages the guest received), ``lost`` (acknowledged, never delivered), ``duplicated``
    (deliveries beyond the first), ``reordered`` (adjacent deliveries whose ``seq`` goes down),
    ``guest_disconnects``, ``seq_matches_ack`` (every delivery carries the ``seq`` its post was
    acknowledged with), ``post_ms`` and ``live_ms`` (``percentiles.distribution``, ms from the
    intended send time; live: first delivery of each message), ``loadgen_cpu_ms_per_message``
    and ``max_send_lag_ms``."""
    acked = {i: post[1] for i, post in enumerate(result["posts"]) if post is not None}
    arrivals = result["arrivals"]
    seqs = [seq for _, seq, _ in arrivals]
    firsts: dict[int, float] = {}
    for i, _, live_ms in arrivals:
        firsts.setdefault(i, live_ms)
    return {
        "messages": result["messages"],
        "acknowledged": len(acked),
        "failed_posts": len(result["failures"]),
        "failures": result["failures"][:10],
        "delivered": len(firsts),
        "lost": len(set(acked) - set(firsts)),
        "duplicated": len(arrivals) - len(firsts),
        "reordered": sum(1 for a, b in zip(seqs, seqs[1:]) if b < a),
        # a socket lost (engine.io pings missed on a starved machine) explains "lost"
        "guest_disconnects": result["disconnects"],
        "seq_matches_ack": all(acked.get(i, seq) == seq for i, seq, _ in arrivals),
        "post_ms": distribution([post[0] for post in result["posts"] if post is not None]),
        "live_ms": distribution(list(firsts.values())),
        "loadgen_cpu_ms_per_message": result["loadgen_cpu_ms_per_message"],
        "max_send_lag_ms": result["max_send_lag_ms"],
    }


def replica_url(stack_file: Path, replica_id: str) -> str:
    """The URL of signaling replica ``replica_id`` (its instance name, e.g. ``signaling-2``, the
    ``session`` event's ``replica_id``) in the stack file; ``LookupError`` when it has none."""
    services = json.loads(stack_file.read_text())["services"]
    if replica_id not in services:
        raise LookupError(f"signaling replica {replica_id!r} is not in {stack_file} (services: {', '.join(services)})")
    return services[replica_id]["url"]


async def fill(base_url: str, token: str, meeting_id: str, total: int, concurrency: int = 24) -> int:
    """Post messages until the meeting holds ``total``; returns how many were posted now."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, headers=headers) as http:
        first = (await http.get(f"/api/chat/meetings/{meeting_id}/messages", params={"limit": 1})).json()
        have = first["messages"][0]["seq"] if first["messages"] else 0
        run = uuid.uuid4().hex[:8]
        queue = list(range(have, total))
        posted = 0

        async def worker() -> None:
            nonlocal posted
            while queue:
                i = queue.pop()
                for _attempt in range(5):  # a post is idempotent by message_id: retry a 502/503
                    response = await http.post(
                        f"/api/chat/meetings/{meeting_id}/messages",
                        json={"message_id": f"fill-{run}-{i:06d}", "text": f"history message {i} " + "x" * 60},
                    )
                    if response.status_code not in (502, 503):
                        break
                    await asyncio.sleep(0.5)
                response.raise_for_status()
                posted += 1
                if posted % 1000 == 0:
                    say(f"filled {have + posted}/{total}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return posted


async def history(base_url: str, token: str, meeting_id: str, total: int, reads: int, mongo_uri: str) -> dict:
    """Time ``reads`` API reads and as many store reads of limit 50 (half first pages, half by cursor)."""
    headers = {"Authorization": f"Bearer {token}"}
    api_ms: dict[str, list[float]] = {"first": [], "cursor": []}
    errors: list[str] = []
    rng = random.Random(7)
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, headers=headers) as http:
        path = f"/api/chat/meetings/{meeting_id}/messages"
        first = (await http.get(path, params={"limit": 50})).json()
        cursor_doc = first["next_cursor"].split(".", 1)[1]
        for i in range(reads):
            kind = "first" if i % 2 == 0 else "cursor"
            params: dict = {"limit": 50}
            if kind == "cursor":
                params["before"] = f"{rng.randint(51, total)}.{cursor_doc}"
            began = time.perf_counter()
            response = await http.get(path, params=params)
            elapsed = time.perf_counter() - began
            if response.status_code != 200 or len(response.json()["messages"]) != 50:
                errors.append(f"{response.status_code} {response.text[:200]}")
            api_ms[kind].append(ms(elapsed))
    figures = await store_reads(meeting_id, total, reads, mongo_uri)
    return {
        "messages_in_meeting": total,
        "reads": reads,
        **figures,
        "errors": errors[:10] + figures["errors"],
        "api_ms": {k: distribution(v) for k, v in api_ms.items()},
    }


async def store_reads(meeting_id: str, total: int, reads: int, mongo_uri: str, peer_reads: int = 20) -> dict:
    """``store_ms``: ``reads`` repository pages (half first, half by cursor); ``former_query_ms``:
    the peer, ``peer_reads`` of the query history used before ``seq`` (one meeting's messages
    sorted by ``posted_at``, ``_id`` descending, limit 50) on the same collection, same run."""
    from pymongo import AsyncMongoClient

    from parley_chat.repository import MessageRepository

    rng = random.Random(11)
    store_ms: dict[str, list[float]] = {"first": [], "cursor": []}
    former_ms: list[float] = []
    errors: list[str] = []
    mongo: AsyncMongoClient = AsyncMongoClient(mongo_uri, tz_aware=True)
    try:
        repo = MessageRepository(mongo["chat"])
        for i in range(reads):
            kind = "first" if i % 2 == 0 else "cursor"
            before = None if kind == "first" else rng.randint(51, total)
            began = time.perf_counter()
            rows = await repo.page(meeting_id, limit=50, before=before)
            store_ms[kind].append(ms(time.perf_counter() - began))
            if len(rows) != 50:
                errors.append(f"store page before {before}: {len(rows)} rows")
        for _ in range(peer_reads):
            began = time.perf_counter()
            await repo.messages.find({"meeting_id": meeting_id}, {"outbox": 0}).sort(
                [("posted_at", -1), ("_id", -1)]
            ).limit(50).to_list()
            former_ms.append(ms(time.perf_counter() - began))
    finally:
        await mongo.close()
    return {
        "errors": errors[:10],
        "store_ms": {k: distribution(v) for k, v in store_ms.items()},
        "former_query_ms": distribution(former_ms),
    }


def default_stack_file() -> Path:
    """``$PARLEY_STACK_FILE``, else the dev stack's stack file."""
    return Path(os.environ.get("PARLEY_STACK_FILE") or ROOT / ".stack" / "dev" / "stack.json")


def mongo_uri(stack_file: Path) -> str:
    """The store's URI in the stack file."""
    return json.loads(stack_file.read_text())["mongo_uri"]


async def bench(args: argparse.Namespace) -> dict:
    base_url = args.base_url.rstrip("/")
    scenario = Scenario(ProbeOptions(base_url=base_url), Progress(ProbeResult(), io.StringIO()))
    load_before = os.getloadavg()
    if args.history and args.meeting_id:  # the store reads only, of a meeting filled before
        figures = await store_reads(args.meeting_id, args.history, args.reads, args.mongo_uri or mongo_uri(args.stack_file))
        return {"benchmark": "chat_history", "meeting_id": args.meeting_id, "messages_in_meeting": args.history,
                "reads": args.reads, **figures, "load_average": {"start": [round(x, 1) for x in load_before],
                                                                 "end": [round(x, 1) for x in os.getloadavg()]}}
    try:
        await scenario.accounts()
        await scenario.meeting()
        if args.history:
            meeting_id, token = scenario.meeting_id, scenario.host.api.access_token or ""
            posted = await fill(base_url, token, meeting_id, args.history)
            say(f"meeting {meeting_id} holds {args.history} messages ({posted} posted now); reading")
            figures = await history(base_url, token, meeting_id, args.history, args.reads, args.mongo_uri or mongo_uri(args.stack_file))
            figures = {"benchmark": "chat_history", "meeting_id": meeting_id, **figures}
        else:
            await scenario.signaling()
            figures = await live(scenario, args.stack_file, args.rate, args.duration, args.drain)
            figures = {
                "benchmark": "chat_live",
                "signaling_replicas": scenario.result.signaling_replicas,
                "rate_per_s": args.rate,
                "duration_s": args.duration,
                **figures,
            }
    finally:
        await scenario.clean_up()
    return {
        **figures,
        "base_url": base_url,
        "load_average": {"start": [round(x, 1) for x in load_before], "end": [round(x, 1) for x in os.getloadavg()]},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/chat.py", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="the stack's entry point (Traefik)")
    parser.add_argument("--stack-file", type=Path, default=default_stack_file(),
                        help="the stack's stack.json (live: the signaling replicas' URLs; history: the store; "
                             "default $PARLEY_STACK_FILE or the dev stack's)")
    parser.add_argument("--rate", type=float, default=200.0, help="posts per second (default 200)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of posting (default 60)")
    parser.add_argument("--drain", type=float, default=15.0, help="seconds to wait for late deliveries (default 15)")
    parser.add_argument("--history", type=int, default=0, metavar="N", help="measure history reads with N messages instead")
    parser.add_argument("--reads", type=int, default=200, help="with --history: reads per method (default 200)")
    parser.add_argument("--meeting-id", default="", help="with --history: only the store reads, of this meeting filled by an earlier run")
    parser.add_argument("--mongo-uri", default="", help="with --history: the store (default: the stack file's)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.history < 0 or (args.history and args.history < 101):
        parser.error("--rate and --duration must be positive, --history at least 101")
    try:
        summary = asyncio.run(bench(args))
    except StepFailed as exc:
        say(f"set-up failed at {exc.step}: {exc.error}")
        return 1
    except (RuntimeError, LookupError, OSError) as exc:  # the load generator or the stack file
        say(f"failed: {type(exc).__name__}: {exc}")
        return 1
    print(json.dumps(summary), flush=True)
    if summary["benchmark"] == "chat_history":
        return 1 if summary["errors"] else 0
    return 1 if summary["lost"] or summary["failed_posts"] else 0


if __name__ == "__main__":
    sys.exit(main())
