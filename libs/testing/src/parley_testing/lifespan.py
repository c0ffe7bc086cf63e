"""Running an ASGI app's lifespan in-process, with a report when its shutdown is slow.

A service's shutdown (outbox relay, Kafka consumers and producer, MongoDB client) takes well
under a second; on a loaded 2-core machine it was seen, rarely, to take more than 90 s. When
it takes longer than ``report_after_s``, :func:`running` logs the stack of every asyncio task
still alive (the await each one is parked on), so the failing run names the culprit.
"""

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator
from typing import Any

from asgi_lifespan import LifespanManager

log = logging.getLogger(__name__)


def task_stacks() -> str:
    """Every live task of the running loop with the frames it is suspended in (innermost last)."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if task is asyncio.current_task():
            continue
        out.write(f"--- {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=None, file=out)
    return out.getvalue()


@contextlib.asynccontextmanager
async def running(
    app: Any, *, startup_timeout: float = 30, shutdown_timeout: float = 90, report_after_s: float = 15
) -> AsyncIterator[Any]:
    """``LifespanManager(app)`` as a context manager; yields the app.

    Raises ``TimeoutError`` as ``LifespanManager`` does when startup or shutdown outlast their
    timeouts (seconds). A shutdown slower than ``report_after_s`` logs :func:`task_stacks`
    (WARNING), and again when it times out.
    """
    manager = LifespanManager(app, startup_timeout=startup_timeout, shutdown_timeout=shutdown_timeout)
    watchdog: asyncio.Task[None] | None = None
    try:
        async with manager:
            try:
                yield manager.app
            finally:
                watchdog = asyncio.create_task(_report_when_slow(report_after_s), name="slow-shutdown-report")
    except TimeoutError:
        if watchdog is not None:
            log.warning("app shutdown timed out after %s s; live tasks:\n%s", shutdown_timeout, task_stacks())
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()


async def _report_when_slow(after_s: float) -> None:
    await asyncio.sleep(after_s)
    log.warning("app shutdown still running after %.0f s; live tasks:\n%s", after_s, task_stacks())
