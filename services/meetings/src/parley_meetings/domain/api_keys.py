"""Accepting API keys: who a key acts for and what it may do (docs/http-api.md, "API keys").

A key acts for its owner (``owner_id``), within its ``scopes``
(:data:`parley_security.api_keys.SCOPES`). meetings knows keys only from auth's events
(:class:`parley_meetings.api_keys_repository.ApiKeyProjection`): a revoked key is refused from
the moment its ``api_key.revoked`` arrived, and a key created a moment ago is unknown until its
``api_key.created`` arrived (usually within a second).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from parley_events import ApiKeyUsed, outbox_entry
from parley_security.api_keys import is_well_formed, secret_hash

EVENT_SOURCE = "/parley/meetings"
#: A key's ``last_used_at`` moves at most this often (and ``api_key.used`` is published as often).
LAST_USED_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyGrant:
    """What a key is: its id, the user it acts for, its scopes, and whether it was revoked."""

    key_id: str
    owner_id: str
    owner_name: str
    scopes: frozenset[str]
    revoked: bool
    last_used_at: datetime | None = None


class InvalidApiKey(Exception):
    """A key that is malformed (prefix, length or checksum), unknown, or revoked (401)."""


class KeyStore(Protocol):
    async def by_hash(self, secret_hash: str) -> KeyGrant | None: ...

    async def mark_used(self, key_id: str, now: datetime, interval: timedelta, outbox: dict) -> bool: ...


class ApiKeyAuthenticator:
    """Turns a presented secret into the :class:`KeyGrant` it names, and marks its use."""

    def __init__(self, store: KeyStore, *, clock: Callable[[], datetime], on_event_staged: Callable[[], None]) -> None:
        self._store = store
        self._clock = clock
        self._notify = on_event_staged

    async def authenticate(self, secret: str) -> KeyGrant:
        """The grant of ``secret``; raises :class:`InvalidApiKey` (saying which failure) when
        it is malformed, unknown or revoked. Records the use at most once a minute."""
        if not is_well_formed(secret):
            raise InvalidApiKey("the API key is malformed (a Parley key is parley_sk_ and 49 letters and digits)")
        grant = await self._store.by_hash(secret_hash(secret))
        if grant is None:
            raise InvalidApiKey("the API key is unknown (a key just created is accepted within seconds)")
        if grant.revoked:
            raise InvalidApiKey("the API key was revoked")
        now = self._clock()
        if grant.last_used_at is None or now - grant.last_used_at >= LAST_USED_INTERVAL:
            event = ApiKeyUsed(key_id=grant.key_id, used_at=now)
            if await self._store.mark_used(grant.key_id, now, LAST_USED_INTERVAL, outbox_entry(event, source=EVENT_SOURCE)):
                self._notify()
        return grant
