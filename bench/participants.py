"""Accounts and meetings for the socket benchmarks, made through the platform's API (Traefik)
with the probe's client: ``users`` fresh users and ``count`` meetings, each created by one user
(its host) and joined by the host and one other user (its guest), so that sockets of either
may join its room.

Meeting ``i``'s host is user ``2i mod users`` and its guest user ``2i + 1 mod users``: with
two users, the first hosts every meeting. A benchmark spreads its sockets over enough users
to stay within signaling's limits per user (docs/signaling.md, "Limits": at most
``PARLEY_SIGNALING_MAX_SOCKETS_PER_USER`` sockets per replica, one event budget).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import uuid
from dataclasses import dataclass, field

from parley_probe.api import ApiClient

#: API calls in flight at once while setting up (a sign-up is two argon2id hashes on auth).
CONCURRENCY = 8


@dataclass
class Participants:
    """The users' clients (each signed in: ``access_token``), the ids of the meetings, and
    each meeting's host and guest as indexes into ``users``."""

    users: list[ApiClient]
    meeting_ids: list[str] = field(default_factory=list)
    members: list[tuple[int, int]] = field(default_factory=list)

    @property
    def host(self) -> ApiClient:
        """The first user, host of every meeting when there are two users."""
        return self.users[0]

    @property
    def guest(self) -> ApiClient:
        return self.users[1]

    def tokens(self, i: int) -> tuple[str, str]:
        """The access tokens of meeting ``i``'s host and guest."""
        host, guest = self.members[i]
        return self.users[host].access_token or "", self.users[guest].access_token or ""

    async def close(self) -> None:
        """End every meeting (best effort), close the HTTP clients."""
        limit = asyncio.Semaphore(CONCURRENCY)

        async def end(i: int) -> None:
            async with limit:
                with contextlib.suppress(Exception):
                    await self.users[self.members[i][0]].end_meeting(self.meeting_ids[i])

        await asyncio.gather(*(end(i) for i in range(len(self.meeting_ids))))
        for client in self.users:
            await client.aclose()


def members_of(i: int, users: int) -> tuple[int, int]:
    """Meeting ``i``'s host and guest among ``users`` users."""
    return (2 * i) % users, (2 * i + 1) % users


async def set_up(base_url: str, meetings: int, *, users: int = 2, label: str = "bench") -> Participants:
    """Register and sign in ``users`` users (at least 2), create ``meetings`` meetings and join
    each one's host and guest to it (:func:`members_of`).

    Raises ``parley_probe.api.ApiError`` when a call is refused.
    """
    if users < 2:
        raise ValueError("at least two users")
    run = uuid.uuid4().hex[:10]
    password = secrets.token_urlsafe(18)
    people = Participants([ApiClient(base_url, timeout_s=60) for _ in range(users)])
    limit = asyncio.Semaphore(CONCURRENCY)
    try:
        async def sign_up(u: int) -> None:
            async with limit:
                email = f"{label}-{u}-{run}@example.com"
                await people.users[u].register(email, f"{label} {u} {run}", password)
                await people.users[u].login(email, password)

        await asyncio.gather(*(sign_up(u) for u in range(users)))
        print(f"[bench] {users} users signed up", file=sys.stderr, flush=True)

        async def one(i: int) -> str:
            host, guest = (people.users[m] for m in members_of(i, users))
            async with limit:
                meeting = await host.create_meeting(f"{label} {run} #{i}")
                meeting_id = str(meeting["meeting_id"])
                await host.join_meeting(meeting_id)
                await guest.join_meeting(meeting_id)
                return meeting_id

        people.members = [members_of(i, users) for i in range(meetings)]
        people.meeting_ids = list(await asyncio.gather(*(one(i) for i in range(meetings))))
    except BaseException:
        await people.close()
        raise
    print(f"[bench] {meetings} meetings set up for {users} users", file=sys.stderr, flush=True)
    return people
