"""Access-token verification (JWKS of auth) and the meeting membership check."""

from parley_security.dependencies import CurrentPrincipal, bearer_token, current_principal
from parley_security.jwt import (
    InvalidToken,
    JwksVerifier,
    Principal,
    decode_access_token,
    token_kid,
)
from parley_security.membership import (
    MeetingsClient,
    Membership,
    MembershipDenied,
    MembershipUnavailable,
)

__all__ = [
    "CurrentPrincipal",
    "InvalidToken",
    "JwksVerifier",
    "MeetingsClient",
    "Membership",
    "MembershipDenied",
    "MembershipUnavailable",
    "Principal",
    "bearer_token",
    "current_principal",
    "decode_access_token",
    "token_kid",
]
