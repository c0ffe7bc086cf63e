"""The web client's own unit tests (vitest, web/src/**/*.test.ts) as part of ``./taskw test``:
the client's pure logic (signaling client, negotiation, chat merge, session, …) is tested
there, in Node, with ``node_modules`` as ``./taskw install`` left it."""

from __future__ import annotations

import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"


def test_the_web_clients_unit_tests_pass() -> None:
    result = subprocess.run(
        ["npx", "--no-install", "vitest", "run", "--reporter=dot"],
        cwd=WEB, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, f"vitest failed ({result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    assert " passed" in result.stdout, result.stdout[-2000:]
