"""Short full collections: every service freezes what survives them.

CPython's full collection (generation 2) walks every tracked object of the process while the
event loop waits: its start-up (FastAPI, Pydantic, FastStream, the routes' models: 120,000 to
250,000 objects) and what it holds. Measured: on a signaling replica opening 10,000 sockets at
50/s, 19 full collections stopped it for 19.4 s in all, about a second each, which was the
connect+join p99 (bench/README.md, "Sockets: 10,000 on one replica"); on meetings serving
1,000 requests per second, one every minute or so, 120-150 ms each, which was the p99
(bench/README.md, "REST: the stampede, the full collections and the accept queue").

An object that survived a full collection is long-lived. :class:`SurvivorFreezer` moves the
survivors of each full collection to the permanent generation (``gc.freeze()``, from a
``gc.callbacks`` hook: https://docs.python.org/3/library/gc.html#gc.freeze), so the next one
walks only what was made since. Reference counting still frees a frozen object, as it frees
everything a closed socket held; cyclic garbage among frozen objects waits for the thaw
(``gc.unfreeze()``) every ``thaw_interval_s`` seconds, after which one full collection walks
everything again and freezes its survivors.

So what outlives a full collection must not be left in a reference cycle when it is done
with: it would wait for the thaw. A closed socket's connection was (signaling's
``websocket_protocol``; bench/README.md, "Sockets: the closed sockets' cycles").

Every service runs one for its app's lifetime (``async with SurvivorFreezer(...)`` in its
lifespan; ``PARLEY_GC_THAW_SECONDS``, :class:`parley_settings.ServiceSettings`).

Exposed: ``parley_gc_thaws_total``. (Not the number of frozen objects: ``gc.get_freeze_count()``
walks the whole permanent generation, 30 ms at 140,000 objects here, and a scrape runs on the
event loop.)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger(__name__)


class SurvivorFreezer:
    """Freeze the survivors of every full collection; thaw them every ``thaw_interval_s``."""

    def __init__(self, registry: CollectorRegistry, thaw_interval_s: float) -> None:
        self._thaw_interval_s = thaw_interval_s
        self._task: asyncio.Task[None] | None = None
        self._thaws = Counter(
            "parley_gc_thaws_total",
            "Times the permanent generation was given back to the collector.",
            registry=registry,
        )

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()

    def start(self) -> None:
        """Hook into the collector, freeze what start-up made (one full collection now, before
        the replica serves, not the first one under traffic: ~124,000 objects, 72–75 ms here)
        and start the thaw timer (on the running loop)."""
        if self not in gc.callbacks:
            gc.callbacks.append(self)
        gc.collect()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._thaw_periodically(), name="gc-thaw")

    async def __aenter__(self) -> SurvivorFreezer:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Unhook, stop the timer and give every frozen object back to the collector."""
        if self in gc.callbacks:
            gc.callbacks.remove(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        gc.unfreeze()

    def thaw(self) -> None:
        """Give the permanent generation back: the next full collection walks it all once."""
        gc.unfreeze()
        self._thaws.inc()
        log.info("gave the frozen objects back to the garbage collector")

    async def _thaw_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._thaw_interval_s)
            self.thaw()
