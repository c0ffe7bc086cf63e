"""Start, check and stop a local Parley stack under supervisord.

    python deploy/local/stack.py up     [--name dev] [--base 18000] [--only infra] [--fresh]
    python deploy/local/stack.py status [--name dev]
    python deploy/local/stack.py down   [--name dev]
    python deploy/local/stack.py render [--name dev] [--only ...]

``up`` renders the configuration under ``.stack/<name>/``, starts supervisord (daemonized,
unix socket in ``.stack/<name>/run/``), waits until every component passes its health check
(printing which are healthy and which still starting, every 20 s) and prints the URLs. It
waits as long as components make progress (readiness.py): it gives up when nothing progressed
for ``--stall-timeout`` (300 s), after ``--timeout`` (1800 s) in all, or when a component
failed for good, naming it and showing its log tail.
``--only`` (development) starts a subset: component names and/or the groups ``infra``,
``services``, ``all``. Without it, everything runs. The port base is ``--base``, else
``$PARLEY_PORT_BASE``, else (``status`` and ``down``) the one in the running stack's file,
else 18000 for ``dev`` and 28000 for ``test``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import credentials  # noqa: E402
import health  # noqa: E402
from readiness import Seen, StartWatch  # noqa: E402
import render  # noqa: E402
import supervisor_conf  # noqa: E402
import supervisor_client as sv  # noqa: E402
from components import SERVICES, Component, select, web_client_expected  # noqa: E402
from layout import (  # noqa: E402
    HOST, POSTGRES_LIB, WEB_DIST, Stack, ferretdb_bin, kafka_libs, venv_bin,
)

#: seconds between two progress lines while `up` waits
REPORT_EVERY_S = 20.0


def say(msg: str) -> None:
    print(msg, flush=True)


def log_tail(stack: Stack, name: str, lines: int = 40) -> str:
    path = stack.logs / f"{name}.log"
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- last {len(text)} lines of {path}\n" + "\n".join(text)


# prerequisites ------------------------------------------------------------------------------
def missing_prerequisites(selected: dict[str, Component]) -> list[str]:
    need = {
        "kafka": (kafka_libs() / ".complete", "Kafka jars"),
        "ferretdb": (ferretdb_bin(), "FerretDB binary"),
        "coturn": (Path("/usr/bin/turnserver"), "coturn (apt)"),
        "prometheus": (Path("/usr/bin/prometheus"), "Prometheus (apt)"),
        "traefik": (venv_bin() / "traefik", "traefik (uv sync)"),
        "postgres": (next(POSTGRES_LIB.glob("*/bin/initdb"), POSTGRES_LIB / "<major>/bin/initdb"),
                     "PostgreSQL server (apt)"),
    }
    out = [f"{what}: {path}" for name, (path, what) in need.items()
           if name in selected and not path.exists()]
    if not (venv_bin() / "supervisord").exists():
        out.append(f"supervisord (uv sync): {venv_bin() / 'supervisord'}")
    if "web" in selected and web_client_expected() and not (WEB_DIST / "index.html").exists():
        out.append(f"web client build (npm ci + npm run build in web/): {WEB_DIST / 'index.html'}")
    return out


def ports_in_use(stack: Stack, selected: dict[str, Component]) -> list[int]:
    ports = [stack.base + off for off in _offsets_of(selected)]
    busy = []
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((HOST, port))
            except OSError:
                busy.append(port)
    return busy


def _offsets_of(selected: dict[str, Component]) -> list[int]:
    from layout import OFFSETS

    extra = {"traefik": ["traefik_ping"], "kafka": ["kafka_controller"],
             "ferretdb": ["ferretdb_debug"]}
    keys = [k for name in selected if name in OFFSETS for k in [name, *extra.get(name, [])]]
    return [OFFSETS[k] for k in keys]


# up -----------------------------------------------------------------------------------------
def prepare(stack: Stack, selected: dict[str, Component], fresh: bool) -> None:
    if fresh:
        for d in (stack.data, stack.logs, stack.run):
            shutil.rmtree(d, ignore_errors=True)
    for d in (stack.data, stack.logs, stack.conf, stack.run, stack.secrets):
        d.mkdir(parents=True, exist_ok=True)
    for d in ("kafka", "ferretdb-state", "prometheus", "coturn"):  # postgres: run_postgres.py
        (stack.data / d).mkdir(exist_ok=True)
    stack.secrets.chmod(0o700)
    credentials.ensure(stack)
    render.render_all(stack)
    for comp in selected.values():
        if comp.env_file:
            render.write_env_file(stack, comp)
    supervisor_conf.write(stack, selected)
    render.write_stack_file(stack, selected)


def start_supervisord(stack: Stack) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["PATH"] = f"{venv_bin()}:{env.get('PATH', '/usr/bin:/bin')}"
    subprocess.run(
        [str(venv_bin() / "supervisord"), "-c", str(stack.supervisor_conf)],
        check=True, env=env, cwd=stack.dir,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if sv.supervisord_pid(stack) and sv.process_info(stack):
            return
        time.sleep(0.2)
    raise SystemExit(f"supervisord of stack {stack.name} did not come up; see "
                     f"{stack.logs / 'supervisord.log'}")


#: what wait_for.py writes (to the component's log) when a gate stayed unhealthy too long
GATE_GAVE_UP = b"wait_for: gave up"


def _log_since(log: Path, offsets: dict[str, int], name: str, size: int) -> bytes:
    """What ``log`` gained since the last call for ``name`` (nothing if it shrank or is absent)."""
    start = offsets.get(name, 0)
    offsets[name] = size
    if size <= start:
        return b""
    with log.open("rb") as f:
        f.seek(start)
        return f.read(size - start)


def wait_healthy(stack: Stack, selected: dict[str, Component], stall_timeout: float,
                 timeout: float) -> bool:
    """Poll every component's ready check (concurrently) until all pass, printing progress.

    Gives up when nothing progressed for ``stall_timeout`` seconds, after ``timeout`` seconds
    in all, or as soon as a component failed for good (see readiness.py), naming it and
    showing its log tail.
    """
    started = time.monotonic()
    pending = dict(sorted(selected.items(), key=lambda kv: kv[1].priority))
    watch = StartWatch(list(pending), started,
                       oneshots=frozenset(n for n, c in pending.items() if c.oneshot))
    running: dict[str, Future] = {}
    offsets: dict[str, int] = {}  # how much of each component's log was read
    last_report = started
    say(f"waiting for {len(pending)} components (giving up after {stall_timeout:.0f}s without "
        f"progress, or {timeout:.0f}s in all):")
    with ThreadPoolExecutor(max_workers=len(pending)) as pool:
        while pending:
            for name, comp in pending.items():
                if name not in running:
                    running[name] = pool.submit(health.probe, comp.ready.kind, comp.ready.target)
            time.sleep(0.5)
            now = time.monotonic()
            info = sv.process_info(stack)
            for name, comp in list(pending.items()):
                p = info.get(name)  # None: supervisord did not answer this time (load)
                log = stack.logs / f"{name}.log"
                size = log.stat().st_size if log.exists() else 0
                seen = p and Seen(state=p["statename"], pid=p.get("pid") or 0,
                                  exitstatus=p.get("exitstatus") or 0, log_size=size,
                                  gate_gave_up=GATE_GAVE_UP in _log_since(log, offsets, name, size))
                failed = seen and watch.observe(name, seen, now)
                if failed:
                    say(f"  FAILED  {name}: {failed}")
                    say(log_tail(stack, name))
                    return False
                if not running[name].done():
                    continue
                if watch.probed(name, running.pop(name).result(), now):
                    say(f"  ok      {name:<13} {comp.ready}  ({now - started:.1f}s)")
                    del pending[name]
            if not pending:
                break
            stalled = watch.stalled_for(now)
            if stalled > stall_timeout or now - started > timeout:
                why = (f"nothing progressed for {stalled:.0f}s (no component became healthy, "
                       f"changed state in supervisord or wrote to its log)"
                       if stalled > stall_timeout else f"not all healthy after {timeout:.0f}s")
                say(f"  giving up: {why}")
                for name in pending:
                    say(f"  FAILED  {name}: {watch.describe(name)}")
                    say(log_tail(stack, name))
                return False
            if now - last_report >= REPORT_EVERY_S:
                last_report = now
                say(watch.report(now))
    return True


def print_urls(stack: Stack, selected: dict[str, Component]) -> None:
    say(f"\nstack {stack.name!r} is up (port base {stack.base}):")
    if "traefik" in selected:
        say(f"  Parley (Traefik)  {stack.url('traefik')}")
    if "prometheus" in selected:
        say(f"  Prometheus        {stack.url('prometheus')}")
    if "kafka" in selected:
        say(f"  Kafka bootstrap   {HOST}:{stack.port('kafka')}")
    if "ferretdb" in selected:
        say(f"  MongoDB wire      mongodb://{HOST}:{stack.port('ferretdb')}/  "
            f"(FerretDB on PostgreSQL {HOST}:{stack.port('postgres')})")
    if "coturn" in selected:
        say(f"  TURN/STUN         {HOST}:{stack.port('coturn')} (udp+tcp)")
    for name in SERVICES:
        if name in selected:
            say(f"  {name:<17} {stack.url(name)}")
    if "web" in selected and not web_client_expected():
        say("  (web/package.json does not exist yet: the web service answers 503 "
            "client_not_built until the browser client is written and built)")
    say(f"  stack file        {stack.stack_file}")
    say(f"  logs              {stack.logs}/")


def cmd_up(stack: Stack, args: argparse.Namespace) -> int:
    selected = select(stack, args.only)
    if sv.supervisord_pid(stack):
        running_base = recorded_base(stack)
        if running_base is not None and running_base != stack.base:
            say(f"stack {stack.name!r} is already running on port base {running_base}, not {stack.base}: "
                f"stop it first (stack.py down --name {stack.name}), or start this one under another --name")
            return 2
        say(f"stack {stack.name!r} is already running; checking it "
            f"(run `down` first to apply configuration changes{' or to start it --fresh' if args.fresh else ''})")
        running = sv.process_info(stack)
        selected = {n: c for n, c in select(stack, None).items() if n in running}
    else:
        missing = missing_prerequisites(selected)
        if missing:
            say("missing (run ./taskw install):\n  " + "\n  ".join(missing))
            return 2
        busy = ports_in_use(stack, selected)
        if busy:
            say(f"ports already in use: {busy}. Another stack with port base {stack.base}? "
                f"Stop it, or choose another base with PARLEY_PORT_BASE / --base.")
            return 2
        prepare(stack, selected, args.fresh)
        say(f"starting stack {stack.name!r} ({', '.join(selected)}) under supervisord")
        start_supervisord(stack)
    if not wait_healthy(stack, selected, args.stall_timeout, args.timeout):
        say(f"\nstack {stack.name!r} is NOT healthy; it is left running for inspection. "
            f"Logs: {stack.logs}/  Stop it with: stack.py down --name {stack.name}")
        return 1
    print_urls(stack, selected)
    return 0


# down / status ------------------------------------------------------------------------------
def cmd_down(stack: Stack, args: argparse.Namespace) -> int:
    pid = sv.supervisord_pid(stack)
    if pid:
        children = [p["pid"] for p in sv.process_info(stack).values() if p.get("pid")]
        say(f"stopping stack {stack.name!r} (supervisord {pid}, {len(children)} processes)")
        try:
            sv.proxy(stack).supervisor.shutdown()
        except OSError as exc:
            say(f"  supervisord did not answer ({exc}); terminating it")
            sv.terminate([pid])
        left = sv.wait_gone([pid, *children], 60)
        if left:
            say(f"  still alive after 60s: {left}; terminating")
            sv.terminate(left)
    else:
        say(f"stack {stack.name!r} is not running")
    strays = sv.stack_pids(stack)
    if strays:
        say("  processes of the stack left behind, terminating:\n    "
            + "\n    ".join(f"{p} {c}" for p, c in strays))
        sv.terminate([p for p, _ in strays])
    remaining = sv.stack_pids(stack)
    if remaining:
        say(f"  FAILED to stop: {remaining}")
        return 1
    say(f"stack {stack.name!r}: no process remains (pgrep -f {stack.dir}/)")
    return 0


def recorded_base(stack: Stack) -> int | None:
    """The port base the stack's last ``up`` wrote in its stack file, if any."""
    try:
        return int(json.loads(stack.stack_file.read_text())["port_base"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cmd_status(stack: Stack, args: argparse.Namespace) -> int:
    pid = sv.supervisord_pid(stack)
    if not pid:
        say(f"stack {stack.name!r} is not running")
        return 3
    info = sv.process_info(stack)
    comps = select(stack, None)
    say(f"stack {stack.name!r}: supervisord pid {pid}, port base {stack.base}")
    unhealthy = 0
    for name, p in sorted(info.items(), key=lambda kv: comps[kv[0]].priority):
        comp = comps[name]
        reason = health.probe(comp.ready.kind, comp.ready.target)
        unhealthy += reason is not None
        say(f"  {name:<13} {p['statename']:<8} pid {p['pid'] or '-':<7} "
            f"{'healthy' if reason is None else 'UNHEALTHY: ' + reason}")
    return 0 if unhealthy == 0 else 1


def cmd_render(stack: Stack, args: argparse.Namespace) -> int:
    selected = select(stack, args.only)
    prepare(stack, selected, fresh=False)
    say(f"rendered {stack.conf} and {stack.stack_file}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="stack.py", description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["up", "down", "status", "render"])
    p.add_argument("--name", default="dev", help="stack name (dev, test, ...)")
    p.add_argument("--base", type=int, default=None, help="port base (default by name)")
    p.add_argument("--only", default=None,
                   help="development: comma-separated components/groups (infra, services)")
    p.add_argument("--fresh", action="store_true", help="wipe data and logs before starting")
    p.add_argument("--stall-timeout", type=float, default=300.0,
                   help="give up when no component progressed for this long (s)")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="give up when not all healthy after this long in all (s)")
    args = p.parse_args(argv)
    base = args.base
    if base is None and args.command in ("status", "down") and "PARLEY_PORT_BASE" not in os.environ:
        base = recorded_base(Stack.named(args.name))  # the running stack's, not the default
    stack = Stack.named(args.name, base)
    handler = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "render": cmd_render}
    return handler[args.command](stack, args)


if __name__ == "__main__":
    sys.exit(main())
