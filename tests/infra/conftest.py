"""Fixtures of the infrastructure tests: the deploy/local modules and the running test stack."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

DEPLOY_LOCAL = Path(__file__).resolve().parents[2] / "deploy" / "local"
if str(DEPLOY_LOCAL) not in sys.path:
    sys.path.insert(0, str(DEPLOY_LOCAL))


@pytest.fixture(scope="session")
def stack_info() -> dict:
    """The running stack's description (``stack.json``) named by ``$PARLEY_STACK_FILE``."""
    path = os.environ.get("PARLEY_STACK_FILE")
    if not path:
        pytest.fail(
            "PARLEY_STACK_FILE is not set: integration tests need a running stack. "
            "Run `./taskw test`, or start one (`./taskw up`) and set "
            "PARLEY_STACK_FILE=.stack/dev/stack.json",
            pytrace=False,
        )
    if not Path(path).exists():
        pytest.fail(f"PARLEY_STACK_FILE={path} does not exist: is the stack up?", pytrace=False)
    return json.loads(Path(path).read_text())


@pytest.fixture
def rendered(tmp_path):
    """A stack rendered (not started) under a temporary directory, port base 58000."""
    import stack as stack_cli
    from components import select
    from layout import Stack

    s = Stack(name="unit", base=58000, root=tmp_path)
    selected = select(s, None)
    stack_cli.prepare(s, selected, fresh=False)
    return s
