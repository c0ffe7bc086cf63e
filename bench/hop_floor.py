"""The machine's own floor under a relay: messages forwarded through N bare processes.

No Parley, no Kafka, no WebSocket: a sender writes ``--rate`` short lines per second (open
loop: line i is due at t0 + i / rate) over loopback TCP to the first of ``N`` forwarding
processes, each writes every line it reads on to the next one, and the last one writes it back
to the sender, which takes the latency from the due time. Every process runs uvloop, as the
services do. ``--hops 1`` stands for a relay within one signaling replica (one server between
two clients), ``2`` for two replicas talking directly, ``3`` for two replicas and a broker
between them (the Kafka fan-out); each does nothing but read and write, so whatever the
relay benchmarks measure above these figures is the services' own work and their queueing
(bench/README.md, "The machine's floor").

Usage: ``.venv/bin/python bench/hop_floor.py --hops 1,2,3 --work-ms 0,0.4 --rate 1000``. The last
line of stdout is one JSON object: ``{"benchmark": "hop_floor", "rate", "seconds",
"load_average": {"start", "end"}, "runs": [{"hops", "work_ms", "received", "ms": {"min",
"p50", "p95", "p99", "max", "mean"}}]}``. ``--work-ms`` makes each forwarder spend that much
CPU per line (a busy loop), to see what a service's CPU per message does to the tail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Sequence

import uvloop

from percentiles import distribution
from procstat import load_average


async def forward(next_port: int, work_ms: float) -> None:
    """Forwarding process: listen on a free port (printed), write every line read to
    ``next_port`` after ``work_ms`` of CPU (a busy loop: the stand-in for a service's work)."""
    _, out = await asyncio.open_connection("127.0.0.1", next_port)
    work_s = work_ms / 1000

    async def handle(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            until = time.thread_time() + work_s
            while time.thread_time() < until:
                pass
            out.write(line)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


async def one_run(hops: int, rate: float, seconds: float, work_ms: float) -> dict:
    total = int(rate * seconds)
    latency_ms: list[float] = []
    all_back = asyncio.Event()

    async def sink(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            latency_ms.append((time.perf_counter() - float(line)) * 1000)
            if len(latency_ms) == total:
                all_back.set()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    forwarders = []
    try:
        for _ in range(hops):  # built from the last hop back to the first
            proc = subprocess.Popen([sys.executable, __file__, "--forward-to", str(port), "--work-ms", str(work_ms)], stdout=subprocess.PIPE)
            forwarders.append(proc)
            port = int(proc.stdout.readline())
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        t0 = time.perf_counter() + 0.2
        for i in range(total):
            due = t0 + i / rate
            while (early := due - time.perf_counter()) > 0:  # uvloop's timers wake up to 1 ms early
                await asyncio.sleep(early)
            writer.write(f"{due}\n".encode())
        try:
            await asyncio.wait_for(all_back.wait(), 10)
        except TimeoutError:
            pass
        writer.close()
    finally:
        for proc in forwarders:
            proc.kill()
            proc.wait()
        server.close()
    figures = distribution([round(ms, 2) for ms in latency_ms])
    print(f"[bench] {hops} hop(s), {work_ms:g} ms of work each, at {rate:g}/s: {len(latency_ms)}/{total} back, "
          f"ms {figures}", file=sys.stderr, flush=True)
    return {"hops": hops, "work_ms": work_ms, "received": len(latency_ms), "ms": figures}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hops", type=lambda s: [int(n) for n in s.split(",")], default=[1, 2, 3],
                        help="forwarding processes between sender and receiver, one run each (default 1,2,3)")
    parser.add_argument("--rate", type=float, default=1000.0, help="lines per second (default 1000)")
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per run (default 15)")
    parser.add_argument("--work-ms", type=lambda s: [float(n) for n in s.split(",")], default=[0.0],
                        help="CPU milliseconds each forwarder spends per line, one run each (default 0)")
    parser.add_argument("--forward-to", type=int, help=argparse.SUPPRESS)  # a forwarding process
    args = parser.parse_args(argv)
    if args.forward_to:
        uvloop.run(forward(args.forward_to, args.work_ms[0]))
        return 0
    start = load_average()
    runs = [uvloop.run(one_run(hops, args.rate, args.seconds, work_ms)) for work_ms in args.work_ms for hops in args.hops]
    print(json.dumps({"benchmark": "hop_floor", "rate": args.rate, "seconds": args.seconds,
                      "load_average": {"start": start, "end": load_average()}, "runs": runs}))
    return 0 if all(run["received"] == int(args.rate * args.seconds) for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
