"""Talk to a stack's supervisord over its unix socket (XML-RPC), and find its processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import xmlrpc.client
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from layout import Stack


def proxy(stack: Stack):
    transport = SupervisorTransport(None, None, f"unix://{stack.supervisor_socket}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def supervisord_pid(stack: Stack) -> int | None:
    """The pid of the stack's supervisord when it is alive, else None."""
    try:
        pid = int(stack.supervisor_pidfile.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def process_info(stack: Stack) -> dict[str, dict]:
    try:
        return {p["name"]: p for p in proxy(stack).supervisor.getAllProcessInfo()}
    except (OSError, xmlrpc.client.Fault):
        return {}


def stack_pids(stack: Stack) -> list[tuple[int, str]]:
    """Every process whose command line mentions the stack directory (pgrep -f)."""
    pattern = re.escape(str(stack.dir) + "/")
    out = subprocess.run(["pgrep", "-a", "-f", pattern], capture_output=True, text=True)
    me = {os.getpid(), os.getppid()}
    found = []
    for line in out.stdout.splitlines():
        pid, _, cmd = line.partition(" ")
        if int(pid) not in me:
            found.append((int(pid), cmd))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.2)
    return [p for p in pids if alive(p)]


def terminate(pids: list[int], grace: float = 10.0) -> list[int]:
    """SIGTERM, then SIGKILL after ``grace``: only for processes of this stack."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        pids = wait_gone(pids, grace)
        if not pids:
            break
    return pids
