"""Meetings' write path: ``POST /api/meetings/{id}/join`` latency and the roster consumer's rate.

Set-up through Traefik: two fresh users, the host creates ``--joins`` meetings. Then:

- ``join_first_ms``: the guest joins each meeting once (becomes a participant), one request
  at a time; ``join_again_ms``: the guest joins each again (already a participant).
- ``roster``: ``--roster-events`` ``participant.joined`` events (distinct socket ids) then as
  many ``participant.left`` events for one meeting are produced to ``parley.participants`` at
  once (as fast as aiokafka sends them); ``events_per_s`` is how fast the meetings replicas
  applied them (their ``parley_meetings_roster_events_total``, summed, read every 0.2 s),
  ``applied_s`` the time from the first record sent to the last one counted; the meeting's
  roster is checked empty at the end.

Figures in milliseconds unless named otherwise; ``loadavg`` is the 1-minute load average at the
start and the end (the machine is shared). The last line of stdout is one JSON object:
``{"benchmark": "meetings_writes", "join_first_ms": {...}, "join_again_ms": {...}, "roster":
{"events", "applied_s", "events_per_s", "roster_empty"}, "loadavg"}``. Exits 1 when the set-up
failed or the roster consumer did not apply every event within ``--timeout`` seconds.

Usage (with ``./taskw up`` running): ``./taskw bench:meetings-writes`` or
``.venv/bin/python bench/meetings_writes.py --joins 50 --roster-events 500``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from parley_events import ParticipantJoined, ParticipantLeft, encode
from parley_probe.api import ApiClient

from percentiles import distribution

REPO = Path(__file__).resolve().parent.parent
ROSTER_COUNTER = re.compile(r'^parley_meetings_roster_events_total\{[^}]*\}\s+([0-9.e+]+)$', re.M)


def say(message: str) -> None:
    print(f"[bench:meetings-writes] {message}", file=sys.stderr, flush=True)


async def signed_in(base_url: str, name: str) -> ApiClient:
    api = ApiClient(base_url, timeout_s=30.0)
    email = f"bench-{name}-{uuid.uuid4().hex[:12]}@example.com"
    password = f"pw-{uuid.uuid4().hex}"
    await api.register(email, name, password)
    await api.login(email, password)
    return api


async def timed(calls) -> list[float]:
    out = []
    for call in calls:
        start = time.perf_counter()
        await call()
        out.append(round((time.perf_counter() - start) * 1000, 2))
    return out


async def roster_events_applied(http: httpx.AsyncClient, metrics_urls: list[str]) -> float:
    total = 0.0
    for url in metrics_urls:
        text = (await http.get(url)).text
        total += sum(float(v) for v in ROSTER_COUNTER.findall(text))
    return total


async def roster(bootstrap: str, metrics_urls: list[str], meeting_id: str, count: int, timeout_s: float) -> dict:
    now = datetime.now(UTC)
    sids = [f"bench-{uuid.uuid4().hex[:10]}" for _ in range(count)]
    events = [encode(ParticipantJoined(meeting_id=meeting_id, user_id="u-bench", display_name="Bench", sid=sid,
                                       replica_id="bench", joined_at=now), source="/parley/bench") for sid in sids]
    events += [encode(ParticipantLeft(meeting_id=meeting_id, user_id="u-bench", sid=sid, replica_id="bench",
                                      reason="left", left_at=now), source="/parley/bench") for sid in sids]
    async with httpx.AsyncClient(timeout=10) as http:
        before = await roster_events_applied(http, metrics_urls)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
        await producer.start()
        try:
            start = time.monotonic()
            futures = [await producer.send(e.topic, e.value, key=e.key, headers=list(e.headers.items())) for e in events]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()
        applied, last_change = 0.0, time.monotonic()
        deadline = start + timeout_s
        while applied < len(events) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            now_applied = await roster_events_applied(http, metrics_urls) - before
            if now_applied != applied:
                applied, last_change = now_applied, time.monotonic()
    elapsed = last_change - start
    return {"events": len(events), "applied": int(applied), "applied_s": round(elapsed, 2),
            "events_per_s": round(applied / elapsed, 1) if elapsed > 0 else None}


async def bench(args: argparse.Namespace) -> dict:
    stack = json.loads(Path(args.stack_file).read_text())
    base_url = stack["base_url"]
    loadavg_start = round(os.getloadavg()[0], 1)
    host, guest = await signed_in(base_url, "Host"), await signed_in(base_url, "Guest")
    try:
        meetings = [(await host.create_meeting(f"Join {n}"))["meeting_id"] for n in range(args.joins)]
        say(f"{len(meetings)} meetings; joining each, then again")
        first = await timed([lambda m=m: guest.join_meeting(m) for m in meetings])
        again = await timed([lambda m=m: guest.join_meeting(m) for m in meetings])
        metrics_urls = [f"{service['url']}/metrics" for name, service in stack["services"].items()
                        if name.startswith("meetings-")]
        say(f"producing {2 * args.roster_events} participant events for one meeting")
        figures = await roster(stack["kafka_bootstrap_servers"], metrics_urls, meetings[0], args.roster_events,
                               args.timeout)
        roster_now = await host.roster(meetings[0])
        figures["roster_empty"] = roster_now["participants"] == []
    finally:
        await host.aclose()
        await guest.aclose()
    return {
        "benchmark": "meetings_writes",
        "base_url": base_url,
        "join_first_ms": distribution(first),
        "join_again_ms": distribution(again),
        "roster": figures,
        "loadavg": [loadavg_start, round(os.getloadavg()[0], 1)],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/meetings_writes.py", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-file", default=os.environ.get("PARLEY_STACK_FILE", str(REPO / ".stack/dev/stack.json")),
                        help="the running stack's stack.json (default the dev stack's)")
    parser.add_argument("--joins", type=int, default=50, help="meetings to join (default 50)")
    parser.add_argument("--roster-events", type=int, default=500,
                        help="participant.joined events, then as many participant.left (default 500)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the roster (default 300)")
    args = parser.parse_args(argv)
    if args.joins < 1 or args.roster_events < 1:
        parser.error("--joins and --roster-events must be at least 1")
    summary = asyncio.run(bench(args))
    print(json.dumps(summary), flush=True)
    roster_figures = summary["roster"]
    return 0 if roster_figures["applied"] == roster_figures["events"] and roster_figures["roster_empty"] else 1


if __name__ == "__main__":
    sys.exit(main())
