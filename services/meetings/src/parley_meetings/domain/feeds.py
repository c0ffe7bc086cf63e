"""Private calendar feeds: a secret URL per user that lists their upcoming meetings.

The secret (``pcf_`` and 43 URL-safe characters, 256 bits) is shown once when created; only
its SHA-256 is stored, so a leaked database does not leak feeds. Creating a feed again
replaces the previous one; revoking it makes its URL answer 404.
"""

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime

from parley_meetings.domain.errors import FeedNotFound
from parley_meetings.repository import CalendarFeedRepository

#: Prefix of every feed secret (recognisable by secret scanners and people alike).
TOKEN_PREFIX = "pcf_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CalendarFeeds:
    """Create, resolve and revoke users' feed secrets."""

    def __init__(self, repository: CalendarFeedRepository, clock: Callable[[], datetime]) -> None:
        self._repo = repository
        self._clock = clock

    async def create(self, user_id: str) -> str:
        """A new feed secret for ``user_id`` (the previous one stops working)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        await self._repo.put(user_id, token_hash(token), self._clock())
        return token

    async def created_at(self, user_id: str) -> datetime | None:
        """When ``user_id``'s current feed was created (UTC), or None when they have none."""
        return await self._repo.created_at(user_id)

    async def owner(self, token: str) -> str:
        """The user the secret belongs to; raises :class:`FeedNotFound`."""
        user_id = await self._repo.owner(token_hash(token)) if token.startswith(TOKEN_PREFIX) else None
        if user_id is None:
            raise FeedNotFound("no calendar feed has this address (it may have been revoked)")
        return user_id

    async def revoke(self, user_id: str) -> bool:
        """Revoke the user's feed; False when there was none."""
        return await self._repo.delete(user_id)
