"""hold_down against a real supervisord: a killed program that supervisord restarts
(``autorestart=true``, as every long-running component of the local stack) stays stopped."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley_testing import Stack
from parley_testing.faults import hold_down, supervisor, until

CONF = """[unix_http_server]
file={dir}/run/supervisor.sock
[supervisord]
logfile={dir}/supervisord.log
pidfile={dir}/run/supervisord.pid
nodaemon=true
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[program:sleeper]
command={python} -c "import time; time.sleep(3600)"
autorestart=true
startsecs=1
startretries=3
stopwaitsecs=5
"""


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    (tmp_path / "run").mkdir()
    conf = tmp_path / "supervisord.conf"
    conf.write_text(CONF.format(dir=tmp_path, python=sys.executable))
    supervisord = Path(sys.executable).parent / "supervisord"
    process = subprocess.Popen([str(supervisord), "-c", str(conf)])
    stack = Stack({"dir": str(tmp_path), "supervisord_pid": process.pid})
    try:
        socket = tmp_path / "run" / "supervisor.sock"
        await until(lambda: asyncio.to_thread(socket.exists), 20, "supervisord's socket")
        await until(lambda: running(stack), 20, "the program running")
        yield stack
    finally:
        process.terminate()
        process.wait(30)


def state(stack: Stack) -> dict:
    return supervisor(stack).supervisor.getProcessInfo("sleeper")


async def running(stack: Stack) -> bool:
    return (await asyncio.to_thread(state, stack))["statename"] == "RUNNING"


async def test_a_killed_program_is_held_stopped_though_supervisord_reports_it_exited_first(stack: Stack) -> None:
    """supervisord notices a death (RUNNING -> EXITED) in one turn of its loop and restarts
    the program from EXITED in a later one: paused while the program dies, it may answer a
    question in between with EXITED. Three kills, each held down, then started again."""
    rpc = supervisor(stack).supervisor
    supervisord = stack.raw["supervisord_pid"]
    for _ in range(3):
        await until(lambda: running(stack), 20, "the program running")
        killed = state(stack)["pid"]
        os.kill(supervisord, signal.SIGSTOP)
        try:
            os.kill(killed, signal.SIGKILL)
            holding = asyncio.create_task(hold_down(stack, "sleeper", killed, timeout_s=30))
            await asyncio.sleep(0.3)  # its first question waits in supervisord's socket
        finally:
            os.kill(supervisord, signal.SIGCONT)
        await holding
        assert state(stack)["statename"] == "STOPPED"  # supervisord never restarts from STOPPED
        rpc.startProcess("sleeper", False)
