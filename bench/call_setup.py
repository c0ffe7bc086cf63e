"""Call set-up benchmark: the probe's two-party relay-only call, run N times in a row.

Each run is the whole ``parley_probe`` scenario (register, sign in, create and join a meeting,
two signaling replicas, TURN credentials, SDP offer/answer and ICE through coturn, media, chat,
end) against a running stack. Progress goes to stderr, one line per run; the last line of
stdout is one JSON object:

``{"benchmark": "call_setup", "base_url", "runs", "failures", "call_setup_ms": {"min", "p50",
"p95", "p99", "max", "mean"}, "negotiation_ms": {...}, "chat_delivered_ms": {...}, "steps_ms": {step:
{...}}, "failed": [{"run", "step", "error"}]}``, every figure in milliseconds. ``call_setup_ms``
is the probe's: from the host's ``join`` to ICE connected on both peers. The goal for issue 2 is
well under 1000 ms on a 2-core machine.

Usage (with ``./taskw up`` running): ``./taskw bench -- --runs 10`` or
``.venv/bin/python bench/call_setup.py --base-url http://127.0.0.1:18000 --runs 10``.
Exits 1 when any run failed (the figures cover the successful runs).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
from collections.abc import Sequence

from parley_probe.cli import DEFAULT_BASE_URL
from parley_probe.run import ProbeOptions, run_probe

from percentiles import distribution


async def bench(base_url: str, runs: int) -> dict:
    """Run the probe ``runs`` times against ``base_url``; return the summary described above."""
    results = []
    failed = []
    for index in range(1, runs + 1):
        result = await run_probe(ProbeOptions(base_url=base_url), stream=io.StringIO())
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
        "runs": runs,
        "failures": len(failed),
        "call_setup_ms": distribution([r.call_setup_ms for r in good]),
        "negotiation_ms": distribution([r.negotiation_ms for r in good if r.negotiation_ms is not None]),
        "chat_delivered_ms": distribution([r.chat_delivered_ms for r in good]),
        "steps_ms": {name: distribution([r.steps_ms[name] for r in good if name in r.steps_ms]) for name in steps},
        "failed": failed,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/call_setup.py", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="the stack's entry point (Traefik)")
    parser.add_argument("--runs", type=int, default=10, help="probe runs, one after the other (default 10)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    summary = asyncio.run(bench(args.base_url.rstrip("/"), args.runs))
    print(json.dumps(summary), flush=True)
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
