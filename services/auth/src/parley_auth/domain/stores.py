"""The narrow storage interfaces the account rules need (MongoDB in ``repository.py``)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from parley_auth.domain.models import User
from parley_auth.domain.refresh_tokens import RefreshTokenRecord


class UserStore(Protocol):
    async def insert(self, user: User, outbox: list[dict[str, Any]]) -> None:
        """Store ``user`` with its pending events in one write; raises ``EmailTaken``."""

    async def by_email(self, email: str) -> User | None: ...

    async def by_id(self, user_id: str) -> User | None: ...

    async def replace_session(
        self,
        user_id: str,
        old_family: str | None,
        old_lease: datetime | None,
        family_id: str,
        outbox: list[dict[str, Any]],
    ) -> bool:
        """Compare-and-set: if the user's session is still ``old_family`` with lease
        ``old_lease``, make ``family_id`` the session (no lease yet) and stage ``outbox`` in
        the same write; False (nothing written) when either changed meanwhile."""

    async def renew_leases(self, sessions: Sequence[tuple[str, str]], until: datetime) -> int:
        """Set the lease to ``until`` of each (user id, family id) of ``sessions`` whose family is
        still the user's session, in one round trip; how many were."""

    async def stage_event(self, user_id: str, entry: dict[str, Any]) -> None:
        """Stage one outbox entry on the user's document."""

    async def end_session_family(self, user_id: str, family_id: str) -> None:
        """Clear the active session if it is still ``family_id`` (atomic compare-and-set)."""

    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...


class RefreshTokenStore(Protocol):
    async def insert(self, record: RefreshTokenRecord) -> None: ...

    async def get(self, token_hash: str) -> RefreshTokenRecord | None: ...

    async def mark_rotated(self, token_hash: str, now: datetime) -> bool:
        """Atomically mark a not yet rotated, not revoked token as rotated; False if it was not."""

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        """Mark every not yet revoked token of ``family_id`` revoked."""
