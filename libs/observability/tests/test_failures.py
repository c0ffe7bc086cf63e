"""RepeatedFailure: a run of failures is one ERROR (with its traceback) and one INFO, however
long it lasts; the failures between are DEBUG; a second run is logged again."""

import logging

import pytest

from parley_observability import RepeatedFailure


def fail(failure: RepeatedFailure) -> None:
    try:
        raise ConnectionError("store unreachable")
    except ConnectionError:
        failure.failed(retry_s=1.0)


def test_each_run_of_failures_is_logged_when_it_starts_and_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="test.loop")
    failure = RepeatedFailure(logging.getLogger("test.loop"), "the outbox relay")
    failure.succeeded()  # working all along: nothing to say
    for _ in range(60):
        fail(failure)
    failure.succeeded()
    failure.succeeded()
    fail(failure)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    started = ("ERROR", "the outbox relay failed; trying again every 1 s (logged again when it works)")
    assert lines[0] == started and "ConnectionError: store unreachable" in caplog.records[0].exc_text
    assert lines[1:60] == [("DEBUG", f"the outbox relay failed again ({n} in a row)") for n in range(2, 61)]
    assert lines[60:] == [("INFO", "the outbox relay works again after 60 failed tries"), started]
    assert failure.failures == 1
