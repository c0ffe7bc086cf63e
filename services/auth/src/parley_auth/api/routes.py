"""``/api/auth`` routes: thin adapters from HTTP to :class:`parley_auth.domain.accounts.Accounts`.

Errors: ``{"detail": {"code", "message"}}``; 401 answers carry ``WWW-Authenticate: Bearer``.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from parley_auth.api.schemas import (
    JwksOut,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserOut,
)
from parley_auth.domain.accounts import Accounts
from parley_auth.domain.errors import EmailTaken, InvalidCredentials, InvalidRefreshToken
from parley_auth.domain.keys import SigningKey
from parley_auth.domain.models import SignIn
from parley_auth.metrics import AuthMetrics
from parley_observability import BEARER_401, BODY_400, error_responses
from parley_security import CurrentPrincipal

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _accounts(request: Request) -> Accounts:
    return request.app.state.accounts


def _metrics(request: Request) -> AuthMetrics:
    return request.app.state.auth_metrics


def _signing_key(request: Request) -> SigningKey:
    return request.app.state.signing_key


AccountsDep = Annotated[Accounts, Depends(_accounts)]
MetricsDep = Annotated[AuthMetrics, Depends(_metrics)]
SigningKeyDep = Annotated[SigningKey, Depends(_signing_key)]


def _error(status_code: int, code: str, message: str) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if status_code == status.HTTP_401_UNAUTHORIZED else None
    return HTTPException(status_code, detail={"code": code, "message": message}, headers=headers)


def _pair(sign_in: SignIn) -> TokenPair:
    return TokenPair(
        access_token=sign_in.access_token,
        expires_in=sign_in.expires_in,
        refresh_token=sign_in.refresh_token,
        user=UserOut.of(sign_in.user),
    )


def _no_store(response: Response) -> None:
    # RFC 6749 §5.1: token responses must not be cached.
    response.headers["Cache-Control"] = "no-store"


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_description="the account, created",
    responses=error_responses({400: BODY_400, 409: "`email_taken`: an account with this email (in lower case) exists"}),
)
async def register(body: RegisterRequest, accounts: AccountsDep, metrics: MetricsDep) -> UserOut:
    """Create an account; 409 ``email_taken`` when the (lower-cased) email has one."""
    try:
        user = await accounts.register(body.email, body.display_name, body.password)
    except EmailTaken as exc:
        metrics.registrations.labels("email_taken").inc()
        raise _error(status.HTTP_409_CONFLICT, "email_taken", "an account with this email exists") from exc
    metrics.registrations.labels("created").inc()
    return UserOut.of(user)


@router.post(
    "/login",
    response_description="a token pair (`Cache-Control: no-store`)",
    responses=error_responses({400: BODY_400, 401: "`invalid_credentials`: wrong email or password"}),
)
async def login(body: LoginRequest, accounts: AccountsDep, metrics: MetricsDep, response: Response) -> TokenPair:
    """Sign in: a token pair. Ends the user's other session, if any (one session per user)."""
    try:
        sign_in = await accounts.login(body.email, body.password)
    except InvalidCredentials as exc:
        metrics.logins.labels("invalid_credentials").inc()
        raise _error(status.HTTP_401_UNAUTHORIZED, "invalid_credentials", "wrong email or password") from exc
    metrics.logins.labels("success").inc()
    _no_store(response)
    return _pair(sign_in)


@router.post(
    "/refresh",
    response_description="a new token pair; the refresh token sent is spent",
    responses=error_responses(
        {
            400: BODY_400,
            401: "`invalid_refresh_token`: unknown, expired, revoked or already rotated (a reused token "
            "also revokes its whole family); sign in again",
        }
    ),
)
async def refresh(body: RefreshRequest, accounts: AccountsDep, metrics: MetricsDep, response: Response) -> TokenPair:
    """Rotate the refresh token: a new pair. A reused (already rotated) token revokes its family."""
    try:
        sign_in = await accounts.refresh(body.refresh_token)
    except InvalidRefreshToken as exc:
        metrics.refreshes.labels(exc.reason).inc()
        raise _error(
            status.HTTP_401_UNAUTHORIZED, "invalid_refresh_token", f"refresh token {exc.reason}; log in again"
        ) from exc
    metrics.refreshes.labels("rotated").inc()
    _no_store(response)
    return _pair(sign_in)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_description="signed out (also when the token was unknown)",
    responses=error_responses({400: BODY_400}),
)
async def logout(body: RefreshRequest, accounts: AccountsDep, metrics: MetricsDep) -> None:
    """Revoke the session (refresh-token family) of ``refresh_token``; 204 even when unknown."""
    await accounts.logout(body.refresh_token)
    metrics.logouts.inc()


@router.get(
    "/me",
    response_description="the signed-in user",
    responses=error_responses({401: BEARER_401 + "; `invalid_token`: the token's user does not exist"}),
)
async def me(principal: CurrentPrincipal, accounts: AccountsDep) -> UserOut:
    """The signed-in user."""
    user = await accounts.profile(principal.user_id)
    if user is None:
        raise _error(status.HTTP_401_UNAUTHORIZED, "invalid_token", "the token's user does not exist")
    return UserOut.of(user)


@router.get("/.well-known/jwks.json", response_description="the public signing keys (RFC 7517 JWK Set)")
async def jwks(key: SigningKeyDep, response: Response) -> JwksOut:
    """The public signing keys as a JWK Set (RFC 7517); cacheable for 5 minutes."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return JwksOut.model_validate(key.jwks())
