"""Debian's coturn (``/usr/bin/turnserver``, what deploy/local installs) run by a test on
loopback ports of its own."""

import base64
import hashlib
import hmac
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A loopback port free for both UDP and TCP (coturn listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


@contextmanager
def turnserver(options: list[str], workdir: Path, *, timeout_s: float = 10.0) -> Iterator[int]:
    """Run ``turnserver`` with ``options`` plus loopback listening and relay addresses, a free
    port, a 50-port relay range, and its database, pid file and log (``turn.log``) in
    ``workdir``; yield the port once it accepts TCP connections, stop it on exit.

    Raises ``RuntimeError`` when coturn is not installed, exits, or does not listen in time.
    """
    binary = shutil.which("turnserver")
    if binary is None:
        raise RuntimeError("turnserver (Debian package coturn) is not installed: run ./taskw install")
    port = free_port()
    relay_min = random.randrange(40000, 59000, 50)
    command = [
        binary, *options,
        "--listening-ip=127.0.0.1", f"--listening-port={port}", "--relay-ip=127.0.0.1",
        f"--min-port={relay_min}", f"--max-port={relay_min + 49}",
        f"--userdb={workdir / 'turndb'}", f"--pidfile={workdir / 'turn.pid'}",
        "--log-file=stdout", "--simple-log",
    ]  # fmt: skip
    log_path = workdir / "turn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"turnserver exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"turnserver did not listen on {port} within {timeout_s:g} s; see {log_path}")
                time.sleep(0.05)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def rest_credentials(secret: str, user_id: str, ttl_s: int = 600) -> tuple[str, str]:
    """TURN REST API credentials (draft-uberti-behave-turn-rest-00), as turn-config hands them
    out: username ``expiry:user-id`` (expiry in Unix seconds), password base64(HMAC-SHA1(secret,
    username))."""
    username = f"{int(time.time()) + ttl_s}:{user_id}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password
