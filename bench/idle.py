"""Idle stack benchmark: the CPU every program of a local stack spends while nobody uses it.

Reads each program's user + system CPU (``procstat.stack_cpu_seconds``: the children of the
stack's supervisord, descendants included) at the start and the end of a window and prints
milliseconds of CPU per second of wall time, one line per program, then sums: the Python
services (auth, meetings, chat, signaling, turn-config, web) and the whole stack. The last line
of stdout is one JSON object:

``{"benchmark": "idle", "stack_file", "seconds", "load_average": [start, end],
"cpu_ms_per_s": {program: ms}, "python_services_ms_per_s", "stack_ms_per_s"}``

(``load_average``: the 1-minute load average at the window's start and end). What an idle stack
costs is its services' timers and polls: outbox relays, sweeps, Kafka consumers, heartbeats.
Compare figures of one run against another run of the same hour: the machine's load changes
every figure (bench/README.md, "Idle subscribers").

Usage (with a local stack running): ``./taskw bench:idle -- --seconds 60`` or
``.venv/bin/python bench/idle.py --stack-file .stack/test/stack.json --seconds 60``.
Exits 1 when the stack file names no running local stack.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from procstat import load_average, stack_cpu_seconds

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STACK_FILE = REPO / ".stack" / "dev" / "stack.json"
#: Program names (``stack_cpu_seconds``) that are Parley's own Python services, by prefix.
SERVICES = ("auth", "meetings", "chat", "signaling", "turn-config", "web")


def measure(stack_file: Path, seconds: float) -> dict:
    """CPU per program over ``seconds`` of an idle stack; the summary described above.

    Raises LookupError when ``stack_file`` names no running local stack."""
    loads = [load_average()[0]]
    start = stack_cpu_seconds(stack_file)
    if not start:
        raise LookupError(f"no running local stack in {stack_file}")
    began = time.monotonic()
    time.sleep(seconds)
    end = stack_cpu_seconds(stack_file)
    elapsed = time.monotonic() - began
    loads.append(load_average()[0])
    per_s = {name: round((end[name] - start[name]) * 1000 / elapsed, 1) for name in sorted(end) if name in start}
    services = sum(ms for name, ms in per_s.items() if name.startswith(SERVICES))
    return {
        "benchmark": "idle",
        "stack_file": str(stack_file),
        "seconds": round(elapsed, 1),
        "load_average": loads,
        "cpu_ms_per_s": per_s,
        "python_services_ms_per_s": round(services, 1),
        "stack_ms_per_s": round(sum(per_s.values()), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/idle.py", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-file", type=Path, default=DEFAULT_STACK_FILE, help="the stack's stack.json")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the window (default 60)")
    args = parser.parse_args(argv)
    print(f"[idle] reading every program's CPU for {args.seconds:g} s", file=sys.stderr, flush=True)
    try:
        summary = measure(args.stack_file, args.seconds)
    except LookupError as error:
        print(f"[idle] {error}", file=sys.stderr)
        return 1
    for name, ms in summary["cpu_ms_per_s"].items():
        print(f"{name:14s} {ms:7.1f} ms/s")
    print(f"{'python services':14s} {summary['python_services_ms_per_s']:7.1f} ms/s")
    print(f"{'whole stack':14s} {summary['stack_ms_per_s']:7.1f} ms/s")
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
