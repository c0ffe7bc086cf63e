"""How fast one user may post: meeting chat and direct messages together.

A person types a few messages a second at the most; a client posting faster is a script or a
flood, whose every message would be stored, published and pushed to every socket of the
meeting. ``PARLEY_CHAT_POST_LIMIT_PER_USER`` (``N/period`` in the ``limits`` library's
notation, default ``30/10 seconds``) is counted per user id (a guest is a user id of its own)
in a moving window, in this process's memory (``limits``' ``MemoryStorage``): no database
round trip per post. With several chat replicas behind the edge a user's posts are spread
over them, so a user gets up to that many times the limit; the limit bounds a flood, it does
not meter anyone. A retry of a posted message counts like a post.
"""

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from parley_chat.domain.errors import TooManyMessages


class PostLimit:
    """The posts one user may make per window (``limit``: ``N/period``)."""

    def __init__(self, limit: str) -> None:
        self._item = parse(limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def charge(self, user_id: str) -> None:
        """Count one post of ``user_id``; raises :class:`TooManyMessages` (429, with the
        seconds until the window lets one more through) when it is over the limit, and then
        counts nothing."""
        if await self._limiter.hit(self._item, user_id):
            return
        stats = await self._limiter.get_window_stats(self._item, user_id)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise TooManyMessages(retry_after)
