"""API keys: a signed-in user creates keys that act for them, within scopes, lists and revokes
them (docs/http-api.md, "API keys").

A key is its owner acting through an application: whatever the key does, its owner could do,
and only the operations its ``scopes`` allow (:data:`parley_security.api_keys.SCOPES`). The
secret (:func:`parley_security.api_keys.new_secret`) is returned once, at creation; auth keeps
only its SHA-256 (:func:`parley_security.api_keys.secret_hash`, where its module says why not
argon2). Creation and revocation stage ``api_key.created`` / ``api_key.revoked`` on
``parley.api_keys`` in the same write: the services that accept keys (meetings) learn them
from there, never by asking auth per request. They report use as ``api_key.used`` (at most
once a minute per key), which :meth:`ApiKeys.mark_used` applies to ``last_used_at``.
"""

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from parley_events import ApiKeyCreated, ApiKeyRevoked, outbox_entry
from parley_security.api_keys import new_secret, secret_hash, shown

EVENT_SOURCE = "/parley/auth"
#: Keys a user may hold that are not revoked; one more is refused (409 ``too_many_keys``).
MAX_ACTIVE_KEYS = 50


class ApiKeyError(Exception):
    """A refused key operation: ``status`` (HTTP), ``code`` (machine) and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ApiKey:
    """A key as stored: never its secret, only ``shown`` (its first characters) and its hash."""

    key_id: str
    owner_id: str
    name: str
    scopes: tuple[str, ...]
    shown: str
    secret_hash: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyStore(Protocol):
    async def insert(self, key: ApiKey, outbox: list[dict[str, Any]]) -> None: ...

    async def for_owner(self, owner_id: str) -> list[ApiKey]:
        """The owner's keys, newest first (revoked ones included)."""

    async def count_active(self, owner_id: str) -> int: ...

    async def revoke(self, key_id: str, owner_id: str, now: datetime, outbox: dict[str, Any]) -> ApiKey | None:
        """Mark the owner's not yet revoked key revoked with its event (compare-and-set);
        None when no such key of this owner is active."""

    async def get(self, key_id: str, owner_id: str) -> ApiKey | None: ...

    async def mark_used(self, key_id: str, used_at: datetime) -> None:
        """Set ``last_used_at`` to ``used_at`` unless it is later already."""


class ApiKeys:
    """Create, list, revoke (the owner only) and mark used."""

    def __init__(
        self,
        store: ApiKeyStore,
        *,
        on_event_staged: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._notify = on_event_staged
        self._clock = clock

    async def create(self, owner_id: str, owner_name: str, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
        """A new key of ``owner_id`` and its secret (the only time it exists outside the
        caller's hands). ``scopes`` are kept in :data:`SCOPES` order without repeats. Raises
        :class:`ApiKeyError` 409 ``too_many_keys`` beyond :data:`MAX_ACTIVE_KEYS`."""
        if await self._store.count_active(owner_id) >= MAX_ACTIVE_KEYS:
            raise ApiKeyError(409, "too_many_keys", f"at most {MAX_ACTIVE_KEYS} keys may be active; revoke one first")
        secret = new_secret()
        key = ApiKey(
            key_id=f"key_{secrets.token_urlsafe(12)}",
            owner_id=owner_id,
            name=name,
            scopes=tuple(dict.fromkeys(scopes)),
            shown=shown(secret),
            secret_hash=secret_hash(secret),
            created_at=self._clock(),
        )
        event = ApiKeyCreated(
            key_id=key.key_id,
            owner_id=owner_id,
            owner_name=owner_name,
            name=name,
            scopes=list(key.scopes),
            secret_hash=key.secret_hash,
            created_at=key.created_at,
        )
        await self._store.insert(key, [outbox_entry(event, source=EVENT_SOURCE)])
        self._notify()
        return key, secret

    async def list_for(self, owner_id: str) -> list[ApiKey]:
        """The owner's keys, newest first, revoked ones included."""
        return await self._store.for_owner(owner_id)

    async def revoke(self, owner_id: str, key_id: str) -> ApiKey:
        """Revoke the owner's key; revoking a revoked key again is harmless (no second event).
        Raises :class:`ApiKeyError` 404 ``api_key_not_found`` for a key the owner has not."""
        now = self._clock()
        event = ApiKeyRevoked(key_id=key_id, owner_id=owner_id, revoked_at=now)
        revoked = await self._store.revoke(key_id, owner_id, now, outbox_entry(event, source=EVENT_SOURCE))
        if revoked is not None:
            self._notify()
            return revoked
        existing = await self._store.get(key_id, owner_id)
        if existing is None:
            raise ApiKeyError(404, "api_key_not_found", "you have no API key with this id")
        return existing

    async def mark_used(self, key_id: str, used_at: datetime) -> None:
        """Apply an ``api_key.used`` report (idempotent: the latest time wins)."""
        await self._store.mark_used(key_id, used_at)
