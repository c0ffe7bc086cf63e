"""Idempotent creation: the ``Idempotency-Key`` request header of ``POST /api/meetings``
(IETF draft-ietf-httpapi-idempotency-key-header; docs/http-api.md, "Idempotency").

A caller (a user, or an application acting for one) sends a key it chose, 1–255 visible
ASCII characters, unique per intended creation. The first request with the key creates the
meeting and its answer is stored under (caller, key) for ``ttl`` (default 24 hours); a request
with the same key:

- and the same body (compared as parsed, so formatting does not matter) gets the stored
  answer again (201, the same meeting, ``Idempotent-Replayed: true``), and nothing is created;
- and another body is refused: 422 ``idempotency_key_reused``;
- while the first is still running: 409 ``idempotency_key_in_use`` (retry after a moment).

A first request that failed (e.g. 422 ``start_in_past``) stores nothing: the key may be used
again. A claim left behind by a crashed request is taken over after :data:`STALE_AFTER`.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from parley_meetings.domain.errors import MeetingsError

#: A claim older than this, still pending, belongs to a request that died: it may be taken over.
STALE_AFTER = timedelta(seconds=30)


class IdempotencyKeyReused(MeetingsError):
    code = "idempotency_key_reused"
    status_code = 422


class IdempotencyKeyInUse(MeetingsError):
    code = "idempotency_key_in_use"
    status_code = 409
    headers = {"Retry-After": "1"}


@dataclass(frozen=True)
class Claim:
    """A stored key: the request's fingerprint, when it was claimed, and the answer once done."""

    request_hash: str
    started_at: datetime
    expires_at: datetime
    response: dict[str, Any] | None


class IdempotencyStore(Protocol):
    async def claim(self, record_id: str, request_hash: str, now: datetime, expires_at: datetime) -> Claim | None:
        """Insert a pending claim; None when it was inserted, else the existing claim."""

    async def take_over(self, record_id: str, seen: Claim, request_hash: str, now: datetime, expires_at: datetime) -> bool:
        """Replace ``seen`` (compare-and-set on its ``started_at``) with a new pending claim."""

    async def complete(self, record_id: str, started_at: datetime, response: dict[str, Any]) -> None: ...

    async def release(self, record_id: str, started_at: datetime) -> None: ...


def fingerprint(body: Any) -> str:
    """SHA-256 (hex) of ``body`` (JSON-able) as canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Idempotency:
    """Runs an action at most once per (caller, key) and remembers its answer for ``ttl``."""

    def __init__(self, store: IdempotencyStore, *, ttl: timedelta, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock

    async def run(
        self, caller_id: str, key: str, body: Any, action: Callable[[], Awaitable[dict[str, Any]]]
    ) -> tuple[dict[str, Any], bool]:
        """``(answer, replayed)``: the action's answer (JSON-able), or the stored one of an
        earlier request with ``key`` and the same ``body``. Raises
        :class:`IdempotencyKeyReused` or :class:`IdempotencyKeyInUse` (module docstring)."""
        record_id = hashlib.sha256(f"{caller_id}\x00{key}".encode()).hexdigest()
        request_hash = fingerprint(body)
        now = self._clock()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as the store keeps it
        expires_at = now + self._ttl
        existing = await self._store.claim(record_id, request_hash, now, expires_at)
        if existing is not None:
            if existing.expires_at <= now or (existing.response is None and now - existing.started_at > STALE_AFTER):
                if not await self._store.take_over(record_id, existing, request_hash, now, expires_at):
                    raise IdempotencyKeyInUse("a request with this Idempotency-Key is in progress; retry in a moment")
            elif existing.request_hash != request_hash:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used with a different request body; use a new key for a new meeting"
                )
            elif existing.response is not None:
                return existing.response, True
            else:
                raise IdempotencyKeyInUse("a request with this Idempotency-Key is in progress; retry in a moment")
        try:
            answer = await action()
        except BaseException:
            await self._store.release(record_id, now)
            raise
        await self._store.complete(record_id, now, answer)
        return answer, False
