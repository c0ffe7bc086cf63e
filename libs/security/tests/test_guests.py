"""Guest tokens: their claims, and the one guard that keeps guests to their meeting."""

import httpx
import pytest
from fastapi import FastAPI

from parley_observability import install_api_error_handler
from parley_security import CurrentPrincipal, InvalidToken, MeetingPrincipal, PrincipalOrGuest
from parley_testing import TokenIssuer


def _app(issuer: TokenIssuer) -> FastAPI:
    app = FastAPI()
    app.state.verifier = issuer.verifier()
    install_api_error_handler(app)

    @app.get("/users-only")
    async def users_only(principal: CurrentPrincipal) -> dict[str, str]:
        return {"user_id": principal.user_id}

    @app.get("/meetings/{meeting_id}/chat")
    async def meeting_route(meeting_id: str, principal: MeetingPrincipal) -> dict[str, str]:
        return {"user_id": principal.user_id}

    @app.get("/no-meeting-here")
    async def meeting_route_without_id(principal: MeetingPrincipal) -> dict[str, str]:
        return {"user_id": principal.user_id}

    @app.get("/turn")
    async def anyone(principal: PrincipalOrGuest) -> dict[str, str]:
        return {"user_id": principal.user_id}

    return app


async def _get(issuer: TokenIssuer, path: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(_app(issuer)), base_url="http://t") as client:
        return await client.get(path, headers={"Authorization": f"Bearer {token}"})


async def test_a_guest_token_names_its_guest_and_meeting() -> None:
    issuer = TokenIssuer()
    principal = await issuer.verifier().verify(issuer.issue_guest("abcd-efgh-ijkl", "Grace", guest_id="guest-g1"))
    assert principal.is_guest
    assert (principal.user_id, principal.display_name, principal.guest_meeting_id) == ("guest-g1", "Grace", "abcd-efgh-ijkl")
    assert principal.session_id is None


async def test_a_user_token_is_no_guest() -> None:
    issuer = TokenIssuer()
    principal = await issuer.verifier().verify(issuer.issue("u-1", "Ada"))
    assert not principal.is_guest and principal.guest_meeting_id is None


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "guest-g1"},  # a guest subject without the role
        {"sub": "u-1", "role": "guest", "meeting_id": "m-1"},  # the role on a user's subject
        {"sub": "guest-g1", "role": "guest"},  # no meeting
        {"sub": "guest-g1", "role": "guest", "meeting_id": ""},
        {"sub": "guest-g1", "role": "guest", "meeting_id": ["m-1", "m-2"]},
    ],
)
async def test_half_guest_tokens_are_refused(claims: dict) -> None:
    issuer = TokenIssuer()
    sub = claims.pop("sub")
    with pytest.raises(InvalidToken):
        await issuer.verifier().verify(issuer.issue(sub, "X", **claims))


async def test_routes_refuse_guests_unless_they_opt_in() -> None:
    issuer = TokenIssuer()
    guest = issuer.issue_guest("m-1")
    refused = await _get(issuer, "/users-only", guest)
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "guest_not_allowed"
    assert (await _get(issuer, "/meetings/m-1/chat", guest)).status_code == 200
    assert (await _get(issuer, "/turn", guest)).status_code == 200


async def test_a_guest_is_refused_in_another_meeting_and_where_no_meeting_is_named() -> None:
    issuer = TokenIssuer()
    guest = issuer.issue_guest("m-1")
    for path in ("/meetings/m-2/chat", "/no-meeting-here"):
        answer = await _get(issuer, path, guest)
        assert answer.status_code == 403, path
        assert answer.json()["detail"]["code"] == "guest_not_allowed"


async def test_users_pass_every_guard() -> None:
    issuer = TokenIssuer()
    user = issuer.issue("u-1")
    for path in ("/users-only", "/meetings/m-2/chat", "/no-meeting-here", "/turn"):
        assert (await _get(issuer, path, user)).status_code == 200, path
