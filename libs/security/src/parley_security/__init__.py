"""Access-token verification (JWKS of auth), the meeting membership check, and the shared
meeting id type every service's edge validates with."""

from parley_security.dependencies import (
    GUEST_403,
    GUEST_NOT_ALLOWED,
    CurrentPrincipal,
    MeetingPrincipal,
    PrincipalOrGuest,
    admit_to_meeting,
    BearerPrincipal,
    bearer_credentials,
    current_principal,
    guest_refused,
    meeting_principal,
    principal_or_guest,
    verified_principal,
)
from parley_security.ids import MEETING_ID_MAX_LENGTH, MEETING_ID_PATTERN, MeetingId
from parley_security.jwt import (
    GUEST_PREFIX,
    InvalidToken,
    JwksVerifier,
    Principal,
    decode_access_token,
    is_guest_id,
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
    "GUEST_403",
    "GUEST_NOT_ALLOWED",
    "GUEST_PREFIX",
    "MeetingPrincipal",
    "PrincipalOrGuest",
    "admit_to_meeting",
    "guest_refused",
    "is_guest_id",
    "meeting_principal",
    "principal_or_guest",
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
    "BearerPrincipal",
    "bearer_credentials",
    "verified_principal",
    "current_principal",
    "decode_access_token",
    "no_nul",
    "not_blank",
    "refuse_revoked",
    "token_kid",
    "trimmed",
]
