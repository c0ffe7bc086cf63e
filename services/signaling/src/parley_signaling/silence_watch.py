"""One timer per WebSocket that ends its read loop when the client has been silent too long.

Engine.IO closes a session whose client sent nothing for ``ping_interval + ping_timeout``
seconds (the client answers every PING, so silence means it is gone: Engine.IO protocol v4,
"Heartbeat"). python-engineio times out each read with a timeout of its own; signaling's
reader (:func:`parley_signaling.transport.serve_websocket`) did the same with
``asyncio.timeout``, which arms a timer and cancels it for every message: 6.6–7.5 µs per read,
about 2 % of what relaying a message costs a replica (bench/README.md, "The reader's timeout").
:class:`SilenceWatch` keeps one timer per socket that is re-armed only when it fires.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class SilenceWatch:
    """Cancels the task that made it once it has waited in :meth:`read` for ``silence_s``
    seconds without a result; never while that task does anything else (a handler runs).

    The silence is counted from the start of the current read, as a timeout around each read
    would count it. After the cancellation, :attr:`expired` is True and the task's
    cancellation request has been withdrawn (``Task.uncancel``) once :meth:`read` raises
    :class:`TimeoutError` in its place. :meth:`close` stops the timer.
    """

    __slots__ = ("_loop", "_task", "_silence_s", "_read_since", "_handle", "expired")

    def __init__(self, silence_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("SilenceWatch must be made inside a task")
        self._task = task
        self._silence_s = silence_s
        #: When the current read began (loop time), or None while no read waits.
        self._read_since: float | None = None
        self.expired = False
        self._handle: asyncio.TimerHandle | None = self._loop.call_at(self._loop.time() + silence_s, self._check)

    def _check(self) -> None:
        now = self._loop.time()
        if self._read_since is None:  # busy between reads: check again a silence from now
            due = now + self._silence_s
        else:
            due = self._read_since + self._silence_s
            if now >= due:
                self._handle = None
                self.expired = True
                self._task.cancel()
                return
        self._handle = self._loop.call_at(due, self._check)

    async def read(self, receive: Callable[[], Awaitable[T]]) -> T:
        """``await receive()``; raises :class:`TimeoutError` when the silence ran out meanwhile."""
        self._read_since = self._loop.time()
        try:
            return await receive()
        except asyncio.CancelledError:
            if self.expired and self._task.uncancel() == 0:
                raise TimeoutError(f"no message for {self._silence_s:.1f} s") from None
            raise
        finally:
            self._read_since = None

    def heard(self) -> None:
        """The client was heard without a read returning (a message handled as it was read,
        :data:`~parley_signaling.websocket_protocol.READ_NOW`): the silence of the current
        read starts again now."""
        if self._read_since is not None:
            self._read_since = self._loop.time()

    def close(self) -> None:
        """Stop the timer (idempotent)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
