"""FastAPI dependencies: the signed-in principal from ``Authorization: Bearer <token>``.

The app stores its :class:`JwksVerifier` as ``app.state.verifier`` in ``create_app``, and,
when it follows auth's ``session.revoked`` events, its
:class:`~parley_security.revocations.RevokedSessions` as ``app.state.revoked_sessions``:
a token of a revoked session is then refused like an invalid one.

Guests (docs/http-api.md, "Guests"). A guest token (``POST /api/auth/guests``) admits its
holder to one meeting. This module is the one place that decides where a guest may go:

- :data:`CurrentPrincipal` refuses guests. Every route that names it is closed to them, so a
  new route admits no guest unless its author chose to.
- :data:`MeetingPrincipal` opts a route of one meeting in: a user, or a guest of the meeting
  named by the route's ``{meeting_id}`` path parameter (a route without one admits no guest).
- :data:`PrincipalOrGuest` admits any guest: only for what a guest needs wherever it is
  (TURN credentials).

Errors: 401 ``{"detail": {"code": "unauthorized", "message"}}`` with
``WWW-Authenticate: Bearer`` (RFC 6750 §3) for a missing or invalid token; 403
``guest_not_allowed`` for a guest where guests may not go.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parley_security.jwt import InvalidToken, Principal
from parley_security.revocations import refuse_revoked

_bearer = HTTPBearer(auto_error=False)

#: The ``code`` of the 403 a guest gets outside its meeting.
GUEST_NOT_ALLOWED = "guest_not_allowed"
#: For a route's ``responses`` (parley_observability.error_responses).
GUEST_403 = f"`{GUEST_NOT_ALLOWED}`: a guest token may not use this (guests may only join their meeting and use its chat)"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail={"code": "unauthorized", "message": detail},
        headers={"WWW-Authenticate": "Bearer"},
    )


def guest_refused(message: str = "a guest may only join its meeting and use its chat") -> HTTPException:
    """The 403 ``guest_not_allowed`` answer."""
    return HTTPException(status.HTTP_403_FORBIDDEN, detail={"code": GUEST_NOT_ALLOWED, "message": message})


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The raw bearer token; 401 when the header is missing.

    ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    thread pool, a hop per request that costs more than the check."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing bearer token")
    return credentials.credentials


async def principal_or_guest(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified principal, a guest included; 401 when the token is missing (as
    :func:`bearer_token`) or invalid. Reads the header itself rather than through
    :func:`bearer_token`: each level of dependencies costs FastAPI a resolution pass on every
    request."""
    token = await bearer_token(credentials)
    verifier = request.app.state.verifier
    try:
        principal = await verifier.verify(token)
        revoked = getattr(request.app.state, "revoked_sessions", None)
        if revoked is not None:
            try:
                refuse_revoked(principal, revoked)
            except InvalidToken:
                if hasattr(verifier, "count_refusal"):
                    verifier.count_refusal("revoked")
                raise
        return principal
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from exc


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified principal of a user's token; 401 as :func:`principal_or_guest`, 403
    ``guest_not_allowed`` for a guest token."""
    principal = await principal_or_guest(request, credentials)
    if principal.is_guest:
        raise guest_refused()
    return principal


def admit_to_meeting(principal: Principal, meeting_id: str | None) -> Principal:
    """``principal`` when it may use meeting ``meeting_id``: any user, or a guest of that very
    meeting; 403 ``guest_not_allowed`` for any other guest (and for every guest where no
    meeting is named)."""
    if principal.is_guest and (meeting_id is None or principal.guest_meeting_id != meeting_id):
        raise guest_refused("a guest token is valid only for the meeting it was issued for")
    return principal


async def meeting_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified principal of a route of one meeting (its ``{meeting_id}`` path
    parameter): a user, or a guest of that meeting (:func:`admit_to_meeting`)."""
    principal = await principal_or_guest(request, credentials)
    return admit_to_meeting(principal, request.path_params.get("meeting_id"))


#: A user (never a guest): the default of every route.
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
#: A user, or a guest of the route's ``{meeting_id}``.
MeetingPrincipal = Annotated[Principal, Depends(meeting_principal)]
#: A user or any guest (what a guest needs wherever it is: TURN credentials).
PrincipalOrGuest = Annotated[Principal, Depends(principal_or_guest)]
