"""Background tasks: stopping them for certain, and running a chore periodically.

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
from collections.abc import Awaitable, Callable

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


class Periodic:
    """``step`` every ``interval_s`` seconds (the first after one interval) on the running
    loop, from :meth:`start` until :meth:`stop`. A step that raises is logged at ERROR, as
    ``failed`` with its traceback, and the next one runs as planned: a background chore must
    never end its service."""

    def __init__(self, name: str, interval_s: float, step: Callable[[], Awaitable[object]], failed: str) -> None:
        self._name = name
        self._interval_s = interval_s
        self._step = step
        self._failed = failed
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self._step()
            except Exception:  # noqa: BLE001 - logged; the next step runs as planned
                log.exception(self._failed)
