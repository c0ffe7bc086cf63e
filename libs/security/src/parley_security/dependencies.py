"""FastAPI dependencies: the signed-in principal from ``Authorization: Bearer <token>``.

The app stores its :class:`JwksVerifier` as ``app.state.verifier`` in ``create_app``.
Errors: 401 ``{"detail": {"code": "unauthorized", "message"}}`` with
``WWW-Authenticate: Bearer`` (RFC 6750 §3) for a missing or invalid token.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parley_security.jwt import InvalidToken, Principal

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
    try:
        return await request.app.state.verifier.verify(token)
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
