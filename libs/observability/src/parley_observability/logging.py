"""One log format for every service: time, level, service, logger, message.

Records, uvicorn's included, are written to stderr by a thread of their own (the standard
library's ``QueueHandler`` on the root logger, a ``QueueListener`` behind it): the event loop only
queues a record, so formatting its time and writing it (to supervisord's pipe locally, which
blocks while the reader lags) never stall a request. As a service stops, records are written
directly again (:func:`write_directly`). The access log is one record per request
(:mod:`parley_observability.metrics`). Records do not collect what the format never shows
(the caller's file and line, thread and process names; the logging HOWTO's "Optimization").
"""

import atexit
import logging
import queue
from logging.handlers import QueueHandler, QueueListener

_listener: QueueListener | None = None

#: The loggers uvicorn gives handlers of its own (``uvicorn.config.LOGGING_CONFIG``).
UVICORN_LOGGERS = ("uvicorn", "uvicorn.access")


def configure_logging(service: str, level: str = "INFO") -> None:
    """Configure the root logger for ``service`` at ``level`` (a logging level name); a
    second call replaces the first (tests build many apps in one process)."""
    global _listener
    stop_logging()
    logging._srcfile = None  # no caller lookup per record (documented in the HOWTO)
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    stderr = logging.StreamHandler()
    stderr.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = QueueListener(records, stderr)
    _listener.start()
    queued = QueueHandler(records)
    queued.setFormatter(logging.Formatter("%(message)s"))  # the message (and traceback) only: stderr's adds the rest
    logging.basicConfig(level=level.upper(), handlers=[queued], force=True)
    # uvicorn configures its own loggers before it builds the app, with handlers that write to
    # stderr in the event loop (signaling's per-socket "[accepted]" lines: 5% of its CPU while
    # 50 sockets/s connected, py-spy): they go through the queue too, in this format.
    # A logger uvicorn left without handlers stays as it is: ``--no-access-log`` empties
    # ``uvicorn.access`` and stops its propagation, and uvicorn logs requests only while that
    # logger ``hasHandlers()``.
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        if uvicorn_logger.handlers:
            uvicorn_logger.handlers.clear()
            uvicorn_logger.propagate = True


def write_directly() -> None:
    """Write what is queued, then every later record to stderr in the thread that logs it: for
    the end of a service, where nothing is left to stall. Each service calls it as its lifespan
    ends. uvicorn ends a server stopped by SIGTERM by raising SIGTERM again, whose default
    action ends the process at once (no ``atexit``): records still queued for the writing
    thread then, the last lines of the stop and uvicorn's own after them, were lost."""
    if _listener is None:
        return
    writers = _listener.handlers
    stop_logging()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, QueueHandler)]:
        root.removeHandler(handler)
    for handler in writers:
        root.addHandler(handler)


def stop_logging() -> None:
    """Write what is queued and stop the writing thread (also at exit)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(stop_logging)
