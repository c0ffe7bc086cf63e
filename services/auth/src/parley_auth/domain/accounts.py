"""Account rules: register, login, refresh-token rotation, logout, profile.

Sessions. A login starts a refresh-token *family*. **One user holds one active session at a
time**: the user document names its active family (``session_family``), and a new login makes
the new family the active one, which revokes every other family of that user (their tokens
are also marked revoked). A refresh token is accepted only while its family is the user's
active one, so concurrent logins cannot leave two sessions alive: the last one wins.

Rotation (RFC 9700 §4.14.2). Each refresh atomically marks the presented token as rotated and
issues the next token of the same family, valid ``refresh_ttl_seconds`` from now. Presenting
a token that was already rotated means it leaked (or a client retried): the whole family is
revoked and the answer is ``InvalidRefreshToken("reused")``; the holder must log in again.
Logout revokes the family of the presented token.

Access tokens already issued stay valid until their ``exp`` (15 minutes by default): they are
not tracked after issue.
"""

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from parley_auth.domain.errors import InvalidCredentials, InvalidRefreshToken
from parley_auth.domain.models import SignIn, User
from parley_auth.domain.passwords import Passwords
from parley_auth.domain.refresh_tokens import RefreshTokenRecord, hash_refresh_token, new_refresh_token
from parley_auth.domain.stores import RefreshTokenStore, UserStore
from parley_auth.domain.tokens import AccessTokens
from parley_events import UserRegistered, outbox_entry

log = logging.getLogger(__name__)

#: CloudEvents ``source`` of auth's events.
EVENT_SOURCE = "/parley/auth"

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Accounts:
    """The account operations. ``on_event_staged`` is called after a write that staged an
    outbox event (it wakes the outbox relay)."""

    def __init__(
        self,
        users: UserStore,
        refresh_tokens: RefreshTokenStore,
        passwords: Passwords,
        access_tokens: AccessTokens,
        *,
        refresh_ttl_seconds: int,
        on_event_staged: Callable[[], None] = lambda: None,
        clock: Clock = _utcnow,
    ) -> None:
        self._users = users
        self._refresh_tokens = refresh_tokens
        self._passwords = passwords
        self._access_tokens = access_tokens
        self._refresh_ttl = timedelta(seconds=refresh_ttl_seconds)
        self._on_event_staged = on_event_staged
        self._clock = clock

    async def register(self, email: str, display_name: str, password: str) -> User:
        """Create a user (``email`` already normalised, rules already checked).

        The user and its ``parley.auth.user.registered.v1`` event are stored in one write
        (transactional outbox). Raises :class:`EmailTaken`; then nothing is stored.
        """
        user = User(
            user_id=uuid.uuid4().hex,
            email=email,
            display_name=display_name,
            password_hash=await self._passwords.hash(password),
            created_at=self._clock(),
        )
        event = UserRegistered(user_id=user.user_id, email=user.email, display_name=user.display_name)
        await self._users.insert(user, [outbox_entry(event, source=EVENT_SOURCE)])
        self._on_event_staged()
        return user

    async def login(self, email: str, password: str) -> SignIn:
        """Check the credentials and start the user's new (and only) session.

        Raises :class:`InvalidCredentials` for an unknown email or a wrong password, taking
        the same time for both.
        """
        user = await self._users.by_email(email)
        if user is None:
            await self._passwords.burn(password)
            raise InvalidCredentials()
        if not await self._passwords.verify(user.password_hash, password):
            raise InvalidCredentials()
        if self._passwords.needs_rehash(user.password_hash):
            await self._users.set_password_hash(user.user_id, await self._passwords.hash(password))
        family_id = uuid.uuid4().hex
        now = self._clock()
        refresh_token = await self._issue_refresh_token(user.user_id, family_id, now)
        await self._users.set_session_family(user.user_id, family_id)
        await self._refresh_tokens.revoke_user_families_except(user.user_id, family_id, now)
        return self._sign_in(user, refresh_token, now)

    async def refresh(self, refresh_token: str) -> SignIn:
        """Rotate ``refresh_token``: return a new access token and the family's next refresh
        token. Raises :class:`InvalidRefreshToken`; a reused token revokes its family."""
        now = self._clock()
        token_hash = hash_refresh_token(refresh_token)
        record = await self._refresh_tokens.get(token_hash)
        if record is None:
            raise InvalidRefreshToken("unknown")
        if record.revoked_at is not None:
            raise InvalidRefreshToken("revoked")
        if record.rotated_at is not None:
            await self._revoke_family(record, now)
            log.warning("refresh token reuse: revoked family %s of user %s", record.family_id, record.user_id)
            raise InvalidRefreshToken("reused")
        if record.expires_at <= now:
            raise InvalidRefreshToken("expired")
        user = await self._users.by_id(record.user_id)
        if user is None or user.session_family != record.family_id:
            await self._refresh_tokens.revoke_family(record.family_id, now)
            raise InvalidRefreshToken("revoked")
        if not await self._refresh_tokens.mark_rotated(token_hash, now):
            # Another request rotated (or revoked) it first: a concurrent use of one token.
            await self._revoke_family(record, now)
            raise InvalidRefreshToken("reused")
        next_token = await self._issue_refresh_token(user.user_id, record.family_id, now)
        return self._sign_in(user, next_token, now)

    async def logout(self, refresh_token: str) -> None:
        """Revoke the family of ``refresh_token``; an unknown token is ignored (idempotent)."""
        record = await self._refresh_tokens.get(hash_refresh_token(refresh_token))
        if record is not None:
            await self._revoke_family(record, self._clock())

    async def profile(self, user_id: str) -> User | None:
        """The user ``user_id``, or None."""
        return await self._users.by_id(user_id)

    async def _issue_refresh_token(self, user_id: str, family_id: str, now: datetime) -> str:
        token = new_refresh_token()
        await self._refresh_tokens.insert(
            RefreshTokenRecord(
                token_hash=hash_refresh_token(token),
                family_id=family_id,
                user_id=user_id,
                created_at=now,
                expires_at=now + self._refresh_ttl,
            )
        )
        return token

    async def _revoke_family(self, record: RefreshTokenRecord, now: datetime) -> None:
        await self._users.end_session_family(record.user_id, record.family_id)
        await self._refresh_tokens.revoke_family(record.family_id, now)

    def _sign_in(self, user: User, refresh_token: str, now: datetime) -> SignIn:
        access = self._access_tokens.issue(user.user_id, user.display_name, now=now)
        return SignIn(
            access_token=access.token, expires_in=access.expires_in, refresh_token=refresh_token, user=user
        )
