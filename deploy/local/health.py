"""Health checks of local components: ``tcp``, ``http`` and ``topics``.

Each ``probe_*`` returns None when healthy, or a short reason when not; it never raises for
an unhealthy target.
"""

from __future__ import annotations

import asyncio
import socket

import httpx


def probe_tcp(target: str, timeout: float = 1.0) -> str | None:
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return None
    except OSError as exc:
        return f"tcp {target}: {exc.strerror or exc}"


def probe_http(url: str, timeout: float = 2.0) -> str | None:
    try:
        resp = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"GET {url}: {type(exc).__name__}"
    if resp.is_success:
        return None
    return f"GET {url}: HTTP {resp.status_code}"


def probe_topics(bootstrap: str, timeout: float = 5.0) -> str | None:
    from parley_events.topics import TOPICS

    async def missing() -> set[str]:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            return {t.name for t in TOPICS} - set(await admin.list_topics())
        finally:
            await admin.close()

    if probe_tcp(bootstrap) is not None:
        return f"kafka {bootstrap} not reachable"
    try:
        absent = asyncio.run(asyncio.wait_for(missing(), timeout))
    except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
        return f"kafka {bootstrap}: {type(exc).__name__}: {exc}"
    return f"topics missing: {', '.join(sorted(absent))}" if absent else None


PROBES = {"tcp": probe_tcp, "http": probe_http, "topics": probe_topics}


def probe(kind: str, target: str) -> str | None:
    return PROBES[kind](target)
