"""Account rules: register, login, refresh-token rotation, logout, profile.

Sessions. A login starts a session: a refresh-token *family* whose id is the ``sid`` claim of
every access token issued in it. The policy is ``PARLEY_SESSION_POLICY``:

- ``single`` (default): **one active session per user**. The user document names it
  (``session_family``) with its *lease* (``session_lease_until``), which signaling's
  ``session.active`` heartbeats renew while the session has a live socket
  (:meth:`Accounts.sessions_active`, ``PARLEY_SESSION_LEASE_SECONDS``). A login while another
  session's lease runs is refused with :class:`ActiveSession` unless it asks to take over
  ("Use here"); otherwise (takeover, or the lease lapsed: a crashed browser) the new session
  replaces the old one by one compare-and-set on the user document (family *and* lease as read),
  so of concurrent logins and renewals across replicas exactly one wins each step and the
  losers read again. The replaced family's refresh tokens are revoked (any other family's
  are refused when presented: not the user's session); if the old session ever was
  live (it had a lease) the same write stages ``session.revoked`` (``replaced``) in the outbox:
  every service then refuses its access tokens and signaling ends its sockets. A session that
  never had a live socket (an API client's) is replaced quietly: its refresh token is refused,
  its access token lasts until its ``exp``. A refresh token is accepted only while its family
  is the user's active one.
- ``multiple``: sessions coexist; a login never conflicts and revokes nothing.

Rotation (RFC 9700 §4.14.2). Each refresh atomically marks the presented token as rotated and
issues the next token of the same family, valid ``refresh_ttl_seconds`` from now. Presenting
a token that was already rotated means it leaked (or a client retried): the whole family is
revoked and the answer is ``InvalidRefreshToken("reused")``; the holder must log in again.
Logout revokes the family of the presented token and stages ``session.revoked``
(``signed_out``) for it.

Access tokens are not tracked after issue: the services refuse those of a revoked session from
their projection of ``session.revoked`` (parley_security.revocations); others stay valid
until their ``exp`` (15 minutes by default).
"""

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from parley_auth.domain.errors import ActiveSession, InvalidCredentials, InvalidRefreshToken
from parley_auth.domain.models import SignIn, User
from parley_auth.domain.passwords import Passwords
from parley_auth.domain.refresh_tokens import RefreshTokenRecord, hash_refresh_token, new_refresh_token
from parley_auth.domain.stores import RefreshTokenStore, UserStore
from parley_auth.domain.tokens import AccessTokens
from parley_events import SessionRevoked, UserRegistered, outbox_entry

log = logging.getLogger(__name__)

#: CloudEvents ``source`` of auth's events.
EVENT_SOURCE = "/parley/auth"

Clock = Callable[[], datetime]

SessionPolicy = Literal["single", "multiple"]

#: Compare-and-set attempts of one login before it gives up (each loss means another login or
#: renewal changed the user's session meanwhile).
CLAIM_ATTEMPTS = 8


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
        session_policy: SessionPolicy = "single",
        session_lease_seconds: int = 60,
        on_event_staged: Callable[[], None] = lambda: None,
        clock: Clock = _utcnow,
    ) -> None:
        self.session_policy: SessionPolicy = session_policy
        self._lease = timedelta(seconds=session_lease_seconds)
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

    async def login(self, email: str, password: str, *, takeover: bool = False) -> SignIn:
        """Check the credentials and start a session (the user's only one under ``single``).

        Raises :class:`InvalidCredentials` for an unknown email or a wrong password, taking
        the same time for both; :class:`ActiveSession` (``single``) when another session's
        lease runs and ``takeover`` is False (then nothing changed).
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
        if self.session_policy == "single":
            replaced = await self._claim_session(user, family_id, now, takeover=takeover)
            refresh_token = await self._issue_refresh_token(user.user_id, family_id, now)
            if replaced is not None:
                # the family this claim replaced, not "every family but mine": a concurrent
                # login that claimed after this one would lose its own session to that
                await self._refresh_tokens.revoke_family(replaced, now)
        else:
            refresh_token = await self._issue_refresh_token(user.user_id, family_id, now)
        return self._sign_in(user, refresh_token, now, family_id)

    async def _claim_session(self, user: User, family_id: str, now: datetime, *, takeover: bool) -> str | None:
        """Make ``family_id`` the user's session by compare-and-set (see the module doc);
        returns the family it replaced, if any."""
        current: User | None = user
        for _ in range(CLAIM_ATTEMPTS):
            if current is None:
                raise InvalidCredentials()
            old, lease = current.session_family, current.session_lease_until
            if old is not None and lease is not None and lease > now and not takeover:
                raise ActiveSession()
            outbox = []
            if old is not None and lease is not None:
                event = SessionRevoked(user_id=user.user_id, session_id=old, reason="replaced", revoked_at=now)
                outbox.append(outbox_entry(event, source=EVENT_SOURCE))
            if await self._users.replace_session(user.user_id, old, lease, family_id, outbox):
                if outbox:
                    self._on_event_staged()
                return old
            current = await self._users.by_id(user.user_id)
        raise ActiveSession()

    async def sessions_active(self, sessions: Sequence[tuple[str, str]]) -> int:
        """Renew the leases of ``sessions`` ((user id, session id) pairs: ``session.active``
        heartbeats, one Kafka fetch's) in one store round trip; the number renewed. Only a
        session that is still its user's is renewed (``single``); a replaced session's
        heartbeat changes nothing, and with another policy nothing is leased."""
        if self.session_policy != "single" or not sessions:
            return 0
        return await self._users.renew_leases(list(dict.fromkeys(sessions)), self._clock() + self._lease)

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
        if user is None or (self.session_policy == "single" and user.session_family != record.family_id):
            await self._refresh_tokens.revoke_family(record.family_id, now)
            raise InvalidRefreshToken("revoked")
        if not await self._refresh_tokens.mark_rotated(token_hash, now):
            # Another request rotated (or revoked) it first: a concurrent use of one token.
            await self._revoke_family(record, now)
            raise InvalidRefreshToken("reused")
        next_token = await self._issue_refresh_token(user.user_id, record.family_id, now)
        return self._sign_in(user, next_token, now, record.family_id)

    async def logout(self, refresh_token: str) -> None:
        """Revoke the family of ``refresh_token`` and stage ``session.revoked`` (``signed_out``)
        for it; an unknown or already revoked token is ignored (idempotent)."""
        record = await self._refresh_tokens.get(hash_refresh_token(refresh_token))
        if record is None or record.revoked_at is not None:
            return
        await self.end_session(record.user_id, record.family_id)

    async def end_session(self, user_id: str, session_id: str) -> None:
        """Revoke session ``session_id`` of ``user_id`` (its refresh-token family) and stage
        ``session.revoked`` (``signed_out``): a logout, by a refresh token or by an access
        token alone."""
        now = self._clock()
        event = SessionRevoked(user_id=user_id, session_id=session_id, reason="signed_out", revoked_at=now)
        await self._users.stage_event(user_id, outbox_entry(event, source=EVENT_SOURCE))
        self._on_event_staged()
        await self._users.end_session_family(user_id, session_id)
        await self._refresh_tokens.revoke_family(session_id, now)

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

    def _sign_in(self, user: User, refresh_token: str, now: datetime, session_id: str) -> SignIn:
        access = self._access_tokens.issue(user.user_id, user.display_name, session_id=session_id, now=now)
        return SignIn(
            access_token=access.token, expires_in=access.expires_in, refresh_token=refresh_token, user=user
        )
