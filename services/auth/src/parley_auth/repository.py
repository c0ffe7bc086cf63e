"""MongoDB storage of auth: collections ``users`` and ``refresh_tokens``.

``users``: ``{_id: user id, email (unique, lower case), display_name, password_hash,
created_at, session_family, session_lease_until, outbox: [pending events]}``.
``refresh_tokens``: ``{_id: SHA-256 hex of the token, family_id, user_id, created_at,
expires_at, rotated_at, revoked_at}``; the token itself is never stored.

Every write is one atomic MongoDB operation; the conditional ones (``replace_session``, each of ``renew_leases``,
``end_session_family``, ``mark_rotated``) are compare-and-sets that exactly one of several concurrent callers wins,
whichever replica they run in. Writes are retried when the store refuses one for colliding
with a concurrent write (:func:`parley_events.retry_write_conflicts`); nothing in this
process serializes them.
"""

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from parley_auth.domain.errors import EmailTaken
from parley_auth.domain.models import User
from parley_auth.domain.refresh_tokens import RefreshTokenRecord
from parley_events import OUTBOX_FIELD, retry_write_conflicts, stage, staged

log = logging.getLogger(__name__)

USERS = "users"
REFRESH_TOKENS = "refresh_tokens"


@retry_write_conflicts  # idempotent; collides with another replica (or relay) creating indexes
async def ensure_indexes(db: AsyncDatabase) -> None:
    """Create the indexes auth relies on (idempotent); run at start-up.

    ``users.email`` is unique: it is what makes a duplicate registration fail atomically.
    The TTL index that purges expired refresh tokens is skipped where the server lacks TTL
    indexes (FerretDB 1.x); expired tokens are refused by their ``expires_at`` regardless.
    """
    await db[USERS].create_index([("email", ASCENDING)], unique=True, name="email_unique")
    tokens = db[REFRESH_TOKENS]
    await tokens.create_index([("family_id", ASCENDING)], name="family")
    await tokens.create_index([("user_id", ASCENDING)], name="user")
    try:
        await tokens.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl")
    except OperationFailure as exc:
        log.info("no TTL index on refresh_tokens (server says: %s)", exc.details or exc)


def _user(doc: dict[str, Any]) -> User:
    return User(
        user_id=doc["_id"],
        email=doc["email"],
        display_name=doc["display_name"],
        password_hash=doc["password_hash"],
        created_at=doc["created_at"],
        session_family=doc.get("session_family"),
        session_lease_until=doc.get("session_lease_until"),
    )


class MongoUserStore:
    """:class:`parley_auth.domain.stores.UserStore` on the ``users`` collection."""

    def __init__(self, collection: AsyncCollection) -> None:
        self.collection = collection

    @retry_write_conflicts
    async def insert(self, user: User, outbox: list[dict[str, Any]]) -> None:
        doc = {
            "_id": user.user_id,
            "email": user.email,
            "display_name": user.display_name,
            "password_hash": user.password_hash,
            "created_at": user.created_at,
            "session_family": user.session_family,
            "session_lease_until": user.session_lease_until,
            **staged(outbox),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError as exc:
            raise EmailTaken(user.email) from exc

    async def by_email(self, email: str) -> User | None:
        doc = await self.collection.find_one({"email": email}, {OUTBOX_FIELD: 0})
        return _user(doc) if doc else None

    async def by_id(self, user_id: str) -> User | None:
        doc = await self.collection.find_one({"_id": user_id}, {OUTBOX_FIELD: 0})
        return _user(doc) if doc else None

    @retry_write_conflicts
    async def replace_session(
        self,
        user_id: str,
        old_family: str | None,
        old_lease: datetime | None,
        family_id: str,
        outbox: list[dict[str, Any]],
    ) -> bool:
        """Compare-and-set on (family, lease) as read: True for exactly one of concurrent
        callers that read the same state (a retried write conflict re-evaluates the filter)."""
        update: dict[str, Any] = {"$set": {"session_family": family_id, "session_lease_until": None}}
        for entry in outbox:
            update = stage(update, entry)
        result = await self.collection.update_one(
            {"_id": user_id, "session_family": old_family, "session_lease_until": old_lease}, update
        )
        return result.modified_count == 1

    @retry_write_conflicts
    async def renew_leases(self, sessions: Sequence[tuple[str, str]], until: datetime) -> int:
        if not sessions:
            return 0
        renewals = [
            UpdateOne({"_id": user_id, "session_family": family_id}, {"$set": {"session_lease_until": until}})
            for user_id, family_id in sessions
        ]
        return (await self.collection.bulk_write(renewals, ordered=False)).matched_count

    @retry_write_conflicts
    async def stage_event(self, user_id: str, entry: dict[str, Any]) -> None:
        await self.collection.update_one({"_id": user_id}, stage({}, entry))

    @retry_write_conflicts
    async def end_session_family(self, user_id: str, family_id: str) -> None:
        await self.collection.update_one(
            {"_id": user_id, "session_family": family_id},
            {"$set": {"session_family": None, "session_lease_until": None}},
        )

    @retry_write_conflicts
    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self.collection.update_one({"_id": user_id}, {"$set": {"password_hash": password_hash}})


def _record(doc: dict[str, Any]) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_hash=doc["_id"],
        family_id=doc["family_id"],
        user_id=doc["user_id"],
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        rotated_at=doc.get("rotated_at"),
        revoked_at=doc.get("revoked_at"),
    )


class MongoRefreshTokenStore:
    """:class:`parley_auth.domain.stores.RefreshTokenStore` on ``refresh_tokens``."""

    def __init__(self, collection: AsyncCollection) -> None:
        self.collection = collection

    @retry_write_conflicts
    async def insert(self, record: RefreshTokenRecord) -> None:
        await self.collection.insert_one(
            {
                "_id": record.token_hash,
                "family_id": record.family_id,
                "user_id": record.user_id,
                "created_at": record.created_at,
                "expires_at": record.expires_at,
                "rotated_at": record.rotated_at,
                "revoked_at": record.revoked_at,
            }
        )

    async def get(self, token_hash: str) -> RefreshTokenRecord | None:
        doc = await self.collection.find_one({"_id": token_hash})
        return _record(doc) if doc else None

    @retry_write_conflicts
    async def mark_rotated(self, token_hash: str, now: datetime) -> bool:
        """Compare-and-set: True for exactly one of concurrent callers, while the token is
        neither rotated nor revoked."""
        result = await self.collection.update_one(
            {"_id": token_hash, "rotated_at": None, "revoked_at": None}, {"$set": {"rotated_at": now}}
        )
        return result.modified_count == 1

    @retry_write_conflicts
    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self.collection.update_many(
            {"family_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )

