"""A socket.io client of Parley's signaling protocol v1 (docs/signaling.md).

Each ``SignalingClient`` owns a fresh ``aiohttp.ClientSession`` — its own cookie jar — so
nothing of one participant's connection leaks to the other, and a *new* client lands wherever
the load balancer sends it. Traefik routes a session's later requests by the replica prefix of
its ``sid`` (docs/signaling.md, "Transport"); no cookie is needed. The jar is created with
``unsafe=True`` (aiohttp otherwise drops cookies set by an IP-address host such as
``127.0.0.1``) so that a deployment whose proxy does use a sticky cookie works too.

Every server event is recorded in arrival order with its monotonic arrival time, so a caller
can wait for an event that arrived before it started waiting (no lost-wakeup races).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import socketio
import socketio.exceptions

PROTOCOL_VERSION = 1
#: Seconds before connecting again after a draining replica refused the connection.
DRAINING_RETRY_S = 0.05

log = logging.getLogger(__name__)


class SignalingError(RuntimeError):
    """A signaling step failed: refused connection, error acknowledgement, or a timeout.

    ``code`` is the protocol's error code (``unauthorized``, ``not_in_room``, ...) when the
    server gave one, ``timeout`` or ``connect_failed`` otherwise.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class Received:
    """One server → client event: its name, payload and ``time.monotonic()`` of arrival."""

    event: str
    data: Any
    at: float


class SignalingClient:
    """One participant's socket.io connection through ``{base_url}/socket.io``.

    ``name`` labels errors; ``token`` is the access token sent as ``auth: {"token"}``.
    Use ``await connect(timeout_s)`` (returns the ``session`` payload), ``await request(...)``
    for client events with acknowledgement, ``await wait_for(...)`` / ``stream(...)`` for
    server events, and always ``await close()``.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        token: str,
        transports: Sequence[str] = ("websocket",),
    ) -> None:
        self.name = name
        self.transports = list(transports)
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._http: aiohttp.ClientSession | None = None
        self._sio: socketio.AsyncClient | None = None
        self._log: list[Received] = []
        self._arrived = asyncio.Condition()
        self._connect_error: Any = None
        self.session: dict[str, Any] | None = None

    # ---- connection ---------------------------------------------------------------------

    async def connect(self, timeout_s: float) -> dict[str, Any]:
        """Connect and wait for the ``session`` event.

        A replica that is draining refuses with ``connect_error`` code ``draining``; as the
        protocol says (docs/signaling.md, "Drain"), the connection is tried again at once, and
        the proxy sends it to another replica.

        Returns ``{"protocol_version", "sid", "replica_id", "user_id"}``. Raises
        ``SignalingError`` (``connect_failed`` with the server's ``connect_error`` data,
        ``timeout``, or ``protocol_mismatch``).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return await self._connect_once(max(0.1, deadline - time.monotonic()))
            except SignalingError as exc:
                refused = self._connect_error if isinstance(self._connect_error, dict) else {}
                if (refused.get("data") or {}).get("code") != "draining" or time.monotonic() > deadline:
                    raise
                log.info("%s: replica draining; connecting again (%s)", self.name, exc)
                await self.close()
                await asyncio.sleep(DRAINING_RETRY_S)

    async def _connect_once(self, timeout_s: float) -> dict[str, Any]:
        self._connect_error = None
        self._http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sio = socketio.AsyncClient(reconnection=False, http_session=self._http, handle_sigint=False)
        self._sio = sio

        @sio.on("*")
        async def _any(event: str, data: Any = None) -> None:
            await self._record(event, data)

        @sio.on("connect_error")
        async def _refused(data: Any = None) -> None:
            self._connect_error = data

        @sio.on("disconnect")
        async def _gone(reason: Any = None) -> None:
            await self._record("disconnect", reason)

        try:
            await asyncio.wait_for(
                sio.connect(
                    self.base_url,
                    auth={"token": self._token},
                    socketio_path="socket.io",
                    transports=self.transports,
                    wait_timeout=timeout_s,
                ),
                timeout_s,
            )
        except (socketio.exceptions.ConnectionError, TimeoutError, aiohttp.ClientError) as exc:
            detail = (
                self._connect_error if self._connect_error is not None else str(exc) or "timeout"
            )
            raise SignalingError("connect_failed", f"{self.name}: {detail}") from exc
        received = await self.wait_for("session", timeout_s=timeout_s)
        session = received.data if isinstance(received.data, dict) else {}
        if session.get("protocol_version") != PROTOCOL_VERSION:
            raise SignalingError(
                "protocol_mismatch",
                f"{self.name}: session {received.data!r}, expected v{PROTOCOL_VERSION}",
            )
        self.session = session
        return session

    @property
    def sid(self) -> str:
        """This socket's id as the server named it in ``session``."""
        return str((self.session or {}).get("sid"))

    @property
    def replica_id(self) -> str:
        """The signaling instance this socket is connected to (from ``session``)."""
        return str((self.session or {}).get("replica_id"))

    async def close(self) -> None:
        """Disconnect and close the HTTP session; safe to call twice or before ``connect``."""
        if self._sio is not None:
            try:
                await asyncio.wait_for(self._sio.disconnect(), 5)
            except Exception:  # noqa: BLE001 - cleanup must not raise
                pass
        if self._http is not None and not self._http.closed:
            await self._http.close()

    # ---- client → server ----------------------------------------------------------------

    async def request(
        self, event: str, payload: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        """Emit ``event`` with an acknowledgement and return the ack's ``data``.

        Raises ``SignalingError`` with the server's error code on ``{"ok": false, ...}``,
        ``timeout`` when no acknowledgement arrives within ``timeout_s`` seconds, and
        ``bad_ack`` when the acknowledgement does not have the documented shape.
        """
        if self._sio is None:
            raise SignalingError("not_connected", f"{self.name}: {event} before connect")
        try:
            ack = await self._sio.call(event, payload, timeout=timeout_s)
        except socketio.exceptions.TimeoutError as exc:
            raise SignalingError(
                "timeout", f"{self.name}: no ack for {event} in {timeout_s:g} s"
            ) from exc
        except socketio.exceptions.BadNamespaceError as exc:
            raise SignalingError("not_connected", f"{self.name}: {event}: {exc}") from exc
        if not isinstance(ack, dict) or "ok" not in ack:
            raise SignalingError("bad_ack", f"{self.name}: {event} ack {ack!r}")
        if not ack["ok"]:
            error = ack.get("error") or {}
            raise SignalingError(
                str(error.get("code", "error")),
                f"{self.name}: {event}: {error.get('message', ack)}",
            )
        data = ack.get("data")
        return data if isinstance(data, dict) else {}

    # ---- server → client ----------------------------------------------------------------

    async def _record(self, event: str, data: Any) -> None:
        async with self._arrived:
            self._log.append(Received(event, data, time.monotonic()))
            self._arrived.notify_all()

    def received(self, event: str) -> list[Received]:
        """Every ``event`` received so far, oldest first."""
        return [r for r in self._log if r.event == event]

    async def wait_for(
        self,
        event: str,
        predicate: Callable[[Any], bool] | None = None,
        *,
        timeout_s: float,
    ) -> Received:
        """The first ``event`` (already received or still to come) whose payload satisfies
        ``predicate``; raises ``SignalingError("timeout")`` after ``timeout_s`` seconds."""

        def find() -> Received | None:
            for r in self._log:
                if r.event == event and (predicate is None or predicate(r.data)):
                    return r
            return None

        async def wait() -> Received:
            async with self._arrived:
                while (found := find()) is None:
                    await self._arrived.wait()
                return found

        try:
            return await asyncio.wait_for(wait(), timeout_s)
        except TimeoutError as exc:
            raise SignalingError(
                "timeout", f"{self.name}: no {event} within {timeout_s:g} s"
            ) from exc

    async def stream(self, event: str) -> AsyncIterator[Received]:
        """Yield every ``event`` in arrival order, past ones first, forever (cancel to stop)."""
        index = 0
        while True:
            async with self._arrived:
                while index >= len(self._log):
                    await self._arrived.wait()
                pending, index = self._log[index:], len(self._log)
            for r in pending:
                if r.event == event:
                    yield r
