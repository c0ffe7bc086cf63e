"""TURN REST API credentials (draft-uberti-behave-turn-rest-00 §2.2).

coturn verifies them with ``use-auth-secret`` + ``static-auth-secret``: the ``username`` is
``"<expiry unix time>:<user id>"`` and the password (``credential``) is
``base64(HMAC-SHA1(shared secret, username))``. coturn refuses the username once the expiry
time has passed, so the credential needs no revocation: it simply runs out.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class TurnCredential:
    """One credential: ``username``, ``credential`` (base64), ``ttl_seconds``, ``expires_at`` (UTC)."""

    username: str
    credential: str
    ttl_seconds: int
    expires_at: datetime


def turn_password(secret: str, username: str) -> str:
    """``base64(HMAC-SHA1(secret, username))``, both encoded as UTF-8."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def issue_credential(secret: str, user_id: str, *, ttl_seconds: int, now: datetime) -> TurnCredential:
    """The credential of ``user_id`` valid from ``now`` for ``ttl_seconds`` seconds.

    The expiry is ``now`` truncated to whole seconds plus ``ttl_seconds``, as a Unix time.
    Raises ``ValueError`` for a user id containing ``:`` (it would make the username ambiguous).
    """
    if not user_id or ":" in user_id:
        raise ValueError("user id must be non-empty and contain no ':'")
    expiry = int(now.timestamp()) + ttl_seconds
    username = f"{expiry}:{user_id}"
    return TurnCredential(
        username=username,
        credential=turn_password(secret, username),
        ttl_seconds=ttl_seconds,
        expires_at=datetime.fromtimestamp(expiry, UTC),
    )
