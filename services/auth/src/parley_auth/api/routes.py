"""``/api/auth`` routes: thin adapters from HTTP to :class:`parley_auth.domain.accounts.Accounts`.

Errors: ``{"detail": {"code", "message"}}``; 401 answers carry ``WWW-Authenticate: Bearer``.

The refresh token. Login and refresh set it in the ``parley_refresh`` cookie (HttpOnly, Secure,
SameSite=Strict, Path=/api/auth, for the refresh token's lifetime); refresh and logout read it
from there when the body has none, and logout (or a refused refresh) clears it. The JSON body
carries it too, but only when the request has no ``Origin`` header: every browser sends one
with a POST and no script can remove it, so in a browser the token never reaches JavaScript
(an XSS cannot carry it away), while non-browser clients (the probe, bench, tests, services)
keep using the body.
"""

from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, HTTPException, Request, Response, status

from parley_auth.api.schemas import (
    JwksOut,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserOut,
)
from parley_auth.domain.accounts import Accounts
from parley_auth.domain.errors import ActiveSession, EmailTaken, InvalidCredentials, InvalidRefreshToken
from parley_auth.domain.keys import KeySet
from parley_auth.domain.models import SignIn
from parley_auth.domain.rules import PASSWORD_ERRORS
from parley_auth.metrics import AuthMetrics
from parley_auth.throttle import Throttle, Throttled
from parley_observability import BEARER_401, BODY_400, ValidationErrorResponse, error_responses
from parley_observability.store import STORE_503
from parley_security import CurrentPrincipal, Principal, bearer_credentials, verified_principal

#: Routes that read or write the database answer 503 while it cannot be reached (declared for all).
router = APIRouter(prefix="/api/auth", tags=["auth"], responses=error_responses({503: STORE_503}))


def _accounts(request: Request) -> Accounts:
    return request.app.state.accounts


def _metrics(request: Request) -> AuthMetrics:
    return request.app.state.auth_metrics


def _keys(request: Request) -> KeySet:
    return request.app.state.keys


def _throttle(request: Request) -> Throttle:
    return request.app.state.throttle


def _client_address(request: Request) -> str:
    # uvicorn sets it from X-Forwarded-For only for the proxies of --forwarded-allow-ips.
    return request.client.host if request.client else "unknown"


AccountsDep = Annotated[Accounts, Depends(_accounts)]
ThrottleDep = Annotated[Throttle, Depends(_throttle)]
ClientAddress = Annotated[str, Depends(_client_address)]
MetricsDep = Annotated[AuthMetrics, Depends(_metrics)]
KeysDep = Annotated[KeySet, Depends(_keys)]


def _error(status_code: int, code: str, message: str) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if status_code == status.HTTP_401_UNAUTHORIZED else None
    return HTTPException(status_code, detail={"code": code, "message": message}, headers=headers)


def _too_many(exc: Throttled) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail={"code": "too_many_attempts", "message": f"too many attempts; try again in {exc.retry_after} seconds"},
        headers={"Retry-After": str(exc.retry_after)},
    )


#: The cookie that carries the refresh token for browsers, and the only path it is sent to.
REFRESH_COOKIE = "parley_refresh"
REFRESH_COOKIE_PATH = "/api/auth"

RefreshCookie = Annotated[
    str | None,
    Cookie(
        alias=REFRESH_COOKIE,
        description="the refresh token, as login and refresh set it for browsers (used when the body has none)",
    ),
]


def _pair(sign_in: SignIn, request: Request, response: Response) -> TokenPair:
    """The token pair; the refresh token goes into the cookie, and into the body only for a
    request without ``Origin`` (not a browser's)."""
    response.set_cookie(
        REFRESH_COOKIE,
        sign_in.refresh_token,
        max_age=request.app.state.settings.refresh_token_ttl_seconds,
        path=REFRESH_COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return TokenPair(
        access_token=sign_in.access_token,
        expires_in=sign_in.expires_in,
        refresh_token=None if "origin" in request.headers else sign_in.refresh_token,
        user=UserOut.of(sign_in.user),
    )


def _clear_refresh_cookie(response: Response) -> None:
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, secure=True, httponly=True, samesite="strict")


def _no_store(response: Response) -> None:
    # RFC 6749 §5.1: token responses must not be cached.
    response.headers["Cache-Control"] = "no-store"


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_description="the account, created",
    responses={
        **error_responses(
            {
                400: BODY_400,
                409: "`email_taken`: an account with this email (in lower case) exists",
                429: "`too_many_attempts`: too many registrations from this client address; try again after `Retry-After` seconds",
            }
        ),
        422: {
            "model": ValidationErrorResponse,
            "description": (
                "validation failed (FastAPI's `detail` list); a refused password is an entry of "
                "`type` `password_too_short`, `password_too_long`, `password_too_common`, "
                "`password_repetitive` or `password_matches_account`, with its reason in `msg`"
            ),
            "content": {
                "application/json": {
                    "example": {
                        "detail": [
                            {
                                "loc": ["body", "password"],
                                "msg": PASSWORD_ERRORS["password_too_common"],
                                "type": "password_too_common",
                            }
                        ]
                    }
                }
            },
        },
    },
)
async def register(
    body: RegisterRequest, accounts: AccountsDep, metrics: MetricsDep, throttle: ThrottleDep, address: ClientAddress
) -> UserOut:
    """Create an account; 409 ``email_taken`` when the (lower-cased) email has one; 422 for a
    refused password (too short or long, common, repetitive, or the account's own name)."""
    try:
        await throttle.register_attempt(address)
    except Throttled as exc:
        raise _too_many(exc) from exc
    try:
        user = await accounts.register(body.email, body.display_name, body.password)
    except EmailTaken as exc:
        metrics.registrations.labels("email_taken").inc()
        raise _error(status.HTTP_409_CONFLICT, "email_taken", "an account with this email exists") from exc
    metrics.registrations.labels("created").inc()
    return UserOut.of(user)


@router.post(
    "/login",
    response_model_exclude_none=True,
    response_description="a token pair (`Cache-Control: no-store`)",
    responses=error_responses(
        {
            400: BODY_400,
            401: "`invalid_credentials`: wrong email or password",
            409: "`active_session` (`PARLEY_SESSION_POLICY=single`): the user has another live session "
            "(a signaling socket renewed its lease less than `PARLEY_SESSION_LEASE_SECONDS` ago); sign in "
            "again with `takeover: true` to end it",
            429: "`too_many_attempts`: too many attempts for this account or from this client address "
            "(the password is not checked); try again after `Retry-After` seconds",
        }
    ),
)
async def login(
    body: LoginRequest,
    accounts: AccountsDep,
    metrics: MetricsDep,
    throttle: ThrottleDep,
    address: ClientAddress,
    request: Request,
    response: Response,
) -> TokenPair:
    """Sign in: a token pair whose tokens name the new session (``sid``).

    ``PARLEY_SESSION_POLICY=single``: the user's other session ends; while it is live, only
    with ``takeover: true`` (409 ``active_session`` without). ``multiple``: sessions coexist.

    Throttled per client address, per account and address, and per account (429 with
    ``Retry-After``); the password is not checked then."""
    try:
        await throttle.login_attempt(body.email, address)
    except Throttled as exc:
        raise _too_many(exc) from exc
    try:
        sign_in = await accounts.login(body.email, body.password, takeover=body.takeover)
    except InvalidCredentials as exc:
        metrics.logins.labels("invalid_credentials").inc()
        raise _error(status.HTTP_401_UNAUTHORIZED, "invalid_credentials", "wrong email or password") from exc
    except ActiveSession as exc:
        metrics.logins.labels("active_session").inc()
        raise _error(
            status.HTTP_409_CONFLICT,
            "active_session",
            "you already have an active session; sign in with takeover to end it and use this one",
        ) from exc
    await throttle.login_succeeded(body.email, address)
    metrics.logins.labels("success").inc()
    _no_store(response)
    return _pair(sign_in, request, response)


@router.post(
    "/refresh",
    response_model_exclude_none=True,
    response_description="a new token pair; the refresh token sent is spent",
    responses=error_responses(
        {
            400: BODY_400,
            401: "`invalid_refresh_token`: missing, unknown, expired, revoked or already rotated (a reused "
            "token also revokes its whole family); sign in again",
            429: "`too_many_attempts`: too many refreshes from this client address; try again after "
            "`Retry-After` seconds",
        }
    ),
)
async def refresh(
    accounts: AccountsDep,
    metrics: MetricsDep,
    throttle: ThrottleDep,
    address: ClientAddress,
    request: Request,
    response: Response,
    cookie: RefreshCookie = None,
    body: RefreshRequest | None = None,
) -> TokenPair:
    """Rotate the refresh token (from the body, else the ``parley_refresh`` cookie): a new
    pair. A reused (already rotated) token revokes its family. A refused token's cookie is
    cleared."""
    try:
        await throttle.refresh_attempt(address)
    except Throttled as exc:
        raise _too_many(exc) from exc
    token = (body.refresh_token if body else None) or cookie
    try:
        if not token:
            raise InvalidRefreshToken("unknown")
        sign_in = await accounts.refresh(token)
    except InvalidRefreshToken as exc:
        metrics.refreshes.labels(exc.reason).inc()
        error = _error(
            status.HTTP_401_UNAUTHORIZED, "invalid_refresh_token", f"refresh token {exc.reason}; log in again"
        )
        _clear_refresh_cookie(response)
        error.headers = {**(error.headers or {}), "set-cookie": response.headers["set-cookie"]}
        raise error from exc
    metrics.refreshes.labels("rotated").inc()
    _no_store(response)
    return _pair(sign_in, request, response)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    response_description="signed out (also when the token was unknown or absent)",
    responses=error_responses({400: BODY_400}),
)
async def logout(
    accounts: AccountsDep,
    metrics: MetricsDep,
    request: Request,
    response: Response,
    cookie: RefreshCookie = None,
    body: RefreshRequest | None = None,
) -> None:
    """Revoke the session (refresh-token family) of the refresh token (from the body, else the
    cookie), or without one, the session of the ``Authorization: Bearer`` access token; clear
    the cookie. 204 even when every token is unknown, invalid or absent."""
    token = (body.refresh_token if body else None) or cookie
    if token:
        await accounts.logout(token)
    elif (principal := await _bearer_principal(request)) is not None and principal.session_id is not None:
        await accounts.end_session(principal.user_id, principal.session_id)
    _clear_refresh_cookie(response)
    metrics.logouts.inc()


async def _bearer_principal(request: Request) -> Principal | None:
    """The user of the request's valid bearer token, if it has one (a guest has no session)."""
    try:
        principal = await verified_principal(request, bearer_credentials(request))
    except HTTPException:
        return None
    return None if principal.is_guest else principal


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
async def jwks(keys: KeysDep, response: Response) -> JwksOut:
    """The published keys as a JWK Set (RFC 7517), cacheable for 5 minutes: the signing key
    first, then, during a key rotation, the next key (before it signs) and the previous one
    (until the tokens it signed expired)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return JwksOut.model_validate(keys.jwks())
