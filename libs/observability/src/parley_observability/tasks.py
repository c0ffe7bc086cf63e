"""Stopping background tasks for certain.

``task.cancel()`` followed by ``await task`` hangs forever when the task swallows the
cancellation and carries on: a library that catches ``CancelledError`` around its own cleanup
and returns normally is enough. It was seen in CI: a chat relay's sweep loop, cancelled while
PyMongo's async API ran one of its operations, went back to sleep in its next round, and the
app's shutdown waited for it until the test's 90 s limit. :func:`stop_task` cancels again until
the task has ended.
"""

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task, *, recancel_after_s: float = 1.0) -> None:
    """Cancel ``task`` and wait until it ended, cancelling it again every ``recancel_after_s``
    seconds while it runs on (logged at WARNING: the task swallowed a cancellation). Its
    result or exception is discarded. If the caller itself is cancelled meanwhile, the task
    has been cancelled at least once and the caller's ``CancelledError`` propagates."""
    attempts = 0
    while not task.done():
        task.cancel()
        attempts += 1
        if attempts == 2:
            log.warning("task %s swallowed its cancellation; cancelling it again", task.get_name())
        await asyncio.wait({task}, timeout=recancel_after_s)
    if not task.cancelled():
        with contextlib.suppress(Exception):
            task.exception()  # retrieved: no "exception was never retrieved" at garbage collection
