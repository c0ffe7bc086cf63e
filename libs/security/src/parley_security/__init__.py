"""Access-token verification (JWKS of auth), the meeting membership check, and the shared
meeting id type every service's edge validates with."""

from parley_security.dependencies import CurrentPrincipal, bearer_token, current_principal
from parley_security.ids import MEETING_ID_MAX_LENGTH, MEETING_ID_PATTERN, MeetingId
from parley_security.jwt import (
    InvalidToken,
    JwksVerifier,
    Principal,
    decode_access_token,
    token_kid,
)
from parley_security.text import NO_NUL_PATTERN, NOT_BLANK_PATTERN, WHITE_SPACE, DisplayName, no_nul, not_blank, trimmed
from parley_security.revocations import RevocationFeed, RevokedSessions, refuse_revoked
from parley_security.membership import (
    MeetingsClient,
    Membership,
    MembershipDenied,
    MembershipUnavailable,
)

__all__ = [
    "MEETING_ID_MAX_LENGTH",
    "MEETING_ID_PATTERN",
    "MeetingId",
    "NOT_BLANK_PATTERN",
    "DisplayName",
    "NO_NUL_PATTERN",
    "WHITE_SPACE",
    "CurrentPrincipal",
    "InvalidToken",
    "JwksVerifier",
    "MeetingsClient",
    "Membership",
    "MembershipDenied",
    "MembershipUnavailable",
    "Principal",
    "RevocationFeed",
    "RevokedSessions",
    "bearer_token",
    "current_principal",
    "decode_access_token",
    "no_nul",
    "not_blank",
    "refuse_revoked",
    "token_kid",
    "trimmed",
]
