"""Runs the whole suite as ``./taskw test`` does, in two phases, and sums them up.

1. Every test not marked ``exclusive``, on ``PARLEY_TEST_WORKERS`` pytest-xdist workers
   (default 2, one per core here; scheduled by module, see the root conftest.py). Most tests wait on
   the stack, a browser or a timer, not on the CPU, so two at a time nearly halve the time.
2. The ``exclusive`` tests (they kill, drain or take over the stack's processes), one by one,
   with nothing else running.

Usage: ``python tests/suite.py [pytest arguments]``: the arguments go to both phases; a ``-m``
expression is combined with each phase's own. ``PARLEY_TEST_WORKERS=0`` runs phase 1 serially.
The last line sums both phases in pytest's words, e.g.
``==== 1009 passed, 1 failed in 1412.5s (on 2 workers 812.0s, exclusive 600.5s) ====``.
The exit status is pytest's: 0 when both phases passed (a phase that selected no test counts
as passed, unless neither selected one: 5), else the first failing phase's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NO_TESTS = 5  # pytest.ExitCode.NO_TESTS_COLLECTED
SUMMARY = re.compile(r"^=+ (?P<counts>.*?) in (?P<seconds>[\d.]+)s")
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|warnings?)")


def split_marker(args: Sequence[str]) -> tuple[str | None, list[str]]:
    """The ``-m`` expression of ``args`` (the last one, as pytest takes it) and the rest."""
    expression, rest, it = None, [], iter(args)
    for arg in it:
        if arg == "-m":
            expression = next(it, "")
        elif arg.startswith("-m") and not arg.startswith("--"):
            expression = arg[2:]
        else:
            rest.append(arg)
    return expression, rest


def phase_args(args: Sequence[str], workers: int) -> list[list[str]]:
    """The pytest arguments of each phase: in parallel, then the exclusive tests serially."""
    expression, rest = split_marker(args)
    scoped = (lambda own: f"({expression}) and {own}") if expression else (lambda own: own)
    parallel = ["-n", str(workers)] if workers > 0 else []
    return [
        [*parallel, "-m", scoped("not exclusive"), *rest],
        ["-p", "no:xdist", "-m", scoped("exclusive"), *rest],
    ]


def counts_of(summary_line: str) -> Counter[str] | None:
    """The counts of pytest's closing line (``== 3 passed, 1 error in 2.50s ==``), by singular
    word (``error``, ``warning``), or None when ``summary_line`` is not that line."""
    summary = SUMMARY.match(summary_line)
    if summary is None:
        return None
    return Counter({word.removesuffix("s") if word in ("errors", "warnings") else word: int(n)
                    for n, word in COUNT.findall(summary["counts"])})


def summary_words(counts: Counter[str]) -> str:
    """``counts`` in pytest's words and order: ``1009 passed, 2 errors``."""
    order = ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "warning")
    words = [f"{counts[w]} {w}{'s' if w in ('error', 'warning') and counts[w] != 1 else ''}"
             for w in order if counts[w]]
    return ", ".join(words) or "no tests ran"


def run_phase(args: list[str]) -> tuple[int, Counter[str], float]:
    """Runs pytest with ``args``, echoing its output: its exit code, counts and seconds."""
    started = time.monotonic()
    counts: Counter[str] = Counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, bufsize=1,
    )
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        counts = counts_of(line) or counts
    return process.wait(), counts, time.monotonic() - started


def main(args: Sequence[str]) -> int:
    workers = int(os.environ.get("PARLEY_TEST_WORKERS", "2"))
    results = [run_phase(phase) for phase in phase_args(args, workers)]
    total = sum((counts for _, counts, _ in results), Counter())
    (_, _, parallel_s), (_, _, exclusive_s) = results
    where = f"on {workers} workers" if workers > 0 else "serially"
    print(f"==== {summary_words(total)} in {parallel_s + exclusive_s:.1f}s ({where} {parallel_s:.1f}s, "
          f"exclusive {exclusive_s:.1f}s) ====", flush=True)
    codes = [code for code, _, _ in results]
    if all(code == NO_TESTS for code in codes):
        return NO_TESTS
    return next((code for code in codes if code not in (0, NO_TESTS)), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
