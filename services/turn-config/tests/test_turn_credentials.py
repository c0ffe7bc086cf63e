"""Unit tests of the TURN REST API credential computation."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from parley_turn_config.domain.credentials import issue_credential, turn_password


def test_credential_matches_an_independently_computed_vector() -> None:
    secret = "north-wind-shared-secret-0123456789"
    now = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    expected_expiry = 1893553445 + 600  # 2030-01-02T03:04:05Z as Unix time, plus the ttl
    expected_username = f"{expected_expiry}:user-42"
    expected_password = base64.b64encode(
        hmac.new(secret.encode(), expected_username.encode(), hashlib.sha1).digest()
    ).decode()

    credential = issue_credential(secret, "user-42", ttl_seconds=600, now=now)

    assert credential.username == expected_username
    assert credential.credential == expected_password
    assert credential.ttl_seconds == 600
    assert credential.expires_at == datetime(2030, 1, 2, 3, 14, 5, tzinfo=UTC)


def test_known_vector_from_fixed_inputs() -> None:
    # Pinned with `printf %s 1700000000:alice | openssl dgst -sha1 -hmac secret -binary | base64`.
    pinned = "d8soP47RbdIKLDUOpnJPVQyq5Ts="
    recomputed = base64.b64encode(hmac.new(b"secret", b"1700000000:alice", hashlib.sha1).digest()).decode()
    assert recomputed == pinned
    assert turn_password("secret", "1700000000:alice") == pinned


def test_different_users_and_secrets_give_different_passwords() -> None:
    now = datetime.now(UTC)
    a = issue_credential("s" * 32, "alice", ttl_seconds=3600, now=now)
    b = issue_credential("s" * 32, "bob", ttl_seconds=3600, now=now)
    c = issue_credential("t" * 32, "alice", ttl_seconds=3600, now=now)
    assert a.credential != b.credential
    assert a.credential != c.credential
    assert a.username.split(":")[0] == b.username.split(":")[0]


@pytest.mark.parametrize("user_id", ["", "a:b"])
def test_ambiguous_user_ids_are_refused(user_id: str) -> None:
    with pytest.raises(ValueError):
        issue_credential("s" * 32, user_id, ttl_seconds=3600, now=datetime.now(UTC))
