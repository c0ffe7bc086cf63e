"""Metrics scrape benchmark: how long one Prometheus scrape holds a process's event loop.

A service's ``/metrics`` runs prometheus_client's ``generate_latest`` over its registry, and
the registry's process collector counts the open file descriptors by listing
``/proc/self/fd``: one entry per socket, so a signaling replica holding 10,000 WebSockets lists
10,000 entries at every scrape. This process opens ``--sockets`` sockets, builds a registry
with a process collector and a service's histograms, and runs ``--scrapes`` scrapes two ways in
turn: on the event loop (as ``/metrics`` was served before 2026-12-07) and in a worker thread
(``parley_observability.metrics_router`` now). A task that sleeps 1 ms in a loop measures how
late the loop comes back (its lag); the figure is the longest lag during the scrapes, and the
scrape's own duration. The last line of stdout is one JSON object:

``{"benchmark": "metrics_scrape", "sockets", "scrapes", "collect_ms", "on_loop": {"max_lag_ms"},
"in_thread": {"max_lag_ms"}}``

Usage: ``.venv/bin/python bench/metrics_scrape.py --sockets 10000`` (no stack needed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

import uvloop
from prometheus_client import CollectorRegistry, Histogram, ProcessCollector, generate_latest


def service_like_registry() -> CollectorRegistry:
    """A process collector and a request histogram with 30 routes' series, as a service has."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    duration = Histogram("bench_request_duration_seconds", "request duration", ["route"], registry=registry)
    for route in range(30):
        duration.labels(f"/api/route/{route}").observe(0.01)
    return registry


async def longest_lag_ms(scrape: Callable[[], Awaitable[object]], scrapes: int) -> float:
    """The longest delay (ms) of a 1 ms sleep on the loop while ``scrape`` runs ``scrapes`` times."""
    lags: list[float] = []
    running = True

    async def ticker() -> None:
        while running:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - started - 0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    lags.clear()
    for _ in range(scrapes):
        await scrape()
        await asyncio.sleep(0.02)
    running = False
    await task
    return round(max(lags) * 1000, 2)


async def bench(sockets: int, scrapes: int) -> dict:
    registry = service_like_registry()
    held = [socket.socket() for _ in range(sockets)]
    try:
        started = time.perf_counter()
        for _ in range(scrapes):
            generate_latest(registry)
        collect_ms = round((time.perf_counter() - started) / scrapes * 1000, 2)

        async def on_loop() -> None:
            generate_latest(registry)

        async def in_thread() -> None:
            await asyncio.to_thread(generate_latest, registry)

        return {
            "benchmark": "metrics_scrape",
            "sockets": sockets,
            "scrapes": scrapes,
            "collect_ms": collect_ms,
            "on_loop": {"max_lag_ms": await longest_lag_ms(on_loop, scrapes)},
            "in_thread": {"max_lag_ms": await longest_lag_ms(in_thread, scrapes)},
        }
    finally:
        for held_socket in held:
            held_socket.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/metrics_scrape.py", description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=10_000, help="open sockets during the scrapes (default 10000)")
    parser.add_argument("--scrapes", type=int, default=10, help="scrapes per way (default 10)")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.sockets + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.sockets + 100), hard))
    summary = uvloop.run(bench(args.sockets, args.scrapes))
    print(
        f"{summary['sockets']} sockets: a scrape takes {summary['collect_ms']} ms; the loop's longest lag "
        f"{summary['on_loop']['max_lag_ms']} ms on the loop, {summary['in_thread']['max_lag_ms']} ms in a thread",
        file=sys.stderr,
    )
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
