"""A FIFO queue for one event loop that holds no buffer while it is empty.

Every signaling socket has two queues that are empty nearly all of its life: uvicorn's
queue of received WebSocket messages (ASGI ``receive``) and python-engineio's queue of
packets to send. An ``asyncio.Queue`` allocates four ``collections.deque``s (items, getters,
putters and its ``join`` event's waiters) of 760 bytes each and an ``Event`` when it is made,
~3.2 KiB (tracemalloc), so the two cost ~6.4 KiB of a socket's ~35 (bench/README.md,
"Sockets per process"). :class:`LeanQueue` has ``asyncio.Queue``'s interface for an
unbounded queue (``put``, ``put_nowait``, ``get``, ``get_nowait``, ``empty``, ``qsize``,
``task_done``, ``join``) and its semantics, cancellation included, and makes a buffer only
while something waits in it: the items' deque while items wait, and a deque of waiting
``get`` calls only while two or more wait. One waiting ``get`` is the idle socket's usual state
(its reader or writer task), and it is kept as the future itself: a deque of one future is
~760 bytes with it (two queues per socket: 1.5 KiB of an idle socket's ~30, by tracemalloc).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class LeanQueue(Generic[T]):
    """An unbounded FIFO queue, as ``asyncio.Queue()``, whose buffers exist only while used."""

    __slots__ = ("_items", "_getters", "_unfinished", "_finished")

    def __init__(self) -> None:
        self._items: deque[T] | None = None
        #: None, the one waiting ``get``'s future, or a deque of two or more in arrival order
        self._getters: asyncio.Future[None] | deque[asyncio.Future[None]] | None = None
        self._unfinished = 0
        self._finished: asyncio.Event | None = None

    def qsize(self) -> int:
        """The number of items in the queue."""
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        """True when the queue holds no item."""
        return not self._items

    def waiting(self) -> bool:
        """True when the queue is empty and a ``get`` waits for an item."""
        return self._getters is not None and not self._items

    def put_nowait(self, item: T) -> None:
        """Add ``item`` at the end and wake the first waiting ``get``."""
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._unfinished += 1
        self._wake_next()

    async def put(self, item: T) -> None:
        """As :meth:`put_nowait` (the queue is unbounded, so a put never waits)."""
        self.put_nowait(item)

    def get_nowait(self) -> T:
        """The first item; raises ``asyncio.QueueEmpty`` when there is none."""
        if not self._items:
            raise asyncio.QueueEmpty
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item

    async def get(self) -> T:
        """The first item, waiting for one. A cancelled ``get`` takes nothing, and passes a
        wake-up it received on to the next waiter (as ``asyncio.Queue.get``)."""
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._add_getter(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                self._remove_getter(getter)
                if self._items and not getter.cancelled():
                    self._wake_next()
                raise
        return self.get_nowait()

    def task_done(self) -> None:
        """One item taken earlier is processed; raises ``ValueError`` when called more times
        than items were put."""
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._finished is not None:
            self._finished.set()

    async def join(self) -> None:
        """Wait until every item put has been marked :meth:`task_done`."""
        if self._unfinished == 0:
            return
        if self._finished is None:
            self._finished = asyncio.Event()
        self._finished.clear()
        await self._finished.wait()

    def _add_getter(self, getter: asyncio.Future[None]) -> None:
        waiting = self._getters
        if waiting is None:
            self._getters = getter
        elif isinstance(waiting, deque):
            waiting.append(getter)
        else:
            self._getters = deque((waiting, getter))

    def _remove_getter(self, getter: asyncio.Future[None]) -> None:
        waiting = self._getters
        if waiting is getter:
            self._getters = None
        elif isinstance(waiting, deque) and getter in waiting:
            waiting.remove(getter)
            if not waiting:
                self._getters = None

    def _wake_next(self) -> None:
        while self._getters is not None:
            waiting = self._getters
            if isinstance(waiting, deque):
                getter = waiting.popleft()
                if not waiting:
                    self._getters = None
            else:
                getter, self._getters = waiting, None
            if not getter.done():
                getter.set_result(None)
                break
