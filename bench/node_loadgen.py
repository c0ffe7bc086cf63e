"""Running the Node load generators of bench/loadgen/ (relay.mjs, sockets.mjs, chat.mjs) from
the Python benchmarks: a JSON plan in, the generator's JSON result out (bench/README.md, "The
load generator")."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

LOADGEN_DIR = Path(__file__).resolve().parent / "loadgen"


async def run_loadgen(script: Path, plan: dict) -> dict:
    """Run the Node load generator ``script`` (bench/loadgen/) with ``plan`` (JSON, passed as a
    file) and return the JSON object on the last line of its stdout; ``RuntimeError`` when it
    exits non-zero (its progress and errors go to stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as plan_file:
        json.dump(plan, plan_file)
        plan_file.flush()
        loadgen = await asyncio.create_subprocess_exec("node", str(script), plan_file.name, stdout=asyncio.subprocess.PIPE)
        out, _ = await loadgen.communicate()
    if loadgen.returncode != 0:
        raise RuntimeError(f"the load generator {script.name} failed (exit {loadgen.returncode})")
    return json.loads(out.decode().strip().splitlines()[-1])
