"""Accounts and meetings for the socket benchmarks, made through the platform's API (Traefik)
with the probe's client: two fresh users, ``count`` meetings created by the first (the host)
and joined by both, so that sockets of either user may join any of their rooms."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import uuid
from dataclasses import dataclass, field

from parley_probe.api import ApiClient

#: Meetings API calls in flight at once while setting up.
CONCURRENCY = 8


@dataclass
class Participants:
    """The two users' clients (access tokens in ``host.access_token``, ``guest.access_token``)
    and the ids of the meetings both have joined."""

    host: ApiClient
    guest: ApiClient
    meeting_ids: list[str] = field(default_factory=list)

    async def close(self) -> None:
        """End every meeting (best effort), close the HTTP clients."""
        limit = asyncio.Semaphore(CONCURRENCY)

        async def end(meeting_id: str) -> None:
            async with limit:
                with contextlib.suppress(Exception):
                    await self.host.end_meeting(meeting_id)

        await asyncio.gather(*(end(m) for m in self.meeting_ids))
        await self.host.aclose()
        await self.guest.aclose()


async def set_up(base_url: str, meetings: int, *, label: str = "bench") -> Participants:
    """Register and sign in two users, create ``meetings`` meetings and join both to each.

    Raises ``parley_probe.api.ApiError`` when a call is refused.
    """
    run = uuid.uuid4().hex[:10]
    password = secrets.token_urlsafe(18)
    host, guest = ApiClient(base_url, timeout_s=60), ApiClient(base_url, timeout_s=60)
    people = Participants(host, guest)
    try:
        for role, client in (("host", host), ("guest", guest)):
            email = f"{label}-{role}-{run}@example.com"
            await client.register(email, f"{label} {role} {run}", password)
            await client.login(email, password)
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> str:
            async with limit:
                meeting = await host.create_meeting(f"{label} {run} #{i}")
                meeting_id = str(meeting["meeting_id"])
                await host.join_meeting(meeting_id)
                await guest.join_meeting(meeting_id)
                return meeting_id

        people.meeting_ids = list(await asyncio.gather(*(one(i) for i in range(meetings))))
    except BaseException:
        await people.close()
        raise
    print(f"[bench] {meetings} meetings set up for two users", file=sys.stderr, flush=True)
    return people
