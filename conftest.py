"""How the suite shares pytest-xdist workers (``./taskw test`` runs it through tests/suite.py).

With ``--dist loadgroup`` a worker runs each xdist group whole. Every test gets a group:

- an explicit ``xdist_group`` mark wins (the local Kubernetes control plane's modules, which
  share the test stack's k8s ports);
- ``browser`` for the browser tests: one Chromium meeting at a time on two cores;
- else its module, so a module's fixtures (an in-process app, a control plane) start once.

The browser group goes first: it is the longest, and started last it would be the tail.
Without xdist the marks change nothing but that order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BROWSER_GROUP = "browser"
BROWSER_TESTS = Path(__file__).resolve().parent / "tests" / "browser"


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            group = BROWSER_GROUP if BROWSER_TESTS in item.path.parents else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: item.get_closest_marker("xdist_group").args[0] != BROWSER_GROUP)
