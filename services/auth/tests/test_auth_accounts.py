"""Account rules with in-memory stores: registration, login, refresh rotation, reuse, logout."""

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley_auth.domain.accounts import Accounts
from parley_auth.domain.errors import ActiveSession, EmailTaken, InvalidCredentials, InvalidRefreshToken
from parley_auth.domain.keys import SigningKey
from parley_auth.domain.models import User
from parley_auth.domain.passwords import Passwords
from parley_auth.domain.refresh_tokens import RefreshTokenRecord, hash_refresh_token
from parley_auth.domain.tokens import AccessTokens
from parley_events import decode
from parley_testing import FakeClock


class FakeUsers:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.outbox: dict[str, list[dict[str, Any]]] = {}

    async def insert(self, user: User, outbox: list[dict[str, Any]]) -> None:
        if any(existing.email == user.email for existing in self.users.values()):
            raise EmailTaken(user.email)
        self.users[user.user_id] = user
        self.outbox[user.user_id] = outbox

    async def by_email(self, email: str) -> User | None:
        return next((user for user in self.users.values() if user.email == email), None)

    async def by_id(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    async def set_session_family(self, user_id: str, family_id: str) -> None:
        """Test helper: another login switched the session (not part of the store interface)."""
        self.users[user_id] = dataclasses.replace(self.users[user_id], session_family=family_id)

    async def replace_session(self, user_id, old_family, old_lease, family_id, outbox) -> bool:
        user = self.users[user_id]
        if (user.session_family, user.session_lease_until) != (old_family, old_lease):
            return False
        self.users[user_id] = dataclasses.replace(user, session_family=family_id, session_lease_until=None)
        self.outbox.setdefault(user_id, []).extend(outbox)
        return True

    async def renew_leases(self, sessions, until: datetime) -> int:
        renewed = [user_id for user_id, family_id in sessions if self.users[user_id].session_family == family_id]
        for user_id in renewed:
            self.users[user_id] = dataclasses.replace(self.users[user_id], session_lease_until=until)
        return len(renewed)

    async def stage_event(self, user_id: str, entry: dict[str, Any]) -> None:
        self.outbox.setdefault(user_id, []).append(entry)

    async def end_session_family(self, user_id: str, family_id: str) -> None:
        if self.users[user_id].session_family == family_id:
            self.users[user_id] = dataclasses.replace(self.users[user_id], session_family=None, session_lease_until=None)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.users[user_id] = dataclasses.replace(self.users[user_id], password_hash=password_hash)


class FakeRefreshTokens:
    def __init__(self) -> None:
        self.records: dict[str, RefreshTokenRecord] = {}

    async def insert(self, record: RefreshTokenRecord) -> None:
        assert record.token_hash not in self.records
        self.records[record.token_hash] = record

    async def get(self, token_hash: str) -> RefreshTokenRecord | None:
        return self.records.get(token_hash)

    async def mark_rotated(self, token_hash: str, now: datetime) -> bool:
        record = self.records.get(token_hash)
        if record is None or record.rotated_at is not None or record.revoked_at is not None:
            return False
        self.records[token_hash] = dataclasses.replace(record, rotated_at=now)
        return True

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        for key, record in self.records.items():
            if record.family_id == family_id and record.revoked_at is None:
                self.records[key] = dataclasses.replace(record, revoked_at=now)


@pytest.fixture
def clock() -> FakeClock[datetime]:
    return FakeClock(datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture
def users() -> FakeUsers:
    return FakeUsers()


@pytest.fixture
def tokens() -> FakeRefreshTokens:
    return FakeRefreshTokens()


@pytest.fixture
def accounts(users: FakeUsers, tokens: FakeRefreshTokens, clock: FakeClock[datetime]) -> Accounts:
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    access = AccessTokens(SigningKey(Ed25519PrivateKey.generate()), issuer="parley-auth", audience="parley", ttl_seconds=900)
    return Accounts(users, tokens, cheap, access, refresh_ttl_seconds=3600, clock=clock)


async def _registered(accounts: Accounts) -> User:
    return await accounts.register("ada@example.com", "Ada", "correct horse")


async def test_register_stores_an_argon2id_hash_and_stages_the_event(accounts: Accounts, users: FakeUsers) -> None:
    user = await _registered(accounts)
    stored = users.users[user.user_id]
    assert stored.password_hash.startswith("$argon2id$")
    assert "correct horse" not in stored.password_hash
    (entry,) = users.outbox[user.user_id]
    event = decode(bytes(entry["value"]))
    assert event.type == "parley.auth.user.registered.v1"
    assert event.subject == user.user_id
    assert event.data.model_dump() == {"user_id": user.user_id, "email": "ada@example.com", "display_name": "Ada"}
    assert entry["topic"] == "parley.users"
    assert bytes(entry["key"]) == user.user_id.encode()


async def test_register_twice_is_email_taken(accounts: Accounts, users: FakeUsers) -> None:
    await _registered(accounts)
    with pytest.raises(EmailTaken):
        await accounts.register("ada@example.com", "Other Ada", "another password")
    assert len(users.users) == 1


async def test_register_wakes_the_relay(users: FakeUsers, tokens: FakeRefreshTokens, accounts: Accounts) -> None:
    woken: list[bool] = []
    accounts._on_event_staged = lambda: woken.append(True)  # noqa: SLF001 - the wiring under test
    await _registered(accounts)
    assert woken == [True]


async def test_login_with_wrong_password_or_unknown_email_fails(accounts: Accounts) -> None:
    await _registered(accounts)
    with pytest.raises(InvalidCredentials):
        await accounts.login("ada@example.com", "wrong password")
    with pytest.raises(InvalidCredentials):
        await accounts.login("nobody@example.com", "correct horse")


async def test_refresh_rotates_the_token(accounts: Accounts, tokens: FakeRefreshTokens, clock: FakeClock[datetime]) -> None:
    user = await _registered(accounts)
    first = await accounts.login("ada@example.com", "correct horse")
    clock.now += timedelta(minutes=20)
    second = await accounts.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.user.user_id == user.user_id
    old = tokens.records[hash_refresh_token(first.refresh_token)]
    new = tokens.records[hash_refresh_token(second.refresh_token)]
    assert old.rotated_at == clock.now
    assert new.family_id == old.family_id
    assert new.expires_at == clock.now + timedelta(seconds=3600)
    third = await accounts.refresh(second.refresh_token)
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


async def test_only_hashes_are_stored(accounts: Accounts, tokens: FakeRefreshTokens) -> None:
    await _registered(accounts)
    sign_in = await accounts.login("ada@example.com", "correct horse")
    (record,) = tokens.records.values()
    assert record.token_hash == hash_refresh_token(sign_in.refresh_token)
    assert sign_in.refresh_token not in repr(tokens.records)


async def test_reusing_a_rotated_token_revokes_the_whole_family(accounts: Accounts, tokens: FakeRefreshTokens) -> None:
    await _registered(accounts)
    first = await accounts.login("ada@example.com", "correct horse")
    second = await accounts.refresh(first.refresh_token)

    with pytest.raises(InvalidRefreshToken) as reused:
        await accounts.refresh(first.refresh_token)
    assert reused.value.reason == "reused"
    # The legitimate-looking latest token of the family is dead too.
    with pytest.raises(InvalidRefreshToken) as revoked:
        await accounts.refresh(second.refresh_token)
    assert revoked.value.reason == "revoked"
    assert all(record.revoked_at is not None for record in tokens.records.values())


async def test_losing_a_concurrent_rotation_counts_as_reuse(
    accounts: Accounts, tokens: FakeRefreshTokens, users: FakeUsers
) -> None:
    user = await _registered(accounts)
    first = await accounts.login("ada@example.com", "correct horse")
    original_mark = tokens.mark_rotated

    async def rotated_meanwhile(token_hash: str, now: datetime) -> bool:
        await original_mark(token_hash, now)  # the other request wins the race
        return await original_mark(token_hash, now)

    tokens.mark_rotated = rotated_meanwhile  # type: ignore[method-assign]
    with pytest.raises(InvalidRefreshToken) as caught:
        await accounts.refresh(first.refresh_token)
    assert caught.value.reason == "reused"
    assert users.users[user.user_id].session_family is None


async def test_expired_and_unknown_tokens_are_refused(accounts: Accounts, clock: FakeClock[datetime]) -> None:
    await _registered(accounts)
    sign_in = await accounts.login("ada@example.com", "correct horse")
    with pytest.raises(InvalidRefreshToken) as unknown:
        await accounts.refresh("never-issued")
    assert unknown.value.reason == "unknown"
    clock.now += timedelta(seconds=3600)
    with pytest.raises(InvalidRefreshToken) as expired:
        await accounts.refresh(sign_in.refresh_token)
    assert expired.value.reason == "expired"


async def test_logout_revokes_the_family(accounts: Accounts, users: FakeUsers) -> None:
    user = await _registered(accounts)
    first = await accounts.login("ada@example.com", "correct horse")
    second = await accounts.refresh(first.refresh_token)
    await accounts.logout(second.refresh_token)
    assert users.users[user.user_id].session_family is None
    with pytest.raises(InvalidRefreshToken) as caught:
        await accounts.refresh(second.refresh_token)
    assert caught.value.reason == "revoked"
    await accounts.logout(second.refresh_token)  # twice is harmless
    await accounts.logout("never-issued")


async def test_a_new_login_ends_the_other_session(accounts: Accounts, tokens: FakeRefreshTokens) -> None:
    await _registered(accounts)
    laptop = await accounts.login("ada@example.com", "correct horse")
    phone = await accounts.login("ada@example.com", "correct horse")
    with pytest.raises(InvalidRefreshToken) as caught:
        await accounts.refresh(laptop.refresh_token)
    assert caught.value.reason == "revoked"
    assert tokens.records[hash_refresh_token(laptop.refresh_token)].revoked_at is not None
    assert (await accounts.refresh(phone.refresh_token)).user.email == "ada@example.com"


async def test_of_two_concurrent_logins_the_last_claim_keeps_its_session(
    users: FakeUsers, tokens: FakeRefreshTokens, accounts: Accounts
) -> None:
    """Login A claims the session, then waits to store its refresh token; login B replaces A
    and finishes; then A goes on. B is the session and its refresh token works: A's login
    must not revoke the tokens of a family that replaced it."""
    user = await _registered(accounts)
    gate, insert = asyncio.Event(), tokens.insert

    async def first_waits(record: RefreshTokenRecord) -> None:
        tokens.insert = insert
        await gate.wait()
        await insert(record)

    tokens.insert = first_waits  # type: ignore[method-assign]
    first = asyncio.create_task(accounts.login("ada@example.com", "correct horse"))
    while users.users[user.user_id].session_family is None:
        await asyncio.sleep(0.01)
    second = await accounts.login("ada@example.com", "correct horse")
    gate.set()
    first_sign_in = await first
    assert users.users[user.user_id].session_family == tokens.records[hash_refresh_token(second.refresh_token)].family_id
    assert (await accounts.refresh(second.refresh_token)).user.user_id == user.user_id
    with pytest.raises(InvalidRefreshToken):
        await accounts.refresh(first_sign_in.refresh_token)


async def test_a_session_superseded_without_revoked_records_is_still_refused(
    accounts: Accounts, users: FakeUsers
) -> None:
    # A concurrent login may switch the active family before the old records are marked.
    user = await _registered(accounts)
    sign_in = await accounts.login("ada@example.com", "correct horse")
    await users.set_session_family(user.user_id, "a-newer-family")
    with pytest.raises(InvalidRefreshToken) as caught:
        await accounts.refresh(sign_in.refresh_token)
    assert caught.value.reason == "revoked"


async def test_outdated_password_hashes_are_upgraded_at_login(users: FakeUsers, tokens: FakeRefreshTokens, clock: FakeClock[datetime]) -> None:
    access = AccessTokens(SigningKey(Ed25519PrivateKey.generate()), issuer="i", audience="a", ttl_seconds=900)
    weak = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1))
    user = await Accounts(users, tokens, weak, access, refresh_ttl_seconds=60, clock=clock).register("a@b.co", "A", "12345678")
    await Accounts(users, tokens, stronger, access, refresh_ttl_seconds=60, clock=clock).login("a@b.co", "12345678")
    upgraded = users.users[user.user_id].password_hash
    assert "t=2" in upgraded
    assert not stronger.needs_rehash(upgraded)


async def test_default_password_hashing_is_argon2id_with_rfc9106_parameters() -> None:
    passwords = Passwords()
    password_hash = await passwords.hash("correct horse")
    assert password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await passwords.verify(password_hash, "correct horse")
    assert not await passwords.verify(password_hash, "wrong horse")
    assert not await passwords.verify("not a hash", "correct horse")


# --- sessions: PARLEY_SESSION_POLICY single (the default) and multiple ----------------------


def _sid(access_token: str) -> str:
    return jwt.decode(access_token, options={"verify_signature": False})["sid"]


def _revocations(users: FakeUsers, user_id: str) -> list[dict[str, Any]]:
    events = [decode(bytes(entry["value"])) for entry in users.outbox.get(user_id, [])]
    return [event.data for event in events if event.type == "parley.auth.session.revoked.v1"]


async def test_access_tokens_name_their_session(accounts: Accounts) -> None:
    await _registered(accounts)
    sign_in = await accounts.login("ada@example.com", "correct horse")
    refreshed = await accounts.refresh(sign_in.refresh_token)
    assert len(_sid(sign_in.access_token)) == 32
    assert _sid(refreshed.access_token) == _sid(sign_in.access_token)


async def test_a_live_session_refuses_a_second_sign_in_until_taken_over(
    accounts: Accounts, users: FakeUsers, clock: FakeClock[datetime]
) -> None:
    user = await _registered(accounts)
    laptop = await accounts.login("ada@example.com", "correct horse")
    laptop_sid = _sid(laptop.access_token)
    assert await accounts.sessions_active([(user.user_id, laptop_sid)] * 2) == 1  # its heartbeat, twice in a fetch
    with pytest.raises(ActiveSession):
        await accounts.login("ada@example.com", "correct horse")
    assert await accounts.refresh(laptop.refresh_token)  # the refused sign-in changed nothing
    phone = await accounts.login("ada@example.com", "correct horse", takeover=True)
    (revoked,) = _revocations(users, user.user_id)
    assert (revoked.session_id, revoked.reason) == (laptop_sid, "replaced")
    with pytest.raises(InvalidRefreshToken):
        await accounts.refresh(laptop.refresh_token)
    assert await accounts.sessions_active([(user.user_id, laptop_sid)]) == 0  # a late heartbeat renews nothing
    assert await accounts.refresh(phone.refresh_token)


async def test_a_lapsed_lease_lets_the_user_in_without_takeover(accounts: Accounts, users: FakeUsers, clock: FakeClock[datetime]) -> None:
    user = await _registered(accounts)
    crashed = await accounts.login("ada@example.com", "correct horse")
    crashed_sid = _sid(crashed.access_token)
    await accounts.sessions_active([(user.user_id, crashed_sid)])
    clock.now += timedelta(seconds=59)
    with pytest.raises(ActiveSession):
        await accounts.login("ada@example.com", "correct horse")
    clock.now += timedelta(seconds=2)  # 61 s after the last heartbeat: the default lease is 60 s
    await accounts.login("ada@example.com", "correct horse")
    assert [r.session_id for r in _revocations(users, user.user_id)] == [crashed_sid]


async def test_a_session_that_never_went_live_is_replaced_quietly(accounts: Accounts, users: FakeUsers) -> None:
    user = await _registered(accounts)
    api_client = await accounts.login("ada@example.com", "correct horse")
    await accounts.login("ada@example.com", "correct horse")
    assert _revocations(users, user.user_id) == []
    with pytest.raises(InvalidRefreshToken):
        await accounts.refresh(api_client.refresh_token)


async def test_sign_out_stages_session_revoked(accounts: Accounts, users: FakeUsers) -> None:
    user = await _registered(accounts)
    sign_in = await accounts.login("ada@example.com", "correct horse")
    await accounts.logout(sign_in.refresh_token)
    await accounts.logout(sign_in.refresh_token)  # idempotent: one event
    (revoked,) = _revocations(users, user.user_id)
    assert revoked.reason == "signed_out"


async def test_multiple_sessions_coexist(users: FakeUsers, tokens: FakeRefreshTokens, clock: FakeClock[datetime]) -> None:
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    access = AccessTokens(SigningKey(Ed25519PrivateKey.generate()), issuer="i", audience="a", ttl_seconds=900)
    accounts = Accounts(users, tokens, cheap, access, refresh_ttl_seconds=3600, session_policy="multiple", clock=clock)
    await _registered(accounts)
    laptop = await accounts.login("ada@example.com", "correct horse")
    phone = await accounts.login("ada@example.com", "correct horse")
    assert await accounts.refresh(laptop.refresh_token)
    assert await accounts.refresh(phone.refresh_token)
