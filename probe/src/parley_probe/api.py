"""HTTP client of Parley's public API (docs/http-api.md), as one signed-in participant.

Every call goes through the platform's base URL (Traefik); nothing here knows a service port.
Each ``ApiClient`` owns its own ``httpx.AsyncClient`` and therefore its own cookie jar.
"""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Any

import httpx

#: The password of the users :func:`meeting_of_two` registers (tests and checks only).
TEST_PASSWORD = "correct horse battery"


class ApiError(RuntimeError):
    """A call answered with an unexpected status.

    ``status`` is the HTTP status (0 when no answer arrived), ``code`` the machine code from
    ``{"detail": {"code", "message"}}`` when the body has one.
    """

    def __init__(self, what: str, status: int, code: str | None, message: str) -> None:
        self.what, self.status, self.code = what, status, code
        super().__init__(f"{what}: HTTP {status}{f' {code}' if code else ''}: {message}")


def _error_of(what: str, response: httpx.Response) -> ApiError:
    code: str | None = None
    message = response.text[:300]
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, dict):
        code = detail.get("code")
        message = detail.get("message", message)
    elif detail is not None:
        message = str(detail)[:300]
    return ApiError(what, response.status_code, code, message)


class ApiClient:
    """One participant's view of the public HTTP API.

    ``base_url`` is the platform entry point (e.g. ``http://127.0.0.1:18000``); ``timeout_s``
    bounds every request (seconds). After ``login()`` the access token is sent as
    ``Authorization: Bearer``. Every method raises ``ApiError`` on an unexpected status, or
    with status 0 when the platform does not answer.
    """

    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.access_token: str | None = None
        self.user: dict[str, Any] | None = None
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying HTTP client."""
        await self._http.aclose()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}

    async def _call(
        self, what: str, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any
    ) -> Any:
        try:
            response = await self._http.request(method, path, headers=self._headers(), **kwargs)
        except httpx.HTTPError as exc:
            detail = str(exc) or type(exc).__name__
            raise ApiError(
                what, 0, None, f"no answer from {method} {self.base_url}{path}: {detail}"
            ) from exc
        if response.status_code not in expect:
            raise _error_of(what, response)
        return response.json() if response.content else None

    # ---- auth ---------------------------------------------------------------------------

    async def register(self, email: str, display_name: str, password: str) -> dict[str, Any]:
        """``POST /api/auth/register`` → ``{user_id, email, display_name}`` (201)."""
        return await self._call(
            "register",
            "POST",
            "/api/auth/register",
            json={"email": email, "display_name": display_name, "password": password},
            expect=(201,),
        )

    async def login(self, email: str, password: str) -> dict[str, Any]:
        """``POST /api/auth/login`` → token pair; keeps the access token for later calls."""
        pair = await self._call(
            "login", "POST", "/api/auth/login", json={"email": email, "password": password}
        )
        token = pair.get("access_token") if isinstance(pair, dict) else None
        if not token:
            raise ApiError("login", 200, None, "the token pair has no access_token")
        self.access_token = token
        self.user = pair.get("user")
        return pair

    # ---- meetings -----------------------------------------------------------------------

    async def create_meeting(self, title: str) -> dict[str, Any]:
        """``POST /api/meetings`` → meeting ``{meeting_id, title, host_id, status, ...}`` (201)."""
        return await self._call(
            "create_meeting", "POST", "/api/meetings", json={"title": title}, expect=(201,)
        )

    async def get_meeting(self, meeting_id: str) -> dict[str, Any]:
        """``GET /api/meetings/{id}`` → the meeting."""
        return await self._call("get_meeting", "GET", f"/api/meetings/{meeting_id}")

    async def update_meeting(self, meeting_id: str, **changes: Any) -> dict[str, Any]:
        """``PATCH /api/meetings/{id}`` with ``changes`` (e.g. ``empty_timeout_seconds``) →
        the meeting (host only)."""
        return await self._call("update_meeting", "PATCH", f"/api/meetings/{meeting_id}", json=changes)

    async def join_meeting(self, meeting_id: str) -> dict[str, Any]:
        """``POST /api/meetings/{id}/join`` → ``{meeting, role}``."""
        return await self._call("join_meeting", "POST", f"/api/meetings/{meeting_id}/join")

    async def end_meeting(self, meeting_id: str) -> dict[str, Any]:
        """``POST /api/meetings/{id}/end`` → the meeting, status ``ended`` (host only)."""
        return await self._call("end_meeting", "POST", f"/api/meetings/{meeting_id}/end")

    async def roster(self, meeting_id: str) -> dict[str, Any]:
        """``GET /api/meetings/{id}/roster`` → ``{meeting_id, participants: [{sid, user_id, ...}]}``
        (who is in the room now, as meetings' projection of signaling's events has it)."""
        return await self._call("roster", "GET", f"/api/meetings/{meeting_id}/roster")

    # ---- turn-config --------------------------------------------------------------------

    async def turn_credentials(self) -> dict[str, Any]:
        """``GET /api/turn/credentials`` → ``{iceServers: [...], ttl (s), expires_at}``."""
        return await self._call("turn_credentials", "GET", "/api/turn/credentials")

    # ---- chat ---------------------------------------------------------------------------

    async def post_chat(self, meeting_id: str, message_id: str, text: str) -> dict[str, Any]:
        """``POST /api/chat/meetings/{id}/messages`` → the message (201, or 200 on a retry)."""
        return await self._call(
            "post_chat",
            "POST",
            f"/api/chat/meetings/{meeting_id}/messages",
            json={"message_id": message_id, "text": text},
            expect=(200, 201),
        )

    async def chat_history(self, meeting_id: str, *, limit: int = 50) -> dict[str, Any]:
        """``GET /api/chat/meetings/{id}/messages?limit=`` → ``{messages, next_cursor}``."""
        return await self._call(
            "chat_history",
            "GET",
            f"/api/chat/meetings/{meeting_id}/messages",
            params={"limit": limit},
        )


async def meeting_of_two(base_url: str, label: str) -> tuple[ApiClient, ApiClient, str]:
    """Two new users signed in (``<label>-host-<run>@e2e.parley.example.com`` and the guest's),
    a meeting the host created and the guest joined: ``(host, guest, meeting_id)``. The caller
    closes both clients (also when this raises: then both are closed here)."""
    run = uuid.uuid4().hex[:10]
    host, guest = ApiClient(base_url), ApiClient(base_url)
    try:
        for role, api in (("host", host), ("guest", guest)):
            email = f"{label}-{role}-{run}@e2e.parley.example.com"
            await api.register(email, f"{label.capitalize()} {role}", TEST_PASSWORD)
            await api.login(email, TEST_PASSWORD)
        meeting_id = str((await host.create_meeting(f"{label} {run}"))["meeting_id"])
        await guest.join_meeting(meeting_id)
    except BaseException:
        await host.aclose()
        await guest.aclose()
        raise
    return host, guest, meeting_id
