"""The supervisord configuration of a stack: one ``[program:x]`` per selected component.

Order: ``priority`` (lower starts first, stops last) plus a ``wait_for.py`` gate in front of
every command that has dependencies. Logs: ``.stack/<name>/logs/<component>.log``.
"""

from __future__ import annotations

import shlex
import sys

from components import Component, gates
from layout import DEPLOY_LOCAL, REPO, Stack

GATE_TIMEOUT_S = 180


def _escape(value: str) -> str:
    return value.replace("%", "%%")


def program_command(comp: Component, selected: dict[str, Component]) -> list[str]:
    checks = gates(comp, selected)
    if not checks:
        return comp.command
    gate = [sys.executable, str(DEPLOY_LOCAL / "wait_for.py"), "--timeout", str(GATE_TIMEOUT_S)]
    for check in checks:
        gate += check.as_args()
    return [*gate, "--", *comp.command]


def program_section(stack: Stack, comp: Component, selected: dict[str, Component]) -> str:
    lines = [
        f"[program:{comp.name}]",
        f"command={_escape(shlex.join(program_command(comp, selected)))}",
        f"directory={REPO}",
        f"priority={comp.priority}",
        "autostart=true",
        "redirect_stderr=true",
        f"stdout_logfile={stack.logs / (comp.name + '.log')}",
        "stdout_logfile_maxbytes=20MB",
        "stdout_logfile_backups=1",
        "stopasgroup=true",
        "killasgroup=true",
        f"stopsignal={comp.stop_signal}",
        f"stopwaitsecs={comp.stop_wait_s}",
    ]
    if comp.oneshot:
        lines += ["autorestart=unexpected", "exitcodes=0", "startsecs=0", "startretries=2"]
    else:
        lines += ["autorestart=true", "startsecs=2", "startretries=3"]
    return "\n".join(lines) + "\n"


def render(stack: Stack, selected: dict[str, Component]) -> str:
    head = f"""; supervisord of the local Parley stack "{stack.name}" (rendered by deploy/local/stack.py)
[unix_http_server]
file={stack.supervisor_socket}
chmod=0700

[supervisord]
logfile={stack.logs / 'supervisord.log'}
logfile_maxbytes=10MB
logfile_backups=1
pidfile={stack.supervisor_pidfile}
childlogdir={stack.logs}
directory={REPO}
identifier=parley-{stack.name}
nodaemon=false
; every socket of a signaling replica is a file descriptor (bench/sockets.py opens 10,000 on
; one): supervisord raises its soft limit, which the processes inherit, to at least this
minfds=16384

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{stack.supervisor_socket}
"""
    body = "\n".join(program_section(stack, c, selected) for c in selected.values())
    return head + "\n" + body


def write(stack: Stack, selected: dict[str, Component]) -> None:
    stack.supervisor_conf.parent.mkdir(parents=True, exist_ok=True)
    stack.supervisor_conf.write_text(render(stack, selected))
