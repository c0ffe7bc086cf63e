"""configure_logging: one line per record on stderr in the service's format, written by the
listener thread (stop_logging writes what is queued), tracebacks kept; at the end of a service,
written directly (write_directly)."""

import logging
import signal
import subprocess
import sys
import textwrap
from logging.handlers import QueueHandler

from parley_observability import configure_logging
from parley_observability.logging import stop_logging, write_directly


def test_records_reach_stderr_in_the_services_format(capfd) -> None:
    configure_logging("svc", "INFO")
    log = logging.getLogger("parley.test")
    log.info("hello %s", "world")
    log.debug("not shown at INFO")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    stop_logging()
    lines = capfd.readouterr().err.splitlines()
    assert lines[0].endswith(" INFO svc parley.test: hello world")
    assert lines[1].endswith(" ERROR svc parley.test: failed")
    assert lines[2] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: boom"
    assert not any("not shown" in line for line in lines)


def test_a_second_call_replaces_the_first(capfd) -> None:
    configure_logging("first", "INFO")
    configure_logging("second", "WARNING")
    logging.getLogger("parley.test").warning("once")
    logging.getLogger("parley.test").info("below the level")
    stop_logging()
    err = capfd.readouterr().err
    assert err.count("once") == 1 and " WARNING second parley.test: once" in err
    assert "below the level" not in err


def test_uvicorns_records_go_through_the_queue_in_the_services_format(capfd) -> None:
    import logging.config

    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)  # what uvicorn does before it builds the app
    configure_logging("svc", "INFO")
    for name in ("uvicorn", "uvicorn.access"):
        assert logging.getLogger(name).handlers == []
    logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "127.0.0.1:1", "/socket.io/")
    logging.getLogger("uvicorn.access").info("%s - %s", "127.0.0.1:2", "GET /healthz")
    stop_logging()
    captured = capfd.readouterr()
    lines = captured.err.splitlines()
    assert lines[0].endswith(' INFO svc uvicorn.error: 127.0.0.1:1 - "WebSocket /socket.io/" [accepted]')
    assert lines[1].endswith(" INFO svc uvicorn.access: 127.0.0.1:2 - GET /healthz")
    assert captured.out == ""


def test_an_access_log_uvicorn_turned_off_stays_off() -> None:
    import copy
    import logging.config

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    logging.config.dictConfig(config)
    access = logging.getLogger("uvicorn.access")
    access.handlers = []  # what uvicorn's Config does for --no-access-log
    access.propagate = False
    configure_logging("svc", "INFO")
    stop_logging()
    assert not access.hasHandlers()  # uvicorn's HTTP protocols log requests only if it has


def test_once_written_directly_a_record_is_on_stderr_when_logged_after_what_was_queued(capfd) -> None:
    configure_logging("svc", "INFO")
    log = logging.getLogger("parley.test")
    log.info("queued")
    write_directly()
    log.info("direct")
    lines = capfd.readouterr().err.splitlines()  # no stop_logging: nothing left to wait for
    assert [line.split(": ", 1)[1] for line in lines] == ["queued", "direct"]
    assert lines[1].endswith(" INFO svc parley.test: direct")
    assert not any(isinstance(h, QueueHandler) for h in logging.getLogger().handlers)
    configure_logging("svc", "INFO")  # and a new configuration queues again
    assert any(isinstance(h, QueueHandler) for h in logging.getLogger().handlers)
    stop_logging()


def test_the_last_lines_of_a_process_ended_by_a_raised_sigterm_are_kept() -> None:
    """As uvicorn ends a server stopped by SIGTERM: the signal raised again with its default
    action, which ends the process at once."""
    program = textwrap.dedent(
        """
        import logging, signal
        from parley_observability.logging import configure_logging, write_directly
        configure_logging("svc", "INFO")
        for i in range(200):
            logging.getLogger("parley.test").info("line %d", i)
        write_directly()
        logging.getLogger("uvicorn.error").info("Finished server process")
        signal.raise_signal(signal.SIGTERM)
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGTERM
    lines = done.stderr.splitlines()
    assert len(lines) == 201 and lines[-1].endswith(" INFO svc uvicorn.error: Finished server process")
