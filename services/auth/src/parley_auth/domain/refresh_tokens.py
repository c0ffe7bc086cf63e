"""Opaque refresh tokens and their stored records.

A refresh token is ``secrets.token_urlsafe(32)`` (256 random bits); only its SHA-256 hash is
stored. Tokens issued by one login form a *family*; each refresh rotates the presented token
(marks it used) and issues the next one of the family (RFC 9700 §4.14.2).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime


def new_refresh_token() -> str:
    """A fresh opaque refresh token (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """The stored form of ``token``: its SHA-256 digest as lower-case hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class RefreshTokenRecord:
    """One stored refresh token; ``rotated_at`` set once used, ``revoked_at`` once revoked."""

    token_hash: str
    family_id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None
