"""Call set-up benchmark: the probe's two-party relay-only call, run N times in a row.

Each run is the whole ``parley_probe`` scenario (register, sign in, create and join a meeting,
two signaling replicas, TURN credentials, SDP offer/answer and ICE through coturn, media, chat,
end) against a running stack. Progress goes to stderr, one line per run; the last line of
stdout is one JSON object:

``{"benchmark": "call_setup", "base_url", "transports", "runs", "failures", "call_setup_ms": {"min", "p50",
"p95", "p99", "max", "mean"}, "negotiation_ms": {...}, "first_data_ms": {...},
"chat_delivered_ms": {...}, "steps_ms": {step: {...}}, "failed": [{"run", "step", "error"}],
"load_average": [before, after]}``, every figure in milliseconds (``load_average``: the 1-minute
load average when the runs started and ended). ``call_setup_ms`` is the probe's: from the
host's ``join`` to ICE connected on both peers; ``first_data_ms`` from sending the offer to
both peers' first data-channel message (ICE, DTLS, SCTP). Steps of one run that run at once
overlap in ``steps_ms`` (parley_probe.run). Goal (issue 7): p50 <= 250 ms, p95 <= 400 ms.

Usage (with ``./taskw up`` running): ``./taskw bench -- --runs 10`` or
``.venv/bin/python bench/call_setup.py --base-url http://127.0.0.1:18000 --runs 10``.
Exits 1 when any run failed (the figures cover the successful runs).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
from collections.abc import Sequence

from parley_probe.cli import DEFAULT_BASE_URL
from parley_probe.run import ProbeOptions, run_probe

from percentiles import distribution


async def bench(base_url: str, runs: int, transports: tuple[str, ...] = ("websocket",)) -> dict:
    """Run the probe ``runs`` times against ``base_url`` (sockets over ``transports``); return
    the summary described above."""
    results = []
    failed = []
    load_before = os.getloadavg()[0]
    for index in range(1, runs + 1):
        options = ProbeOptions(base_url=base_url, transports=transports)
        result = await run_probe(options, stream=io.StringIO())
        results.append(result)
        if result.ok:
            print(
                f"[bench] run {index}/{runs}: call_setup_ms={result.call_setup_ms} "
                f"negotiation_ms={result.negotiation_ms} chat_delivered_ms={result.chat_delivered_ms}",
                file=sys.stderr,
                flush=True,
            )
        else:
            failed.append({"run": index, "step": result.failed_step, "error": result.error})
            print(f"[bench] run {index}/{runs}: FAILED at {result.failed_step}: {result.error}", file=sys.stderr, flush=True)
    good = [r for r in results if r.ok]
    steps = sorted({name for r in good for name in r.steps_ms})
    return {
        "benchmark": "call_setup",
        "base_url": base_url,
        "transports": list(transports),
        "runs": runs,
        "failures": len(failed),
        "call_setup_ms": distribution([r.call_setup_ms for r in good]),
        "negotiation_ms": distribution([r.negotiation_ms for r in good if r.negotiation_ms is not None]),
        "first_data_ms": distribution([r.first_data_ms for r in good if r.first_data_ms is not None]),
        "chat_delivered_ms": distribution([r.chat_delivered_ms for r in good]),
        "steps_ms": {name: distribution([r.steps_ms[name] for r in good if name in r.steps_ms]) for name in steps},
        "failed": failed,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/call_setup.py", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="the stack's entry point (Traefik)")
    parser.add_argument("--runs", type=int, default=10, help="probe runs, one after the other (default 10)")
    parser.add_argument(
        "--transports",
        default="websocket",
        help="the sockets' Engine.IO transports, comma-separated (default websocket; "
        "socket.io's own default is polling,websocket)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    transports = tuple(args.transports.split(","))
    summary = asyncio.run(bench(args.base_url.rstrip("/"), args.runs, transports))
    print(json.dumps(summary), flush=True)
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
