"""REST benchmark: ``GET /api/meetings/{id}`` at constant rates, Parley beside a bare FastAPI app.

Set-up: one fresh user registers and signs in through Traefik and creates a meeting; every
request carries that user's bearer token. Targets, measured in the same run, step by step
(each rate is run against every target before the next rate):

- ``parley_traefik``: through Traefik (``--base-url``). By default meetings-2 is stopped for the
  run (through the stack's supervisord, started again at the end), so every request lands on
  one meetings process, meetings-1; ``--both-replicas`` keeps both.
- ``parley_direct``: on meetings-1's own port, no Traefik.
- ``peer``: ``bench/peers/bare_fastapi.py`` (same route and answer shape; no token, database
  or middleware) under uvicorn with meetings' own options (``deploy/local/components.py``),
  started and stopped by this script.
- ``peer_traefik``: the peer through a Traefik of its own (the stack's binary and static
  options, its access log included, one router without middlewares), started and stopped by
  this script: what the same proxy costs in front of the bare app, on the same machine.

Before the steps, each target gets ``--warmup`` seconds at the highest rate (connections,
caches, the token, the proxies' pools; a freshly started process is slower in its first
seconds), reported as ``warmup`` and counted nowhere else.

Load: vegeta (tsenart/vegeta, built by ``./taskw install:vegeta``), open loop: each request is
sent at its scheduled time whether or not earlier ones were answered, so a slow server shows
as latency and a falling achieved rate, never as a politely slower client. Per step and
target: ``rate`` (requested/s), ``achieved_per_s`` (sent/s), ``throughput_per_s`` (successful
answers/s), ``ms`` (``p50``, ``p90``, ``p99``, ``max``; vegeta's own percentiles of latency
from sending to the full answer), ``errors`` (answers other than 200, and transport errors),
``status_codes``, ``slow`` (the requests over ``--p99-limit-ms`` by 100-ms window of their
send time: a few full windows are a stall, of the server or of a machine busy elsewhere;
:func:`slow_windows`), ``server_cpu_ms_per_request`` (user+system CPU of the serving process,
meetings-1 or the peer, over the step, divided by the requests), ``store_cpu_ms_per_request``
(the same of FerretDB and PostgreSQL with its backends; Parley's targets) and
``traefik_cpu_ms_per_request`` (the Traefik in front of it; ``parley_traefik`` and
``peer_traefik``), and ``loadavg`` (1-minute
load average at the end of the step: the machine is shared). A target whose step failed badly
(p99 over ``SATURATED_MS`` or under 95 % successes) is not run at higher rates.

The last line of stdout is one JSON object: ``{"benchmark": "rest", "base_url", "single_meetings_process",
"duration_s", "p99_limit_ms", "loadavg_start", "loadavg_end", "warmup": {target: step},
"steps": {target: [step...]},
"highest_rate_within_limit": {target: rate or null}}``. ``highest_rate_within_limit`` is the
highest step rate a target served with p99 <= ``--p99-limit-ms``, no error and at least 95 % of
the requested rate. Exits 1 when the set-up failed.

Usage (with ``./taskw up`` running): ``./taskw bench:rest`` or
``.venv/bin/python bench/rest.py --rates 100,250,500,1000,1500 --duration 10``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from parley_probe.api import ApiClient
from parley_probe.cli import DEFAULT_BASE_URL

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "deploy" / "local"))

from components import uvicorn_options  # noqa: E402
from layout import Stack, venv_bin, vegeta_bin  # noqa: E402
from supervisor_client import proxy  # noqa: E402

from procstat import cpu_seconds, tree_cpu_seconds  # noqa: E402

DEFAULT_RATES = (100, 250, 500, 1000, 1500)
#: a step worse than this p99 (ms) or under 95 % successes saturates its target
SATURATED_MS = 1000.0
SLOW_WINDOW_MS = 100  # the windows of slow_windows
PEER_PORT_OFFSET = 90  # the peer listens on the stack's port base + this
PEER_TRAEFIK_PORT_OFFSET = 91  # and its own Traefik on this one
SINGLE_REPLICA = "meetings-1"
STOPPED_REPLICA = "meetings-2"


def say(message: str) -> None:
    print(f"[bench:rest] {message}", file=sys.stderr, flush=True)


async def set_up(base_url: str) -> tuple[str, str]:
    """Register and sign in a fresh user, create a meeting: (access token, meeting id)."""
    async with ApiClient(base_url, timeout_s=30.0) as api:
        email = f"bench-rest-{uuid.uuid4().hex[:12]}@example.com"
        password = f"pw-{uuid.uuid4().hex}"
        await api.register(email, "Bench REST", password)
        await api.login(email, password)
        meeting = await api.create_meeting("REST benchmark")
        assert api.access_token is not None
        return api.access_token, meeting["meeting_id"]


def attack(vegeta: Path, targets: Path, rate: int, duration_s: float, limit_ms: float) -> tuple[dict, dict]:
    """One vegeta attack at ``rate``/s for ``duration_s``: vegeta's JSON report, and where in
    time the requests over ``limit_ms`` were (:func:`slow_windows`)."""
    results = targets.with_suffix(".results")
    with results.open("wb") as out:
        subprocess.run([str(vegeta), "attack", f"-targets={targets}", "-format=http", f"-rate={rate}/1s",
                        f"-duration={duration_s}s", "-timeout=10s"], stdout=out, check=True)
    report = subprocess.run([str(vegeta), "report", "-type=json", str(results)], capture_output=True, text=True,
                            check=True)
    encoded = subprocess.run([str(vegeta), "encode", "-to=csv", str(results)], capture_output=True, text=True,
                             check=True)
    results.unlink()
    return json.loads(report.stdout), slow_windows(encoded.stdout, limit_ms)


def slow_windows(results_csv: str, limit_ms: float, window_ms: int = SLOW_WINDOW_MS) -> dict:
    """Requests over ``limit_ms``, by when they were sent: bunched in a few windows is a stall
    (of the server, or of the machine: a CPU busy elsewhere), spread over the run is a server
    slower per request. ``results_csv`` is ``vegeta encode -to=csv`` (columns: send time in
    ns since the epoch, status code, latency in ns, ...). Returns ``{"window_ms", "over_limit":
    requests, "windows": [[seconds from the first request, requests over the limit, the
    window's max ms], ...]}`` for the windows with any."""
    sent = [(int(row[0]), int(row[2])) for row in csv.reader(io.StringIO(results_csv)) if row]
    first = min((t for t, _ in sent), default=0)
    windows: dict[int, list[float]] = {}
    for t, latency_ns in sent:
        if latency_ns > limit_ms * 1e6:
            windows.setdefault((t - first) // (window_ms * 1_000_000), []).append(latency_ns / 1e6)
    return {
        "window_ms": window_ms,
        "over_limit": sum(len(slow) for slow in windows.values()),
        "windows": [[round(w * window_ms / 1000, 1), len(slow), round(max(slow), 1)] for w, slow in sorted(windows.items())],
    }


def step_figures(rate: int, report: dict, slow: dict, cpu_s: float | None, store_cpu_s: float | None,
                 traefik_cpu_s: float | None) -> dict:
    latencies = report["latencies"]
    requests = report["requests"]
    codes = {str(code): count for code, count in report.get("status_codes", {}).items()}
    return {
        "rate": rate,
        "requests": requests,
        "achieved_per_s": round(report["rate"], 1),
        "throughput_per_s": round(report["throughput"], 1),
        "ms": {name: round(latencies[key] / 1e6, 2)
               for name, key in (("p50", "50th"), ("p90", "90th"), ("p99", "99th"), ("max", "max"))},
        "errors": requests - codes.get("200", 0),
        "status_codes": codes,
        "error_samples": report.get("errors", [])[:3],
        "slow": slow,
        "server_cpu_ms_per_request": per_request(cpu_s, requests),
        "store_cpu_ms_per_request": per_request(store_cpu_s, requests),
        "traefik_cpu_ms_per_request": per_request(traefik_cpu_s, requests),
        "loadavg": round(os.getloadavg()[0], 1),
    }


def per_request(cpu_s: float | None, requests: int) -> float | None:
    return round(cpu_s * 1000 / requests, 3) if cpu_s is not None and requests else None


def holds(step: dict, limit_ms: float) -> bool:
    return step["ms"]["p99"] <= limit_ms and step["errors"] == 0 and step["achieved_per_s"] >= 0.95 * step["rate"]


def saturated(step: dict) -> bool:
    return step["ms"]["p99"] > SATURATED_MS or step["errors"] > 0.05 * step["requests"]


@contextmanager
def serving(cmd: list[str], port: int, what: str):
    """Process ``cmd`` until the block ends, from when ``GET /api/meetings/x`` on ``port``
    answers 200 (60 s at most; an error with its stderr if it exits or never answers)."""
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/meetings/x", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start: {process.stderr.read() if process.stderr else ''}")
            time.sleep(0.3)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)


def peer_process(port: int):
    """The bare FastAPI peer under uvicorn with meetings' options, until the block ends."""
    cmd = [str(venv_bin() / "uvicorn"), "--factory", "peers.bare_fastapi:create_app", "--app-dir", str(BENCH),
           "--host", "127.0.0.1", "--port", str(port), *uvicorn_options(SINGLE_REPLICA)]
    return serving(cmd, port, "the peer")


@contextmanager
def peer_traefik(stack: Stack, peer_port: int, port: int):
    """A Traefik of its own in front of the peer, until the block ends: the stack's binary and
    static configuration (its access log included; its own entry point and file provider),
    one router to the peer without middlewares."""
    static = yaml.safe_load((stack.conf / "traefik" / "traefik.yml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        dynamic = Path(tmp) / "dynamic.yml"
        dynamic.write_text(yaml.safe_dump({"http": {
            "routers": {"peer": {"entryPoints": ["web"], "rule": "PathPrefix(`/api/meetings`)", "service": "peer"}},
            "services": {"peer": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{peer_port}"}]}}},
        }}))
        static.update(entryPoints={"web": {"address": f"127.0.0.1:{port}"}},
                      providers={"file": {"filename": str(dynamic), "watch": False}},
                      accessLog={**static.get("accessLog", {}), "filePath": str(Path(tmp) / "access.log")})
        static.pop("ping", None)
        config = Path(tmp) / "traefik.yml"
        config.write_text(yaml.safe_dump(static))
        with serving([str(venv_bin() / "traefik"), f"--configFile={config}"], port, "the peer's Traefik") as process:
            yield process


@contextmanager
def one_meetings_process(stack: Stack | None, base_url: str, token: str, meeting_id: str):
    """meetings-2 stopped for the block (and started again after), once Traefik no longer
    sends it anything; nothing happens without a stack."""
    if stack is None:
        yield False
        return
    supervisor = proxy(stack).supervisor
    deadline = time.monotonic() + 120
    while (state := supervisor.getProcessInfo(STOPPED_REPLICA)["statename"]) == "STARTING":
        if time.monotonic() > deadline:  # a previous run started it again and it did not come up
            raise RuntimeError(f"{STOPPED_REPLICA} stayed STARTING for 120 s")
        time.sleep(0.5)
    say(f"stopping {STOPPED_REPLICA} ({state}) for the run: every request through Traefik goes to {SINGLE_REPLICA}")
    if state == "RUNNING":
        supervisor.stopProcess(STOPPED_REPLICA)
    try:
        url = f"{base_url}/api/meetings/{meeting_id}"
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 60
        in_a_row = 0
        while in_a_row < 20 and time.monotonic() < deadline:  # Traefik's health check takes it out
            try:
                ok = httpx.get(url, headers=headers, timeout=5).status_code == 200
            except httpx.HTTPError:
                ok = False
            in_a_row = in_a_row + 1 if ok else 0
            time.sleep(0.05 if ok else 0.5)
        yield True
    finally:
        say(f"starting {STOPPED_REPLICA} again")
        supervisor.startProcess(STOPPED_REPLICA, False)


def run(args: argparse.Namespace) -> dict:
    vegeta = Path(args.vegeta)
    if not vegeta.exists():
        raise SystemExit(f"vegeta not found at {vegeta}: run ./taskw install:vegeta")
    stack_info = json.loads(Path(args.stack_file).read_text())
    base_url = (args.base_url or stack_info["base_url"]).rstrip("/")
    stack = Stack.named(stack_info["name"], stack_info["port_base"])
    supervisor = proxy(stack).supervisor
    meetings_pid = supervisor.getProcessInfo(SINGLE_REPLICA)["pid"]
    store = [supervisor.getProcessInfo(name)["pid"] for name in ("ferretdb", "postgres")]
    traefik = [supervisor.getProcessInfo("traefik")["pid"]]
    direct_url = stack_info["services"][SINGLE_REPLICA]["url"]
    peer_port = stack_info["port_base"] + PEER_PORT_OFFSET
    peer_traefik_port = stack_info["port_base"] + PEER_TRAEFIK_PORT_OFFSET

    token, meeting_id = asyncio.run(set_up(base_url))
    say(f"meeting {meeting_id}; rates {args.rates}/s, {args.duration:g} s each")
    loadavg_start = os.getloadavg()
    steps: dict[str, list[dict]] = {"parley_traefik": [], "parley_direct": [], "peer": [], "peer_traefik": []}
    warmup: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, peer_process(peer_port) as peer, \
            peer_traefik(stack, peer_port, peer_traefik_port) as peers_traefik, \
            one_meetings_process(None if args.both_replicas else stack, base_url, token, meeting_id) as single:
        auth = f"Authorization: Bearer {token}\n"
        files = {}
        for name, url, header in (("parley_traefik", base_url, auth), ("parley_direct", direct_url, auth),
                                  ("peer", f"http://127.0.0.1:{peer_port}", ""),
                                  ("peer_traefik", f"http://127.0.0.1:{peer_traefik_port}", "")):
            files[name] = Path(tmp) / f"{name}.txt"
            files[name].write_text(f"GET {url}/api/meetings/{meeting_id}\n{header}\n")
        pids = {"parley_traefik": meetings_pid, "parley_direct": meetings_pid, "peer": peer.pid, "peer_traefik": peer.pid}
        traefiks = {"parley_traefik": traefik, "peer_traefik": [peers_traefik.pid]}

        def measure(name: str, rate: int, duration_s: float, label: str = "") -> dict:
            store_pids = store if name.startswith("parley") else []
            traefik_pids = traefiks.get(name, [])
            before = (cpu_seconds(pids[name]), tree_cpu_seconds(store_pids), tree_cpu_seconds(traefik_pids))
            report, slow = attack(vegeta, files[name], rate, duration_s, args.p99_limit_ms)
            after = (cpu_seconds(pids[name]), tree_cpu_seconds(store_pids), tree_cpu_seconds(traefik_pids))
            step = step_figures(rate, report, slow, after[0] - before[0],
                                after[1] - before[1] if store_pids else None,
                                after[2] - before[2] if traefik_pids else None)
            say(f"{name:15} {rate:5}/s{label}: "
                f"achieved {step['achieved_per_s']:7.1f}/s  p50 {step['ms']['p50']:8.2f}  "
                f"p99 {step['ms']['p99']:8.2f}  max {step['ms']['max']:8.2f} ms  errors {step['errors']}  "
                f"over {args.p99_limit_ms:g} ms: {slow['over_limit']} in {len(slow['windows'])} of "
                f"{int(duration_s * 1000 / slow['window_ms'])} windows  "
                f"cpu ms/req: server {step['server_cpu_ms_per_request']} store {step['store_cpu_ms_per_request']} "
                f"traefik {step['traefik_cpu_ms_per_request']}  load {step['loadavg']}")
            return step

        if args.warmup > 0:
            for name in files:
                warmup[name] = measure(name, max(args.rates), args.warmup, " warm-up")
        done: set[str] = set()
        for rate in args.rates:
            for name in files:
                if name in done:
                    continue
                time.sleep(1.0)
                step = measure(name, rate, args.duration)
                steps[name].append(step)
                if saturated(step):
                    done.add(name)
    return {
        "benchmark": "rest",
        "base_url": base_url,
        "single_meetings_process": single,
        "duration_s": args.duration,
        "p99_limit_ms": args.p99_limit_ms,
        "loadavg_start": [round(x, 1) for x in loadavg_start],
        "loadavg_end": [round(x, 1) for x in os.getloadavg()],
        "warmup": warmup,
        "steps": steps,
        "highest_rate_within_limit": {
            name: max((s["rate"] for s in found if holds(s, args.p99_limit_ms)), default=None)
            for name, found in steps.items()
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/rest.py", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-file", default=os.environ.get("PARLEY_STACK_FILE", str(REPO / ".stack/dev/stack.json")),
                        help="the running stack's stack.json (default the dev stack's)")
    parser.add_argument("--base-url", default=None,
                        help=f"Traefik's URL (default the stack file's; {DEFAULT_BASE_URL} for the default dev stack)")
    parser.add_argument("--rates", default=",".join(map(str, DEFAULT_RATES)),
                        type=lambda text: [int(r) for r in text.split(",")],
                        help="requests per second, one step each (default %(default)s)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per step (default 10)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds at the highest rate per target before the steps, counted apart (default 5; 0: none)")
    parser.add_argument("--p99-limit-ms", type=float, default=20.0, help="the p99 a rate must hold (default 20)")
    parser.add_argument("--both-replicas", action="store_true",
                        help="keep meetings-2 running (Traefik then spreads the load over both)")
    parser.add_argument("--vegeta", default=str(vegeta_bin()), help="the vegeta binary")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or any(r <= 0 for r in args.rates):
        parser.error("--duration and every rate must be positive, --warmup not negative")
    try:
        summary = run(args)
    except Exception as exc:  # noqa: BLE001 - reported, exit 1
        say(f"failed: {type(exc).__name__}: {exc}")
        return 1
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
