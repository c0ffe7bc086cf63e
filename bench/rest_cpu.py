"""CPU per ``GET /api/meetings/{id}`` of the meetings app itself, beside the bare FastAPI peer.

``bench/rest.py`` measures latency through the network, which on the shared 2-core machine is
mostly the machine's queueing; this measures what one request costs the event loop's thread:
the meetings app (``create_app`` with meetings-1's environment of the running stack, its
lifespan started in this process: store, Kafka, JWKS) and ``peers/bare_fastapi.py`` are called
as ASGI apps, in batches of 100 requests, alternately, and each batch's thread CPU time
(``time.thread_time``: work handed to other threads, such as the log writer, is not counted)
is divided by its requests; a round reports the 10th percentile of its batch means (the
machine's interruptions only ever add). The meetings app logs as the stack's replicas do
(``PARLEY_ACCESS_LOG`` of meetings-1's environment). No uvicorn, socket or Traefik.

The app joins meetings' Kafka consumer groups for the run (a rebalance of the stack's
replicas, as when a replica starts). Set-up as ``bench/rest.py`` (a fresh user and meeting).
The last line of stdout is one JSON object: ``{"benchmark": "rest_cpu", "requests_per_round",
"loadavg_start", "loadavg_end", "rounds": [{"meetings", "peer"}]}``, microseconds per
request.

Usage (a stack running): ``.venv/bin/python bench/rest_cpu.py [--stack-file S] [--rounds 3]
[--requests 3000]``; log lines go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from asgi_lifespan import LifespanManager
from dotenv import dotenv_values

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from peers.bare_fastapi import create_app as peer_app  # noqa: E402
from rest import REPO, SINGLE_REPLICA, set_up  # noqa: E402

BATCH = 100


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {}}


async def cpu_us_per_request(app, path: str, headers: list[tuple[bytes, bytes]], requests: int) -> float:
    """The 10th percentile of the batches' thread CPU per request, in µs; every answer must be 200."""
    statuses: list[int] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    means = []
    for _ in range(max(1, requests // BATCH)):
        start = time.thread_time()
        for _ in range(BATCH):
            await app(_scope(path, headers), receive, send)
        means.append((time.thread_time() - start) / BATCH * 1e6)
    if set(statuses) != {200}:
        raise RuntimeError(f"answers other than 200: {sorted(set(statuses))}")
    return round(sorted(means)[len(means) // 10], 1)


async def run(args: argparse.Namespace) -> dict:
    stack_info = json.loads(Path(args.stack_file).read_text())
    env = dotenv_values(Path(stack_info["dir"]) / "conf" / "env" / f"{SINGLE_REPLICA}.env")
    os.environ.update({key: value for key, value in env.items() if value is not None})
    from parley_meetings.main import create_app  # reads its settings from the environment

    token, meeting_id = await set_up(stack_info["base_url"])
    path = f"/api/meetings/{meeting_id}"
    auth = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]
    app, peer = create_app(), peer_app()
    loadavg_start = os.getloadavg()
    rounds = []
    async with LifespanManager(app, startup_timeout=180), LifespanManager(peer):
        await cpu_us_per_request(app, path, auth, 200)  # warm up: the token, the summary cache
        await cpu_us_per_request(peer, path, [], 200)
        for number in range(args.rounds):
            meetings_us = await cpu_us_per_request(app, path, auth, args.requests)
            peer_us = await cpu_us_per_request(peer, path, [], args.requests)
            rounds.append({"meetings": meetings_us, "peer": peer_us})
            print(f"[bench:rest-cpu] round {number}: meetings {meetings_us} µs/request, peer {peer_us}, "
                  f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    return {"benchmark": "rest_cpu", "requests_per_round": args.requests,
            "loadavg_start": [round(x, 1) for x in loadavg_start],
            "loadavg_end": [round(x, 1) for x in os.getloadavg()], "rounds": rounds}


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/rest_cpu.py", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-file", default=os.environ.get("PARLEY_STACK_FILE", str(REPO / ".stack/dev/stack.json")))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3000, help="requests per target and round")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
