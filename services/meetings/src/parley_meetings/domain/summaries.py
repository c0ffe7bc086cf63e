"""A replica's cache of meeting summaries: ``GET /api/meetings/{id}`` without a store read.

Anyone holding a meeting's id reads its summary (the invite link's page, before joining), so
this read is the hottest of meetings; on the local store one ``find_one`` costs more CPU than
the rest of the request (bench/README.md, "REST"). A summary changes only when a write of the
meeting does, and every such write publishes an event of the meeting on ``parley.meetings``
(keyed by its id): every replica consumes that topic (no consumer group, from the end) and
forgets the meeting's summary on any of its events but those that change nothing a summary
shows (``meeting.created``, ``meeting.joined``; :meth:`SummaryCache.forget`); the replica that
made the write forgets it at once. A summary therefore shows a change made on another
replica once its event arrived (milliseconds; the outbox relay publishes right after the
write), and at most ``ttl_s`` late while Kafka is down. A meeting that does not exist is not
cached (it may be created on another replica the next moment).

Concurrent misses of one meeting share one store read (single flight): when a summary expires
under 1,000 reads per second, every read that arrives before the store answers would
otherwise start its own, and hundreds of them at once took the store 0.7 s to answer
(bench/README.md, "REST: the stampede, the full collections and the accept queue").
"""

import asyncio
from collections.abc import Awaitable, Callable

from cachetools import TTLCache

from parley_meetings.domain.errors import MeetingNotFound
from parley_meetings.domain.models import MeetingSummary

#: Reads a summary from the store (``None``: no such meeting).
Load = Callable[[str], Awaitable[MeetingSummary | None]]


class SummaryCache:
    """Up to ``size`` summaries, each for at most ``ttl_s`` seconds (cachetools' TTL cache).

    A read that misses loads from the store; misses of a meeting whose load is in flight wait
    for that load. :meth:`forget` lets go of the load in flight: later reads start their own (a
    read after a write must see the write), and a load let go of does not keep its result, so
    a summary read just before an invalidation is not kept after it.
    ``on_read`` is called with ``"hit"`` or ``"miss"`` (a metric; a read that joins a load in
    flight counts as a miss).
    """

    def __init__(
        self, load: Load, *, size: int, ttl_s: float, on_read: Callable[[str], None] = lambda result: None
    ) -> None:
        self._load = load
        self._cache: TTLCache[str, MeetingSummary] = TTLCache(maxsize=size, ttl=ttl_s)
        self._loading: dict[str, asyncio.Task[MeetingSummary]] = {}
        self._on_read = on_read

    async def get(self, meeting_id: str) -> MeetingSummary:
        """The meeting's summary; raises :class:`MeetingNotFound`."""
        found = self._cache.get(meeting_id)
        if found is not None:
            self._on_read("hit")
            return found
        self._on_read("miss")
        loading = self._loading.get(meeting_id)
        if loading is None:
            loading = self._loading[meeting_id] = asyncio.ensure_future(self._load_and_keep(meeting_id))
            loading.add_done_callback(lambda done: self._loaded(meeting_id, done))
        # shielded: a reader that goes away (its client hung up) does not cancel the others' load
        return await asyncio.shield(loading)

    def forget(self, meeting_id: str) -> None:
        """Drop the meeting's summary (it changed, or may have); a load in flight is no longer
        joined by later reads."""
        self._cache.pop(meeting_id, None)
        self._loading.pop(meeting_id, None)

    async def _load_and_keep(self, meeting_id: str) -> MeetingSummary:
        summary = await self._load(meeting_id)
        if summary is None:
            raise MeetingNotFound(f"no meeting {meeting_id!r}")
        if self._loading.get(meeting_id) is asyncio.current_task():  # not forgotten meanwhile
            self._cache[meeting_id] = summary
        return summary

    def _loaded(self, meeting_id: str, done: asyncio.Task[MeetingSummary]) -> None:
        if self._loading.get(meeting_id) is done:
            del self._loading[meeting_id]
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every reader went away
