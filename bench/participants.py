"""Accounts and meetings for the socket benchmarks, made through the platform's API (Traefik)
with the probe's client: ``users`` fresh users and ``count`` meetings, each created by one user
(its host) and joined by ``per_meeting`` distinct users, the host first, so that a socket of
any of them may join its room.

Meeting ``i``'s members are users ``k*i + j mod users`` for ``j`` in ``0 … k-1``
(``k = per_meeting``): with two users and ``k = 2``, the first hosts every meeting and the
second is its guest. A benchmark spreads its sockets over enough users to stay within
signaling's limits per user (docs/signaling.md, "Limits": at most
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
    each meeting's members (host first) as indexes into ``users``."""

    users: list[ApiClient]
    meeting_ids: list[str] = field(default_factory=list)
    members: list[list[int]] = field(default_factory=list)

    def tokens(self, i: int) -> list[str]:
        """The access tokens of meeting ``i``'s members, host first."""
        return [self.users[m].access_token or "" for m in self.members[i]]

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


def members_of(i: int, users: int, per_meeting: int = 2) -> list[int]:
    """Meeting ``i``'s members among ``users`` users, host first."""
    return [(per_meeting * i + j) % users for j in range(per_meeting)]


async def set_up(
    base_url: str, meetings: int, *, users: int = 2, per_meeting: int = 2, label: str = "bench"
) -> Participants:
    """Register and sign in ``users`` users, create ``meetings`` meetings and join each one's
    ``per_meeting`` members to it (:func:`members_of`; at least 2, at most ``users``).

    Raises ``parley_probe.api.ApiError`` when a call is refused.
    """
    if not 2 <= per_meeting <= users:
        raise ValueError("a meeting needs 2 to `users` members")
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
            host, *others = (people.users[m] for m in people.members[i])
            async with limit:
                meeting = await host.create_meeting(f"{label} {run} #{i}")
            meeting_id = str(meeting["meeting_id"])
            for member in (host, *others):
                async with limit:
                    await member.join_meeting(meeting_id)
            return meeting_id

        people.members = [members_of(i, users, per_meeting) for i in range(meetings)]
        people.meeting_ids = list(await asyncio.gather(*(one(i) for i in range(meetings))))
    except BaseException:
        await people.close()
        raise
    print(f"[bench] {meetings} meetings set up for {users} users", file=sys.stderr, flush=True)
    return people
