"""A signaling replica that a burst of sockets left holding memory starts afresh
(docs/signaling.md, "Memory after a burst"; parley_signaling.recycle).

A third signaling replica runs as its own process, as the stack runs signaling-1 (its env file,
its uvicorn options), but with a small burst (100 sockets) and excess (0.25 MiB), a wait of 1 s
and no minimum uptime. With its sockets closed, what they took stays in pymalloc's arenas (the
reason for recycling), so the replica drains and exits; the stack's own replicas are the
others alive. Before the burst, it stays up however long it runs.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from e2e_people import signed_in
from parley_probe.signaling import SignalingClient
from parley_testing import Stack, faults
from parley_testing.coturn import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "local"))
from components import uvicorn_options  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

USERS, SOCKETS_PER_USER = 5, 30  # 150 sockets; at most 32 per user (PARLEY_SIGNALING_MAX_SOCKETS_PER_USER)


async def ready(url: str, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    async def up() -> bool:
        assert process.poll() is None, "the replica exited while starting"
        return await faults.ready(url)

    await faults.until(up, timeout_s, f"{url}/readyz")


def rss_kib(process: subprocess.Popen) -> int:
    with open(f"/proc/{process.pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def exited(process: subprocess.Popen, timeout_s: float) -> int | None:
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return process.poll()


async def test_a_replica_drains_and_exits_once_a_burst_of_sockets_has_closed(stack: Stack, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        # the stack's own values come from signaling-1's env file; these take precedence
        "PARLEY_INSTANCE_ID": f"signaling-recycle-{run}",
        "PARLEY_SIGNALING_SID_PREFIX": "rc_",
        "PARLEY_LOG_LEVEL": "INFO",
        "PARLEY_SIGNALING_RECYCLE_EXCESS_MIB": "0.25",
        "PARLEY_SIGNALING_RECYCLE_BURST_SOCKETS": "100",
        "PARLEY_SIGNALING_RECYCLE_WAIT_SECONDS": "1",
        "PARLEY_SIGNALING_RECYCLE_MIN_UPTIME_SECONDS": "0",
    }
    env_file = Path(stack.raw["dir"]) / "conf" / "env" / "signaling-1.env"
    command = [
        str(Path(sys.executable).with_name("uvicorn")), "--factory", "parley_signaling.main:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--env-file", str(env_file), *uvicorn_options("signaling-1"),
    ]  # fmt: skip
    log_path = tmp_path / "replica.log"
    clients: list[SignalingClient] = []
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        await ready(url, process)
        # no burst yet: however long it runs (several looks of 0.33 s), it stays
        await asyncio.sleep(3.0)
        assert process.poll() is None, log_path.read_text()[-2000:]

        for user in range(USERS):
            api = await signed_in(stack.base_url, f"Recycled{user}", run)
            clients += [SignalingClient(f"u{user}-{i}", url, api.access_token or "") for i in range(SOCKETS_PER_USER)]
        await asyncio.gather(*(client.connect(30.0) for client in clients))
        held_kib = rss_kib(process)
        await asyncio.sleep(1.5)  # held over a few looks: a burst is what a look sees
        assert process.poll() is None, "exited while its sockets were connected"
        await asyncio.gather(*(client.close() for client in clients))
        closed_at = time.monotonic()

        code = await exited(process, 60.0)
        took_s = time.monotonic() - closed_at
        output = log_path.read_text()
        assert code is not None, f"running 60 s after its sockets closed, RSS {rss_kib(process)} KiB:\n{output[-3000:]}"
        assert "recycling this replica to give its memory back: 0 sockets left after a burst of" in output
        assert "drained: 0 participants moved, 0 left" in output
        assert f"signaling replica signaling-recycle-{run} stopped" in output
        assert "Finished server process" in output  # uvicorn's last line, written before the process ended
        # uvicorn ends a SIGTERM'd server by raising SIGTERM again once it has shut down
        assert code in (0, -15), output[-3000:]
        print(f"\nrecycled {took_s:.1f} s after its {len(clients)} sockets closed (RSS held {held_kib} KiB)")
    finally:
        for client in clients:
            await client.close()
        if process.poll() is None:
            process.kill()
            process.wait()
