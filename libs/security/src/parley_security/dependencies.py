"""FastAPI dependencies: the signed-in principal from ``Authorization: Bearer <token>``.

The app stores its :class:`JwksVerifier` as ``app.state.verifier`` in ``create_app``, and,
when it follows auth's ``session.revoked`` events, its
:class:`~parley_security.revocations.RevokedSessions` as ``app.state.revoked_sessions``:
a token of a revoked session is then refused like an invalid one.
Errors: 401 ``{"detail": {"code": "unauthorized", "message"}}`` with
``WWW-Authenticate: Bearer`` (RFC 6750 §3) for a missing or invalid token.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parley_security.jwt import InvalidToken, Principal
from parley_security.revocations import refuse_revoked

_bearer = HTTPBearer(auto_error=False)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail={"code": "unauthorized", "message": detail},
        headers={"WWW-Authenticate": "Bearer"},
    )


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The raw bearer token; 401 when the header is missing.

    ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    thread pool, a hop per request that costs more than the check."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing bearer token")
    return credentials.credentials


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified principal; 401 when the token is missing (as :func:`bearer_token`) or
    invalid. Reads the header itself rather than through :func:`bearer_token`: each level of
    dependencies costs FastAPI a resolution pass on every request."""
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


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
