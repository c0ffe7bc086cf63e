"""Throttling of login, registration and refresh (OWASP Authentication Cheat Sheet).

Counting is the fixed-window strategy of the ``limits`` library (PyPI), over a storage in
auth's own MongoDB database, so every replica of auth shares the same counters. ``limits``
ships a MongoDB storage, but its asynchronous one needs Motor (end of life) and it relies on
server features FerretDB 1.x lacks (TTL indexes, pipeline updates, ``$filter``), so
:class:`MongoThrottleStorage` implements ``limits``' storage interface with PyMongo's async
API: an ``$inc`` of the open window, else the insert of a new one (unique ``_id``).

A window starts at the first counted attempt and lasts the limit's period; attempts refused
in it do not extend it, so nobody is locked out for longer than one period after the last
attempt that was counted. Every attempt is counted *before* the work (an atomic increment),
so a burst of parallel requests cannot slip through between a check and a count.

Login, in this order (the first refusal stops, so a refused attempt counts nowhere further):

1. per client address (``login_limit_per_address``): password spraying from one address; a
   successful login gives its attempt back, so only failures accumulate;
2. per account and address (``login_limit_per_account_and_address``, small): guessing one
   account's password from one address; cleared by a successful login from that address;
3. per account (``login_limit_per_account``): guessing distributed over addresses; cleared by
   a successful login.

An attacker can make an account answer 429 for at most one ``login_limit_per_account`` period
(15 minutes by default) at a time, and only by spreading failed attempts over several
addresses: the per-address limits are reached first from any single one. There is no
permanent lockout. Registration, refresh and guest tokens are limited per client address.

The client address is the ASGI ``client``: uvicorn takes it from ``X-Forwarded-For`` only
when the request comes from a proxy listed in ``--forwarded-allow-ips`` (Traefik), never
from anyone else.
"""

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from parley_events import is_write_conflict, retry_write_conflicts

log = logging.getLogger(__name__)

#: The collection of the throttle's counters in auth's database.
THROTTLE = "throttle"

Clock = Callable[[], float]


class Throttled(Exception):
    """Too many attempts: answer 429 with ``Retry-After: retry_after`` (seconds, ≥ 1).

    ``scope`` names the limit that refused (``address``, ``account_address``, ``account``)."""

    def __init__(self, action: str, scope: str, retry_after: int) -> None:
        super().__init__(f"{action} throttled per {scope} for {retry_after} s")
        self.action = action
        self.scope = scope
        self.retry_after = retry_after


class MongoThrottleStorage(Storage):
    """``limits``' async storage interface on a MongoDB collection (PyMongo async).

    Documents ``{_id: key, count, expire_at}``; a window whose ``expire_at`` passed is deleted
    before the next increment starts a new one. Where the server has TTL indexes (MongoDB),
    expired windows are also purged by ``expire_at``; on FerretDB 1.x they stay until the key
    is used again. Counting is exact across replicas because the store is atomic per
    document; a write the store refused as a conflict is run again
    (:func:`parley_events.retry_write_conflicts`).
    """

    STORAGE_SCHEME = None  # built directly, never from a URI

    def __init__(self, collection: AsyncCollection, clock: Clock = time.time) -> None:
        super().__init__()
        self.collection = collection
        self._clock = clock

    @retry_write_conflicts
    async def ensure_indexes(self) -> None:
        """The TTL index purging expired windows, where the server has TTL indexes; any other
        refusal is logged once (a write conflict is run again)."""
        try:
            await self.collection.create_index([("expire_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl")
        except OperationFailure as exc:
            if is_write_conflict(exc):
                raise
            log.info("no TTL index on %s (server says: %s)", self.collection.name, exc.details or exc)

    @property
    def base_exceptions(self) -> type[Exception]:
        return PyMongoError

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    @retry_write_conflicts
    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        # An increment of the window that exists, else the insert of a new one: not one upsert
        # with ``$setOnInsert``, which FerretDB 1.13 applies on every update (measured: the
        # window's end moved with each attempt, so a lockout never ended).
        now = self._now()
        await self.collection.delete_one({"_id": key, "expire_at": {"$lte": now}})
        for _ in range(2):
            doc = await self.collection.find_one_and_update(
                {"_id": key}, {"$inc": {"count": amount}}, return_document=ReturnDocument.AFTER
            )
            if doc is not None:
                return int(doc["count"])
            try:
                await self.collection.insert_one(
                    {"_id": key, "count": amount, "expire_at": now + timedelta(seconds=expiry)}
                )
                return amount
            except DuplicateKeyError:  # a concurrent attempt opened the window first: count in it
                continue
        raise AssertionError("a window that exists was neither found nor inserted")

    @retry_write_conflicts
    async def give_back(self, key: str) -> None:
        """Undo one counted attempt of the current window, never below zero."""
        await self.collection.update_one(
            {"_id": key, "expire_at": {"$gt": self._now()}, "count": {"$gt": 0}}, {"$inc": {"count": -1}}
        )

    async def get(self, key: str) -> int:
        doc = await self.collection.find_one({"_id": key, "expire_at": {"$gt": self._now()}})
        return int(doc["count"]) if doc else 0

    async def get_expiry(self, key: str) -> float:
        doc = await self.collection.find_one({"_id": key})
        if doc is None:
            return self._clock()
        expire_at: datetime = doc["expire_at"]
        if expire_at.tzinfo is None:
            expire_at = expire_at.replace(tzinfo=UTC)
        return expire_at.timestamp()

    async def check(self) -> bool:
        try:
            await self.collection.database.command("ping")
        except PyMongoError:
            return False
        return True

    async def reset(self) -> int | None:
        return (await self.collection.delete_many({})).deleted_count

    @retry_write_conflicts
    async def clear(self, key: str) -> None:
        await self.collection.delete_one({"_id": key})


@dataclass(frozen=True)
class Limits:
    """The limits, in ``limits``' notation (``"5/5 minutes"``, ``"20/hour"``)."""

    login_per_address: str
    login_per_account_and_address: str
    login_per_account: str
    register_per_address: str
    refresh_per_address: str
    guest_per_address: str = "30/hour"


def _digest(value: str) -> str:
    # Keys hold no email address or IP address in clear.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class Throttle:
    """The throttle of auth's endpoints; ``on_refused(action, scope)`` is told each refusal."""

    def __init__(
        self,
        storage: MongoThrottleStorage,
        limits: Limits,
        *,
        on_refused: Callable[[str, str], None] = lambda action, scope: None,
        clock: Clock = time.time,
    ) -> None:
        self._storage = storage
        self._limiter = FixedWindowRateLimiter(storage)
        self._login_address = parse(limits.login_per_address)
        self._login_account_address = parse(limits.login_per_account_and_address)
        self._login_account = parse(limits.login_per_account)
        self._register_address = parse(limits.register_per_address)
        self._refresh_address = parse(limits.refresh_per_address)
        self._guest_address = parse(limits.guest_per_address)
        self._on_refused = on_refused
        self._clock = clock

    async def _hit(self, action: str, scope: str, item: RateLimitItem, *ids: str) -> None:
        if not await self._limiter.hit(item, action, scope, *ids):
            key = item.key_for(action, scope, *ids)
            retry_after = max(1, math.ceil(await self._storage.get_expiry(key) - self._clock()))
            self._on_refused(action, scope)
            if await self._storage.get(key) == item.amount + 1:  # the first refusal of this window
                # One line per lockout, not per refused attempt (OWASP: log and review lockouts).
                log.warning("%s throttled per %s (key %s) for %d s", action, scope, ids[0][:12], retry_after)
            raise Throttled(action, scope, retry_after)

    async def login_attempt(self, email: str, address: str) -> None:
        """Count a login attempt for ``email`` (normalised) from ``address``; raise
        :class:`Throttled` when one of the three login limits is exhausted."""
        account, addr = _digest(email), _digest(address)
        await self._hit("login", "address", self._login_address, addr)
        await self._hit("login", "account_address", self._login_account_address, account, addr)
        await self._hit("login", "account", self._login_account, account)

    async def login_succeeded(self, email: str, address: str) -> None:
        """The password was right: the account's counters restart, the address gets its
        attempt back."""
        account, addr = _digest(email), _digest(address)
        await self._limiter.clear(self._login_account_address, "login", "account_address", account, addr)
        await self._limiter.clear(self._login_account, "login", "account", account)
        await self._storage.give_back(self._login_address.key_for("login", "address", addr))

    async def register_attempt(self, address: str) -> None:
        await self._hit("register", "address", self._register_address, _digest(address))

    async def refresh_attempt(self, address: str) -> None:
        await self._hit("refresh", "address", self._refresh_address, _digest(address))

    async def guest_attempt(self, address: str) -> None:
        """Count a guest token asked for from ``address`` (issued or not)."""
        await self._hit("guest", "address", self._guest_address, _digest(address))
