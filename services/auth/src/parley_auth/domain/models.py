"""What auth stores about a user, and what a sign-in returns."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class User:
    """A registered user. ``session_family`` is the refresh-token family of the one active
    session (None when signed out everywhere)."""

    user_id: str
    email: str
    display_name: str
    password_hash: str
    created_at: datetime
    session_family: str | None = None
    #: Until when the active session's lease runs (renewed by signaling's ``session.active``
    #: heartbeats while it has a live socket); None while it never had one.
    session_lease_until: datetime | None = None


@dataclass(frozen=True)
class SignIn:
    """The outcome of a login or refresh: an access token and the next refresh token."""

    access_token: str
    expires_in: int
    refresh_token: str
    user: User
