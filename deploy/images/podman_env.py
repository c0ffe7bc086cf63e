"""Podman confined to Parley's cache: its configuration, storage and state live under
``<cache>/images/`` (``${PARLEY_CACHE:-~/.cache/parley}``), never in /etc/containers or
/var/lib/containers, so building and testing images does not disturb the machine.

``podman_env()`` is the environment every podman call of the project runs with:
``CONTAINERS_CONF`` (deploy/images/containers.conf), ``CONTAINERS_STORAGE_CONF`` (a
storage.conf written here: overlay driver, graph root ``<cache>/images/storage``) and
``CONTAINERS_REGISTRIES_CONF`` (no registry searched: Parley's images are local and
``podman build --pull=never`` never pulls). Standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "local"))
from layout import cache_dir  # noqa: E402

CONTAINERS_CONF = HERE / "containers.conf"


def images_dir() -> Path:
    """``<cache>/images``: podman's storage and state, and the base image's root filesystem."""
    return cache_dir() / "images"


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def podman_env() -> dict[str, str]:
    """``os.environ`` plus the variables that confine podman to ``images_dir()`` (writes the
    storage and registries configuration there on first use)."""
    root = images_dir()
    conf = root / "conf"
    storage = conf / "storage.conf"
    _write_if_changed(storage, (
        "# written by deploy/images/podman_env.py: Parley's image storage, inside its cache\n"
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{root / "storage"}"\n'
        f'runroot = "{root / "run"}"\n'
    ))
    registries = conf / "registries.conf"
    _write_if_changed(registries, (
        "# written by deploy/images/podman_env.py: no registry is searched for short names\n"
        "unqualified-search-registries = []\n"
    ))
    tmp = root / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "CONTAINERS_CONF": str(CONTAINERS_CONF),
        "CONTAINERS_STORAGE_CONF": str(storage),
        "CONTAINERS_REGISTRIES_CONF": str(registries),
        # podman's temporary files (image layers being committed) beside its storage
        "TMPDIR": str(tmp),
    }


def podman(*args: str, capture: bool = False, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``podman <args>`` confined to the cache; raises CalledProcessError when it fails
    (with ``check``), its output in the exception when ``capture``."""
    return subprocess.run(["podman", *args], env=podman_env(), check=check, text=True,
                          capture_output=capture)


def image_labels(ref: str) -> dict[str, str] | None:
    """The labels of local image ``ref``, or None when there is no such image."""
    proc = podman("image", "inspect", "--format", "{{json .Labels}}", ref, capture=True,
                  check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout.strip() or "null") or {}


PROGRESS_EVERY_S = 20.0


def run_reporting(cmd: list[str], *, what: str, env: dict[str, str] | None = None) -> None:
    """Run ``cmd`` (output merged), printing every ``PROGRESS_EVERY_S`` seconds how long it
    has run and its last line of output (a cold build takes minutes). Raises SystemExit
    with the last 30 lines when it fails."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: list[str] = []
    done = threading.Event()

    def report() -> None:
        while not done.wait(PROGRESS_EVERY_S):
            last = lines[-1].strip()[:120] if lines else "starting"
            print(f"images: {what}: {time.monotonic() - started:.0f} s (last: {last})",
                  flush=True)

    ticker = threading.Thread(target=report, daemon=True)
    ticker.start()
    try:
        for line in proc.stdout:
            lines.append(line)
    finally:
        returncode = proc.wait()
        done.set()
    if returncode != 0:
        raise SystemExit(f"images: {what} failed (exit {returncode}):\n"
                         + "".join(lines[-30:]))
