"""Draining a signaling replica before it stops, so that no call notices.

A drain (docs/signaling.md, "Drain") marks the replica as draining (``/readyz`` fails, new
connections are refused with ``connect_error`` ``draining``), tells every local socket
``draining`` (the client reconnects, lands on another replica and resumes its participant
there), and waits until no resumable participant is left on a local socket, or for
``timeout_s`` seconds. Then the replica may stop: what is left is handed to the cluster
(:meth:`RoomService.shutdown`).

Two ways in, one drain: Kubernetes' ``preStop`` hook calls ``GET /drain`` (it returns when the
drain is over), and SIGTERM (supervisord, or a pod without the hook) drains first and then
hands the signal to uvicorn, whose own shutdown would otherwise close every WebSocket at once.
A second SIGTERM stops at once.
"""

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from parley_signaling.domain.rooms import RoomService
from parley_signaling.metrics import SignalingMetrics

log = logging.getLogger(__name__)

#: Seconds between two checks whether the sockets have moved, and between two ``draining``
#: reminders to the sockets still here.
POLL_S = 0.1
REMIND_S = 5.0

SignalHandler = Callable[[int, FrameType | None], Any]


@dataclass(frozen=True)
class DrainReport:
    """The outcome of a drain: resumable participants that ``moved`` to another replica, those
    still ``remaining`` here when it ended, and how long it took (``seconds``)."""

    moved: int
    remaining: int
    seconds: float


class Drain:
    """The drain of one replica; :meth:`run` is idempotent (every caller gets the one report)."""

    def __init__(self, rooms: RoomService, metrics: SignalingMetrics, timeout_s: float) -> None:
        self._rooms = rooms
        self._metrics = metrics
        self._timeout_s = timeout_s
        self._task: asyncio.Task[DrainReport] | None = None

    @property
    def active(self) -> bool:
        """Whether a drain has started (the replica takes no new sockets from then on)."""
        return self._task is not None

    async def run(self) -> DrainReport:
        """Drain (or wait for the drain under way) and return its report."""
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await asyncio.shield(self._task)

    async def ready(self) -> None:
        """Readiness check: raises while draining (a proxy stops sending new sessions here)."""
        if self.active:
            raise RuntimeError("draining: this replica is stopping")

    async def _drain(self) -> DrainReport:
        self._metrics.draining.set(1)
        started = time.monotonic()
        initial = self._rooms.resumable_in_rooms()
        log.info("draining: asking %d sockets to move (%d resumable participants)", len(self._rooms.sockets), initial)
        remaining = initial
        reminded = started
        await self._rooms.announce_draining()
        while remaining and time.monotonic() - started < self._timeout_s:
            await asyncio.sleep(POLL_S)
            remaining = self._rooms.resumable_in_rooms()
            if remaining and time.monotonic() - reminded >= REMIND_S:
                reminded = time.monotonic()
                await self._rooms.announce_draining()
        report = DrainReport(moved=initial - remaining, remaining=remaining, seconds=round(time.monotonic() - started, 3))
        log.info("drained: %d participants moved, %d left, in %.1fs", report.moved, report.remaining, report.seconds)
        return report

    def drain_on_sigterm(self) -> None:
        """Make SIGTERM drain before the server's own SIGTERM handler runs.

        Only in the main thread and only when a server (uvicorn) handles SIGTERM already; in
        tests that run the app otherwise this does nothing.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        server_handler = signal.getsignal(signal.SIGTERM)
        if not callable(server_handler):
            return
        loop = asyncio.get_running_loop()
        terminating: list[bool] = []

        def stop(_: object) -> None:
            server_handler(signal.SIGTERM, None)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            if terminating:  # a second SIGTERM: stop now
                server_handler(signum, frame)
                return
            terminating.append(True)
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.run()).add_done_callback(stop))

        signal.signal(signal.SIGTERM, on_sigterm)
