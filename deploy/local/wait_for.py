"""Block until dependencies are healthy, then replace this process with a command.

    python wait_for.py [--tcp HOST:PORT] [--http URL] [--topics BOOTSTRAP] [--timeout S] -- CMD...

Supervisord runs every gated program through this, so start-up order follows health rather
than guesses; exec keeps the real command's pid under supervisord's control. Exits 75 when a
dependency is still unhealthy at the timeout (supervisord then retries the program).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

import health


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: wait_for.py [checks] -- command ...")
    split = argv.index("--")
    p = argparse.ArgumentParser(prog="wait_for.py")
    for kind in health.PROBES:
        p.add_argument(f"--{kind}", action="append", default=[], metavar="TARGET")
    p.add_argument("--timeout", type=float, default=180.0)
    args = p.parse_args(argv[:split])
    command = argv[split + 1 :]
    if not command:
        raise SystemExit("wait_for.py: no command after --")
    return args, command


def wait(kind: str, target: str, timeout: float) -> None:
    started = time.monotonic()
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(0.5),
        retry=retry_if_result(lambda reason: reason is not None),
    )
    try:
        retrying(health.probe, kind, target)
    except RetryError as exc:
        last = exc.last_attempt.result()
        print(f"wait_for: gave up after {timeout:.0f}s: {last}", file=sys.stderr, flush=True)
        raise SystemExit(75) from None
    print(f"wait_for: {kind} {target} healthy after {time.monotonic() - started:.1f}s",
          file=sys.stderr, flush=True)


def main() -> None:
    args, command = parse(sys.argv[1:])
    for kind in health.PROBES:
        for target in getattr(args, kind):
            wait(kind, target, args.timeout)
    sys.stdout.flush()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
