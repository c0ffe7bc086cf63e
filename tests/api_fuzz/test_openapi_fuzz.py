"""A short schemathesis pass (every check) over every service's OpenAPI document, in ``./taskw
test``: the same runner as ``./taskw test:api-fuzz`` (tests/api_fuzz/schemathesis_runner.py),
bounded to a few examples per operation so it fits in a few minutes on 2 cores. The full
fuzz is ``./taskw test:api-fuzz``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from parley_testing import Stack

sys.path.insert(0, str(Path(__file__).resolve().parent))

import schemathesis_runner  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(360)]  # 7 more operations since the contacts API

BOUNDED = ["--max-examples", "6", "--phases", "examples,coverage,fuzzing", "--seed", "20261201"]


def test_schemathesis_finds_no_failure_in_any_openapi_document(stack: Stack, capfd) -> None:
    results = schemathesis_runner.fuzz(stack.raw, BOUNDED)
    output = capfd.readouterr().out
    assert len(results) == 9, results  # 4 services' /api through Traefik, 5 services' own ports
    failed = {name: code for name, code in results.items() if code != 0}
    assert not failed, f"schemathesis failed on {failed}:\n{output[-20000:]}"
