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

Each of them is one :class:`BearerPrincipal`: a single node of FastAPI's dependency graph that
reads the header itself and is declared in the OpenAPI document as the ``HTTPBearer`` scheme.
FastAPI resolves every node of a route's graph on every request (~10 µs each here, a security
scheme more), so the header is not read through a sub-dependency of its own.

Errors: 401 ``{"detail": {"code": "unauthorized", "message"}}`` with
``WWW-Authenticate: Bearer`` (RFC 6750 §3) for a missing or invalid token; 403
``guest_not_allowed`` for a guest where guests may not go.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param

from parley_observability import error_responses
from parley_security.jwt import InvalidToken, Principal
from parley_security.revocations import refuse_revoked

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


def bearer_credentials(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750 §2.1; the scheme's case does
    not matter), or ``None`` when the header is missing, of another scheme or empty."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    return token if token and scheme.lower() == "bearer" else None


async def verified_principal(request: Request, token: str | None) -> Principal:
    """The principal of ``token`` (a guest's too), verified by ``app.state.verifier`` and not
    of a revoked session; 401 ``unauthorized`` when the token is missing or invalid."""
    if not token:
        raise _unauthorized("missing bearer token")
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


def admit_to_meeting(principal: Principal, meeting_id: str | None) -> Principal:
    """``principal`` when it may use meeting ``meeting_id``: any user, or a guest of that very
    meeting; 403 ``guest_not_allowed`` for any other guest (and for every guest where no
    meeting is named)."""
    if principal.is_guest and (meeting_id is None or principal.guest_meeting_id != meeting_id):
        raise guest_refused("a guest token is valid only for the meeting it was issued for")
    return principal


def admit_user(principal: Principal, request: Request) -> Principal:
    """``principal`` when it is a user; 403 ``guest_not_allowed`` for a guest."""
    if principal.is_guest:
        raise guest_refused()
    return principal


def admit_user_or_meeting_guest(principal: Principal, request: Request) -> Principal:
    """``principal`` when it is a user or a guest of the route's ``{meeting_id}``
    (:func:`admit_to_meeting`)."""
    return admit_to_meeting(principal, request.path_params.get("meeting_id"))


def _anyone(principal: Principal, request: Request) -> Principal:
    return principal


class BearerPrincipal(SecurityBase):
    """A dependency: the verified principal of the request's bearer token
    (:func:`verified_principal`), which ``admit(principal, request)`` returns or refuses with
    an :class:`HTTPException`. In the OpenAPI document it is the ``HTTPBearer`` scheme
    (``type: http, scheme: bearer``)."""

    def __init__(self, admit: Callable[[Principal, Request], Principal]) -> None:
        self.model = HTTPBearerModel()
        self.scheme_name = "HTTPBearer"
        self._admit = admit
        #: whether some guest is refused (403 ``guest_not_allowed``): :func:`declare_guest_refusals`
        self.refuses_guests = admit is not _anyone

    async def __call__(self, request: Request) -> Principal:
        return self._admit(await verified_principal(request, bearer_credentials(request)), request)


#: A user, never a guest (403 ``guest_not_allowed``).
current_principal = BearerPrincipal(admit_user)
#: A user, or a guest of the route's ``{meeting_id}``.
meeting_principal = BearerPrincipal(admit_user_or_meeting_guest)
#: A user or any guest.
principal_or_guest = BearerPrincipal(_anyone)

#: A user (never a guest): the default of every route.
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
#: A user, or a guest of the route's ``{meeting_id}``.
MeetingPrincipal = Annotated[Principal, Depends(meeting_principal)]
#: A user or any guest (what a guest needs wherever it is: TURN credentials).
PrincipalOrGuest = Annotated[Principal, Depends(principal_or_guest)]


def declare_guest_refusals(*routers: APIRouter) -> None:
    """Declare in the OpenAPI document the 403 ``guest_not_allowed`` of every route of
    ``routers`` whose principal may refuse a guest (a dependency with ``refuses_guests``:
    :data:`CurrentPrincipal`, and :data:`MeetingPrincipal`, for a guest of another meeting): a
    dependency cannot add to its route's ``responses`` itself. A route that declares a 403
    already gets :data:`GUEST_403` added to its description. Idempotent; call it in
    ``create_app``."""
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute) or not _refuses_guests(route.dependant):
                continue
            declared = route.responses.get(403) or route.responses.get("403")
            if declared is None:
                route.responses = {**route.responses, **error_responses({403: GUEST_403})}
            elif GUEST_NOT_ALLOWED not in declared.get("description", ""):
                declared["description"] = f"{declared.get('description', '')}; {GUEST_403}".lstrip("; ")


def _refuses_guests(dependant: Dependant) -> bool:
    """Whether a dependency of the route (at any depth) says ``refuses_guests``."""
    return any(getattr(d.call, "refuses_guests", False) or _refuses_guests(d) for d in dependant.dependencies)
