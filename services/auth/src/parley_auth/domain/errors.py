"""Failures of account operations; the API maps each to a status and a machine code."""

from typing import Literal


class EmailTaken(Exception):
    """Registration with an email address that already has an account (409 ``email_taken``)."""


class InvalidCredentials(Exception):
    """Unknown email or wrong password (401 ``invalid_credentials``); never says which."""


class ActiveSession(Exception):
    """``PARLEY_SESSION_POLICY=single``: another session of the user is live (it holds the
    lease) and the sign-in did not ask to take over (409 ``active_session``)."""


RefreshFailure = Literal["unknown", "expired", "revoked", "reused"]


class InvalidRefreshToken(Exception):
    """A refresh token that cannot be used (401 ``invalid_refresh_token``).

    ``reason``: ``unknown`` (never issued), ``expired``, ``revoked`` (its family was signed out
    or superseded by a newer login) or ``reused`` (already rotated: the family is now revoked).
    """

    def __init__(self, reason: RefreshFailure) -> None:
        super().__init__(f"refresh token {reason}")
        self.reason: RefreshFailure = reason
