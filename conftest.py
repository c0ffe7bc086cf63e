"""How the suite shares pytest-xdist workers (``./taskw test`` runs it through tests/suite.py).

A worker runs each scope whole: a test module by default, so that a module's fixtures (an
in-process app, a browser, a control plane) start once, and the wider scopes below. The
scopes go out largest first (xdist's ``--loadscope-reorder``), so the browser tests start at
once instead of being the tail.

(xdist's own ``--dist loadgroup`` would read ``xdist_group`` marks, but with pytest 9.2 it
silently stops grouping: pytest-dev/pytest-xdist#1386.)
"""

from __future__ import annotations

import pytest
from xdist.scheduler import LoadScopeScheduling

# Tests that share one worker beyond their module, by the start of their node id.
SHARED_SCOPES = {
    "tests/browser/": "browser",  # one Chromium meeting at a time on two cores
    "tests/infra/test_k8s_": "k8s-control-plane",  # one local control plane: its ports are the stack's
    # both count every malformed record their consumer meets on parley.participants
    "services/meetings/tests/test_meetings_participant_consumer.py": "malformed-participant-records",
    "services/meetings/tests/test_meetings_roster_integration.py": "malformed-participant-records",
}


class ModuleScheduling(LoadScopeScheduling):
    """xdist's load-by-scope scheduling with a module, or a shared scope, as the scope."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return next((scope for start, scope in SHARED_SCOPES.items() if module.startswith(start)), module)


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's, absent under -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> ModuleScheduling:
    return ModuleScheduling(config, log)
