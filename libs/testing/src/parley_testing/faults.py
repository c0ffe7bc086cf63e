"""Fault injection against the running test stack: kill a component, hold it down, bring it back.

The stack's supervisord restarts a component that dies (deploy/local/supervisor_conf.py). A
test kills one process with SIGKILL (:func:`sigkill`); to make an outage last a known time it
then holds the component stopped through supervisord (:func:`hold_down`) and starts it again
(:func:`start`), and it waits until the stack is whole again before it ends
(:func:`stack_ready`): the stack is shared by every test. Processes are found by a path only
their command line holds (the component's env file or configuration under the stack
directory), never by name.
"""

import asyncio
import http.client
import logging
import os
import signal
import socket
import subprocess
import time
import xmlrpc.client
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaProducer

from parley_testing.stack import Stack

T = TypeVar("T")


def component_marker(stack: Stack, name: str) -> Path:
    """The file in ``name``'s command line: Kafka's server.properties, else the env file."""
    conf = Path(stack.raw["dir"]) / "conf"
    return conf / "kafka" / "server.properties" if name == "kafka" else conf / "env" / f"{name}.env"


def component_pids(stack: Stack, name: str) -> list[int]:
    """Pids of the processes of component ``name`` (``kafka``, ``signaling-2``, ...) of this stack."""
    found = subprocess.run(["pgrep", "-f", str(component_marker(stack, name))], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def sigkill(stack: Stack, name: str) -> int:
    """SIGKILL the one process of component ``name``; returns its pid. Raises ``AssertionError``
    unless exactly one process is found."""
    pids = component_pids(stack, name)
    assert len(pids) == 1, f"{name}: expected one process, found {pids}"
    os.kill(pids[0], signal.SIGKILL)
    return pids[0]


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=60)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self._path)


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        return _UnixConnection(self._path)


def supervisor(stack: Stack) -> Any:
    """An XML-RPC proxy of the stack's supervisord (its ``supervisor.*`` interface), over the
    unix socket in the stack directory. Its calls block: run them in a thread."""
    path = str(Path(stack.raw["dir"]) / "run" / "supervisor.sock")
    return xmlrpc.client.ServerProxy("http://localhost", transport=_UnixTransport(path))


def _hold_down(stack: Stack, name: str, killed_pid: int, timeout_s: float) -> None:
    rpc = supervisor(stack).supervisor
    deadline = time.monotonic() + timeout_s
    while (info := rpc.getProcessInfo(name))["statename"] == "RUNNING" and info["pid"] == killed_pid:
        if time.monotonic() > deadline:
            raise AssertionError(f"supervisord did not notice that {name} ({killed_pid}) died")
        time.sleep(0.05)
    _stop(rpc, name, deadline)


def _stop(rpc: Any, name: str, deadline: float) -> None:
    """Stop ``name`` until supervisord reports it STOPPED (or FATAL). EXITED is not the end:
    with ``autorestart=true`` supervisord starts a process that died again from there, so a
    restarted process (STARTING, RUNNING or BACKOFF) is told to stop as well."""
    while (info := rpc.getProcessInfo(name))["statename"] not in ("STOPPED", "FATAL"):
        if time.monotonic() > deadline:
            raise AssertionError(f"supervisord did not stop {name}: still {info['statename']}")
        if info["statename"] in ("STARTING", "RUNNING", "BACKOFF"):
            # a SIGTERM that reaches a restarted process between supervisord's fork and its exec
            # goes to the signal handler it still has from supervisord and is lost: supervisord
            # would then wait stopwaitsecs (40 s) before it kills
            _wait_for_exec(info["pid"], deadline)
            try:
                rpc.stopProcess(name, False)
            except xmlrpc.client.Fault as fault:  # it changed state meanwhile: look again
                if "NOT_RUNNING" not in fault.faultString:
                    raise
        time.sleep(0.1)


def stop(stack: Stack, name: str, timeout_s: float = 60.0) -> None:
    """Stop component ``name`` through supervisord (its stop signal, SIGTERM, then SIGKILL
    after its ``stopwaitsecs``) and return once supervisord reports it stopped; a component
    that was not running is not an error. Blocks: run it in a thread. Raises
    ``AssertionError`` after ``timeout_s``.

    It polls the state every 0.1 s rather than calling ``stopProcess(name, True)``: supervisord
    answers that call by checking the stop on every turn of its event loop, which kept a core
    busy for the whole stop (0.14 s of CPU in a 0.17 s stop here) and starved the browsers of
    this 2-core machine while a signaling replica drained."""
    _stop(supervisor(stack).supervisor, name, time.monotonic() + timeout_s)


def _wait_for_exec(pid: int, deadline: float) -> None:
    """Return once process ``pid``, forked by supervisord, runs its own program: its command
    line is no longer its parent's (or it is gone, or at ``deadline``)."""
    while pid and time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            if Path(f"/proc/{pid}/cmdline").read_bytes() != Path(f"/proc/{parent}/cmdline").read_bytes():
                return
        except (OSError, ValueError):
            return
        time.sleep(0.01)


async def hold_down(stack: Stack, name: str, killed_pid: int, timeout_s: float = 60.0) -> None:
    """Keep component ``name`` down after its process ``killed_pid`` was killed: once
    supervisord has noticed the death, stop whatever it restarted meanwhile (SIGTERM), and
    return when supervisord reports the component STOPPED (or FATAL). Raises
    ``AssertionError`` after ``timeout_s``."""
    await asyncio.to_thread(_hold_down, stack, name, killed_pid, timeout_s)


async def start(stack: Stack, name: str) -> None:
    """Have supervisord start component ``name`` again (returns once it was spawned)."""

    def call() -> None:
        try:
            supervisor(stack).supervisor.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise

    await asyncio.to_thread(call)


async def until(
    condition: Callable[[], Awaitable[T]],
    timeout_s: float,
    what: str,
    every_s: float = 0.2,
    *,
    seen: Callable[[], object] | None = None,
) -> T:
    """Await ``condition()`` every ``every_s`` seconds until it returns something truthy
    (returned); ``AssertionError`` naming ``what`` after ``timeout_s`` seconds, with
    ``seen()`` (what the condition last looked at, if given) in its message."""
    deadline = time.monotonic() + timeout_s
    while not (value := await condition()):
        if time.monotonic() > deadline:
            last = f"; last seen: {seen()}" if seen is not None else ""
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}{last}")
        await asyncio.sleep(every_s)
    return value


async def kafka_answers(stack: Stack, topic: str) -> bool:
    """Whether Kafka takes a new client's metadata request for ``topic`` now (within ~3 s).

    aiokafka's "Unable connect" errors of this probe are silenced while it runs (``aiokafka``
    logger at CRITICAL): a refused connection is the expected answer here."""
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.kafka_bootstrap_servers, request_timeout_ms=3000, metadata_max_age_ms=1000
    )
    try:
        await asyncio.wait_for(producer.start(), 4)
        return bool(await asyncio.wait_for(producer.partitions_for(topic), 4))
    except Exception:  # noqa: BLE001 - not answering, whatever the reason
        return False
    finally:
        try:
            await asyncio.wait_for(producer.stop(), 4)
        except Exception:  # noqa: BLE001
            pass
        aiokafka_log.setLevel(level)


async def ready(url: str) -> bool:
    """Whether ``{url}/readyz`` answers 200 now."""
    try:
        async with httpx.AsyncClient(timeout=3) as http:
            return (await http.get(f"{url}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


#: A path per service that Traefik routes, answered by the service itself (never a 5xx) as
#: soon as Traefik has one of its replicas in service (traefik/local/dynamic.yml.tmpl).
EDGE_PATHS = {
    "auth": "/api/auth/.well-known/jwks.json",
    "meetings": "/api/meetings",
    "chat": "/api/chat/meetings/stack-ready/messages",
    "turn-config": "/api/turn/credentials",
    "signaling": "/socket.io/?EIO=3&transport=polling",  # 400, and no Engine.IO session opened
    "web": "/",
}


async def served_through_traefik(stack: Stack, path: str) -> bool:
    """Whether a request for ``path`` through Traefik gets an answer below 500 now: a replica
    answered, not the edge's 502/503 ("No instance of the service ...")."""
    try:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=3) as http:
            return (await http.get(path)).status_code < 500
    except httpx.HTTPError:
        return False


async def stack_ready(stack: Stack, timeout_s: float = 180.0) -> None:
    """Wait until every service replica of the stack answers ``/readyz`` (their checks include
    Kafka and the store), then until Traefik routes to every service again, so that the next
    test finds the stack whole.

    The second wait matters after every replica of a service was down: Traefik puts a replica
    back in service only at its next health check (every 5 s), and until then answers 503."""
    urls = {name: service["url"] for name, service in stack.raw["services"].items()}
    for name, url in sorted(urls.items()):
        await until(lambda url=url: ready(url), timeout_s, f"{name} ready again", every_s=0.5)
    for service, path in EDGE_PATHS.items():
        await until(
            lambda path=path: served_through_traefik(stack, path),
            timeout_s,
            f"Traefik routing to {service} again ({path})",
            every_s=0.5,
        )
