"""What the benchmarks read from /proc (Linux): a process's pid by its listening port, its
CPU seconds, its RSS, and the machine's load average (the Node load generator reads CPU and RSS itself)."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def pid_listening_on(port: int) -> int:
    """The pid of the process with a listening TCP socket on ``port`` (IPv4 or IPv6).

    Raises LookupError when no process of this user listens there.
    """
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{inode}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(entry.name)
        except (PermissionError, FileNotFoundError, ProcessLookupError):
            continue
    raise LookupError(f"no process of this user listens on port {port}")


def rss_kib(pid: int) -> int | None:
    """The resident set size of ``pid`` in KiB (``VmRSS``); None once the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far, in seconds (/proc/<pid>/stat fields 14, 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def _stat_fields(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return [stat[stat.index("(") + 1 : stat.rindex(")")], *stat[stat.rindex(")") + 2 :].split()]


def _children() -> dict[int, list[int]]:
    """Every live process's children, by parent pid (/proc/<pid>/stat field 4)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat_fields(int(entry.name))[2]), []).append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return children


def _tree_cpu_seconds(root: int, children: dict[int, list[int]]) -> float:
    """User + system CPU of ``root`` and its descendants, with their reaped children's: a
    process that exits moves its time into its parent's ``cutime``/``cstime``, so the sum
    does not drop when, e.g., a PostgreSQL backend ends."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            fields = _stat_fields(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(f) for f in fields[12:16])  # utime stime cutime cstime
        todo += children.get(pid, [])
    return total / CLK_TCK


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds so far of the processes ``pids`` and all their descendants, with the
    reaped ones' (PostgreSQL's backends are children of its postmaster and come and go)."""
    children = _children()
    return sum(_tree_cpu_seconds(pid, children) for pid in pids)


def stack_cpu_seconds(stack_file: Path) -> dict[str, float]:
    """CPU seconds so far (user + system, descendants included) of every program of a local
    stack (deploy/local/stack.py) by name: its services by instance (``chat-1``, ...) and
    ``ferretdb``, ``postgres`` (every backend), ``kafka``, ``traefik``, found as the children
    of the stack's supervisord (``<dir>/run/supervisord.pid``), and ``supervisord`` itself
    (which copies their output into the log files). Empty when the stack is not a
    local one (no such file)."""
    import json

    stack = json.loads(stack_file.read_text())
    pid_file = Path(stack.get("dir", "")) / "run" / "supervisord.pid"
    if not stack.get("dir") or not pid_file.exists():
        return {}
    supervisord = int(pid_file.read_text().split()[0])
    by_port = {str(s["port"]): name for name, s in stack.get("services", {}).items() if "port" in s}
    children = _children()
    own = _stat_fields(supervisord)  # its children's logs pass through it; not their CPU
    figures: dict[str, float] = {"supervisord": (int(own[12]) + int(own[13])) / CLK_TCK}
    for pid in children.get(supervisord, []):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        args = [a.decode() for a in argv if a]
        exe = Path(args[0]).name if args else ""
        if "--port" in args:
            name = by_port.get(args[args.index("--port") + 1], "")
        else:
            name = {"postgres": "postgres", "ferretdb": "ferretdb", "java": "kafka", "traefik": "traefik"}.get(exe, "")
        if name:
            figures[name] = figures.get(name, 0.0) + _tree_cpu_seconds(pid, children)
    return figures
