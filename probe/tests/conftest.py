"""Fixtures for the probe's own tests: a private coturn and an in-process fake platform.

``turn_server`` runs the Debian package's ``turnserver`` (what deploy/local installs) on free
loopback ports with TURN REST API credentials; it allows loopback peers, a TEST-ONLY setting.
``fake_platform`` serves the public contracts (docs/http-api.md, docs/signaling.md) from one
aiohttp + python-socketio process, in memory, handing out replica ids "fake-a"/"fake-b" in
turn to new sockets, so the whole scenario can run without the real services.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import socketio
from aiohttp import web

from parley_testing.coturn import rest_credentials, turnserver


@dataclass(frozen=True)
class TurnServer:
    """A running coturn: ``url`` (``turn:127.0.0.1:<port>``) and its REST API ``secret``."""

    host: str
    port: int
    secret: str

    def credentials(self, user_id: str, ttl_s: int = 600) -> dict[str, Any]:
        """The ``/api/turn/credentials`` answer for ``user_id`` (draft-uberti-behave-turn-rest-00)."""
        username, password = rest_credentials(self.secret, user_id, ttl_s)
        expiry = int(username.split(":", 1)[0])
        return {
            "iceServers": [
                {"urls": [f"stun:{self.host}:{self.port}"]},
                {
                    "urls": [
                        f"turn:{self.host}:{self.port}?transport=tcp",
                        f"turn:{self.host}:{self.port}?transport=udp",
                    ],
                    "username": username,
                    "credential": password,
                },
            ],
            "ttl": ttl_s,
            "expires_at": datetime.fromtimestamp(expiry, UTC).isoformat(),
        }


@pytest.fixture(scope="session")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    secret = secrets.token_hex(16)
    options = [
        "-n", "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=parley.local",
        "--fingerprint", "--no-cli", "--no-tls", "--no-dtls",
        "--allow-loopback-peers",  # TEST ONLY: production coturn denies loopback relaying
    ]  # fmt: skip
    with turnserver(options, tmp_path_factory.mktemp("probe-turn")) as port:
        yield TurnServer("127.0.0.1", port, secret)


# --------------------------------------------------------------------------------------------
# The fake platform


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"detail": {"code": code, "message": message}}, status=status)


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class FakePlatform:
    """In-memory stand-in of the public API and signaling; ``base_url`` once started."""

    turn: TurnServer
    base_url: str = ""
    replicas: list[str] = field(default_factory=lambda: ["fake-a", "fake-b"])
    chat_delay_s: float = 0.01
    turn_failure: tuple[int, str] | None = None  # (status, code) to answer credentials with
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # email -> user + password
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> user
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)  # meeting -> user ids
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sockets: dict[str, dict[str, Any]] = field(default_factory=dict)  # sid -> {user, room}
    connections: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=[])
        self.sio.attach(app, socketio_path="socket.io")
        r = app.router
        r.add_post("/api/auth/register", self.register)
        r.add_post("/api/auth/login", self.login)
        r.add_post("/api/meetings", self.create_meeting)
        r.add_post("/api/meetings/{id}/join", self.join_meeting)
        r.add_post("/api/meetings/{id}/end", self.end_meeting)
        r.add_get("/api/turn/credentials", self.turn_credentials)
        r.add_post("/api/chat/meetings/{id}/messages", self.post_message)
        r.add_get("/api/chat/meetings/{id}/messages", self.history)
        for event in ("join", "offer", "answer", "ice-candidate"):
            self.sio.on(event, self._handler(event))
        self.sio.on("connect", self.on_connect)
        self.sio.on("disconnect", self.on_disconnect)
        return app

    # ---- HTTP ---------------------------------------------------------------------------

    def _user(self, request: web.Request) -> dict[str, Any] | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return self.tokens.get(token)

    async def register(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body["email"] in self.users:
            return _error(409, "email_taken", "taken")
        user = {
            "user_id": uuid.uuid4().hex,
            "email": body["email"],
            "display_name": body["display_name"],
        }
        self.users[body["email"]] = {**user, "password": body["password"]}
        return web.json_response(user, status=201)

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        stored = self.users.get(body["email"])
        if stored is None or stored["password"] != body["password"]:
            return _error(401, "invalid_credentials", "no")
        user = {k: stored[k] for k in ("user_id", "email", "display_name")}
        token = secrets.token_hex(16)
        self.tokens[token] = user
        return web.json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 900,
                "refresh_token": secrets.token_hex(16),
                "user": user,
            }
        )

    async def create_meeting(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if user is None:
            return _error(401, "unauthorized", "no token")
        body = await request.json()
        meeting_id = uuid.uuid4().hex
        meeting = {
            "meeting_id": meeting_id,
            "title": body["title"],
            "host_id": user["user_id"],
            "scheduled_start": None,
            "status": "active",
            "created_at": _now(),
            "ended_at": None,
            "invite_url": f"{self.base_url}/m/{meeting_id}",
        }
        self.meetings[meeting_id] = meeting
        self.members[meeting_id] = {user["user_id"]}
        return web.json_response(meeting, status=201)

    async def join_meeting(self, request: web.Request) -> web.Response:
        user = self._user(request)
        meeting = self.meetings.get(request.match_info["id"])
        if user is None:
            return _error(401, "unauthorized", "no token")
        if meeting is None:
            return _error(404, "meeting_not_found", "no meeting")
        if meeting["status"] == "ended":
            return _error(410, "meeting_ended", "ended")
        self.members[meeting["meeting_id"]].add(user["user_id"])
        role = "host" if meeting["host_id"] == user["user_id"] else "participant"
        return web.json_response({"meeting": meeting, "role": role})

    async def end_meeting(self, request: web.Request) -> web.Response:
        user = self._user(request)
        meeting = self.meetings.get(request.match_info["id"])
        if user is None or meeting is None:
            return _error(404, "meeting_not_found", "no meeting")
        if meeting["host_id"] != user["user_id"]:
            return _error(403, "not_host", "not host")
        if meeting["status"] != "ended":
            meeting.update(status="ended", ended_at=_now())
            room = meeting["meeting_id"]
            await self.sio.emit(
                "meeting-ended",
                {"meeting_id": room, "ended_by": user["user_id"], "ended_at": meeting["ended_at"]},
                room=room,
            )
            for sid, state in self.sockets.items():
                if state["room"] == room:
                    await self.sio.leave_room(sid, room)
                    state["room"] = None
        return web.json_response(meeting)

    async def turn_credentials(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if user is None:
            return _error(401, "unauthorized", "no token")
        if self.turn_failure is not None:
            return _error(*self.turn_failure, "TURN credentials refused (fake)")
        return web.json_response(self.turn.credentials(user["user_id"]))

    async def post_message(self, request: web.Request) -> web.Response:
        user = self._user(request)
        meeting_id = request.match_info["id"]
        if user is None or meeting_id not in self.meetings:
            return _error(404, "meeting_not_found", "no meeting")
        body = await request.json()
        message = {
            "message_id": body["message_id"],
            "meeting_id": meeting_id,
            "sender_id": user["user_id"],
            "sender_name": user["display_name"],
            "text": body["text"],
            "posted_at": _now(),
        }
        self.messages.setdefault(meeting_id, []).insert(0, message)

        async def fan_out() -> None:  # like the Kafka hop: after the answer
            await asyncio.sleep(self.chat_delay_s)
            await self.sio.emit("chat-message", message, room=meeting_id)

        asyncio.get_running_loop().create_task(fan_out())
        return web.json_response(message, status=201)

    async def history(self, request: web.Request) -> web.Response:
        meeting_id = request.match_info["id"]
        if self._user(request) is None or meeting_id not in self.meetings:
            return _error(404, "meeting_not_found", "no meeting")
        return web.json_response(
            {"messages": self.messages.get(meeting_id, [])[:50], "next_cursor": None}
        )

    # ---- signaling ----------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict, auth: Any) -> None:
        user = self.tokens.get((auth or {}).get("token", ""))
        if user is None:
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "unauthorized", "message": "bad token"}
            )
        replica = self.replicas[self.connections % len(self.replicas)]
        self.connections += 1
        self.sockets[sid] = {"user": user, "room": None}
        await self.sio.emit(
            "session",
            {"protocol_version": 1, "sid": sid, "replica_id": replica, "user_id": user["user_id"]},
            to=sid,
        )

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        self.sockets.pop(sid, None)

    def _handler(self, event: str):
        async def handle(sid: str, data: Any) -> dict[str, Any]:
            state = self.sockets[sid]
            user = state["user"]
            if not isinstance(data, dict) or not isinstance(data.get("meeting_id"), str):
                return {"ok": False, "error": {"code": "invalid_payload", "message": "bad"}}
            room = data["meeting_id"]
            if event == "join":
                meeting = self.meetings.get(room)
                if meeting is None:
                    return {"ok": False, "error": {"code": "meeting_not_found", "message": "no"}}
                if user["user_id"] not in self.members[room]:
                    return {"ok": False, "error": {"code": "forbidden", "message": "no"}}
                peers = [
                    {
                        "sid": other,
                        "user_id": s["user"]["user_id"],
                        "display_name": s["user"]["display_name"],
                    }
                    for other, s in self.sockets.items()
                    if s["room"] == room and other != sid
                ]
                state["room"] = room
                await self.sio.enter_room(sid, room)
                await self.sio.emit(
                    "peer-joined",
                    {
                        "meeting_id": room,
                        "sid": sid,
                        "user_id": user["user_id"],
                        "display_name": user["display_name"],
                    },
                    room=room,
                    skip_sid=sid,
                )
                return {
                    "ok": True,
                    "data": {"meeting_id": room, "peers": peers, "replica_id": "fake"},
                }
            if state["room"] != room:
                return {"ok": False, "error": {"code": "not_in_room", "message": "join first"}}
            target = data.get("to")
            if target not in self.sockets or self.sockets[target]["room"] != room:
                return {"ok": False, "error": {"code": "peer_not_in_room", "message": "no peer"}}
            key = "candidate" if event == "ice-candidate" else "sdp"
            await self.sio.emit(
                event, {"meeting_id": room, "from": sid, key: data.get(key)}, to=target
            )
            return {"ok": True, "data": {}}

        return handle


@pytest.fixture
async def fake_platform(turn_server: TurnServer) -> AsyncIterator[FakePlatform]:
    platform = FakePlatform(turn_server)
    runner = web.AppRunner(platform.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    platform.base_url = f"http://127.0.0.1:{port}"
    try:
        yield platform
    finally:
        await runner.cleanup()
