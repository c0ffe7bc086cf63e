"""Contacts: invitations by email, acceptance, removal, blocks (docs/http-api.md, "Contacts").

A pair of users has one relationship document (:mod:`parley_auth.contacts_repository`):
``none`` -> ``pending`` (one invited the other) -> ``accepted`` (the other accepted); declining,
withdrawing or removing returns it to ``none``. Either may block the other: that ends a
pending or accepted relationship, and while a block stands neither can invite the other.
Every change stages its event (parley.contacts) in the same write.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from parley_auth.contacts_repository import MongoContactStore, MongoPresenceStore, VersionConflict
from parley_auth.domain.models import User
from parley_auth.domain.stores import UserStore
from parley_observability import ApiError
from parley_events import (
    ContactAccepted,
    ContactDeclined,
    ContactEvent,
    ContactInvited,
    ContactRemoved,
    UserBlocked,
    UserUnblocked,
    outbox_entry,
)

EVENT_SOURCE = "/parley/auth"
#: Compare-and-set attempts before a change gives up (only under a storm of concurrent writes).
ATTEMPTS = 10

#: A pair's stored document (None: the pair never had one), and a transition of it: the fields
#: to set and the event to stage in the same write.
Doc = dict[str, Any] | None
Change = tuple[dict[str, Any], ContactEvent]

Relation = Literal["accepted", "incoming", "outgoing"]


class ContactError(ApiError):
    """A refused contact operation: its HTTP status, machine ``code`` and a message (answered
    as ``{"detail": {"code", "message"}}`` by parley_observability's handler)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status  # type: ignore[misc] - per refusal, not per class
        self.code = code  # type: ignore[misc]


def unknown_user() -> ContactError:
    return ContactError(404, "user_not_found", "no Parley user has this email address")


def contact_id_of(first: str, second: str) -> str:
    """The pair's id: the two user ids sorted, joined by ``:``."""
    low, high = sorted((first, second))
    return f"{low}:{high}"


@dataclass(frozen=True)
class Presence:
    """``state``: ``online``, ``in_call`` or ``offline``; ``last_seen`` (UTC) or None."""

    state: str
    last_seen: datetime | None


@dataclass(frozen=True)
class Contact:
    """One relationship as ``user`` sees it: the other user, how they relate, since when, and
    the other's presence (``None`` unless accepted)."""

    contact_id: str
    other: User
    relation: Relation
    since: datetime
    presence: Presence | None = None


@dataclass(frozen=True)
class ContactList:
    """A user's contacts, invitations in and out, and the users they block."""

    contacts: list[Contact]
    incoming: list[Contact]
    outgoing: list[Contact]
    blocked: list[User]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _other(doc: dict[str, Any], user_id: str) -> str:
    return doc["b"] if doc["a"] == user_id else doc["a"]


def watchers_of(docs: list[dict[str, Any]], user_id: str) -> list[str]:
    """The users who may see ``user_id``'s presence: the other side of each accepted pair."""
    return sorted(_other(doc, user_id) for doc in docs if doc.get("status") == "accepted" and not doc.get("blocks"))


class Contacts:
    """The contact operations of one user at a time; ``on_event_staged`` wakes the relay."""

    def __init__(
        self,
        users: UserStore,
        contacts: MongoContactStore,
        presence: MongoPresenceStore,
        *,
        on_event_staged: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._users = users
        self._contacts = contacts
        self._presence = presence
        self._on_event_staged = on_event_staged
        self._clock = clock

    async def invite(self, user_id: str, email: str) -> tuple[Contact, bool]:
        """Invite the user with ``email`` (normalised); returns the relationship and whether it
        is new (False: already invited or already contacts, nothing changed). An invitation
        the other already sent to ``user_id`` is accepted instead.

        Errors: 404 ``user_not_found``, 409 ``cannot_invite_self``, 403 ``blocked`` (the other
        blocks ``user_id``), 409 ``you_block_this_user``.
        """
        other = await self._users.by_email(email)
        if other is None:
            raise unknown_user()
        if other.user_id == user_id:
            raise ContactError(409, "cannot_invite_self", "you cannot invite yourself")
        pair = contact_id_of(user_id, other.user_id)

        def decide(doc: Doc) -> Change | None:
            blocks = doc.get("blocks", []) if doc else []
            if other.user_id in blocks:
                raise ContactError(403, "blocked", "this user does not accept invitations from you")
            if user_id in blocks:
                raise ContactError(409, "you_block_this_user", "you block this user: unblock them first")
            status = doc.get("status") if doc else "none"
            if status == "accepted" or (status == "pending" and doc and doc.get("inviter") == user_id):
                return None
            now = self._clock()
            if status == "pending":  # they invited us: accepting is what both want
                event = ContactAccepted(contact_id=pair, user_id=user_id, other_user_id=other.user_id, at=now)
                return {"status": "accepted", "inviter": None, "since": now}, event
            event = ContactInvited(contact_id=pair, user_id=user_id, other_user_id=other.user_id, at=now)
            return {"status": "pending", "inviter": user_id, "since": now}, event

        doc, fields = await self._change(pair, lambda: self._contacts.get(pair), decide)
        if fields is None:
            return self._view(doc, user_id, other), False
        return self._view({**(doc or _new(pair)), **fields}, user_id, other), True

    async def accept(self, user_id: str, contact_id: str) -> Contact:
        """Accept the invitation ``contact_id`` sent to ``user_id``; accepting again is a no-op.
        Error: 404 ``invitation_not_found`` (no such invitation to ``user_id``)."""

        def decide(doc: Doc) -> Change | None:
            if doc is not None and doc.get("status") == "accepted":
                return None
            if doc is None or doc.get("status") != "pending" or doc.get("inviter") == user_id:
                raise ContactError(404, "invitation_not_found", "no such invitation to you")
            now = self._clock()
            event = ContactAccepted(contact_id=contact_id, user_id=user_id, other_user_id=_other(doc, user_id), at=now)
            return {"status": "accepted", "inviter": None, "since": now}, event

        doc, fields = await self._change(contact_id, lambda: self._mine(contact_id, user_id), decide)
        assert doc is not None  # decide refuses a missing one
        return await self._view_of({**doc, **(fields or {})}, user_id)

    async def decline(self, user_id: str, contact_id: str) -> None:
        """Decline an invitation to ``user_id``, or withdraw one ``user_id`` sent.
        Error: 404 ``invitation_not_found``."""

        def decide(doc: Doc) -> Change:
            if doc is None or doc.get("status") != "pending":
                raise ContactError(404, "invitation_not_found", "no such invitation to or from you")
            now = self._clock()
            withdrawn = doc.get("inviter") == user_id
            other_id = _other(doc, user_id)
            event = ContactDeclined(contact_id=contact_id, user_id=user_id, other_user_id=other_id, at=now, withdrawn=withdrawn)
            return {"status": "none", "inviter": None, "since": now}, event

        await self._change(contact_id, lambda: self._mine(contact_id, user_id), decide)

    async def remove(self, user_id: str, contact_id: str) -> None:
        """Remove an accepted contact (for both). Error: 404 ``contact_not_found``."""

        def decide(doc: Doc) -> Change:
            if doc is None or doc.get("status") != "accepted":
                raise ContactError(404, "contact_not_found", "no such contact of yours")
            now = self._clock()
            event = ContactRemoved(contact_id=contact_id, user_id=user_id, other_user_id=_other(doc, user_id), at=now)
            return {"status": "none", "inviter": None, "since": now}, event

        await self._change(contact_id, lambda: self._mine(contact_id, user_id), decide)

    async def block(self, user_id: str, other_id: str) -> None:
        """Block ``other_id``: ends a contact or invitation between them; idempotent.
        Errors: 404 ``user_not_found``, 409 ``cannot_block_self``."""
        if other_id == user_id:
            raise ContactError(409, "cannot_block_self", "you cannot block yourself")
        if await self._users.by_id(other_id) is None:
            raise ContactError(404, "user_not_found", "no such user")
        pair = contact_id_of(user_id, other_id)

        def decide(doc: Doc) -> Change | None:
            blocks = list(doc.get("blocks", [])) if doc else []
            if user_id in blocks:
                return None
            now = self._clock()
            event = UserBlocked(contact_id=pair, user_id=user_id, other_user_id=other_id, at=now)
            return {"status": "none", "inviter": None, "since": now, "blocks": [*blocks, user_id]}, event

        await self._change(pair, lambda: self._contacts.get(pair), decide)

    async def unblock(self, user_id: str, other_id: str) -> None:
        """Lift ``user_id``'s block of ``other_id`` (they do not become contacts); idempotent."""
        pair = contact_id_of(user_id, other_id)

        def decide(doc: Doc) -> Change | None:
            blocks = list(doc.get("blocks", [])) if doc else []
            if doc is None or user_id not in blocks:
                return None
            event = UserUnblocked(contact_id=pair, user_id=user_id, other_user_id=other_id, at=self._clock())
            return {"blocks": [b for b in blocks if b != user_id]}, event

        await self._change(pair, lambda: self._contacts.get(pair), decide)

    async def list(self, user_id: str, query: str | None = None) -> ContactList:
        """``user_id``'s contacts (with presence), invitations in and out, and blocked users;
        ``query`` keeps the contacts whose display name (or a word of it) or email starts with
        it, case-insensitively (invitations and blocks are not filtered)."""
        docs = await self._contacts.of_user(user_id)
        others = {_other(doc, user_id) for doc in docs}
        users = dict(zip(others, await asyncio.gather(*(self._users.by_id(o) for o in others)), strict=True))
        contacts, incoming, outgoing, blocked = [], [], [], []
        for doc in docs:
            other = users.get(_other(doc, user_id))
            if other is None:
                continue
            if user_id in doc.get("blocks", []):
                blocked.append(other)
            if doc.get("status") == "pending":
                (outgoing if doc.get("inviter") == user_id else incoming).append(self._view(doc, user_id, other))
            elif doc.get("status") == "accepted" and _matches(other, query):
                contacts.append(self._view(doc, user_id, other))
        presences = await asyncio.gather(*(self._presence.get(c.other.user_id) for c in contacts))
        contacts = [
            Contact(c.contact_id, c.other, c.relation, c.since, _presence(p)) for c, p in zip(contacts, presences, strict=True)
        ]
        contacts.sort(key=lambda c: (c.other.display_name.casefold(), c.other.user_id))
        incoming.sort(key=lambda c: c.since)
        outgoing.sort(key=lambda c: c.since)
        blocked.sort(key=lambda u: u.display_name.casefold())
        return ContactList(contacts, incoming, outgoing, blocked)

    async def _change(
        self, pair: str, read: Callable[[], Awaitable[Doc]], decide: Callable[[Doc], Change | None]
    ) -> tuple[Doc, dict[str, Any] | None]:
        """One compare-and-set transition of the pair's document: ``read`` it, ``decide`` the
        fields to set and the event to stage (``None``: nothing to change; it may raise to
        refuse), and write them at the version read; on a concurrent write, read again.
        Returns the document as read and the fields written (``None`` when unchanged).
        Error: 409 ``conflict`` after :data:`ATTEMPTS` lost races."""
        for _ in range(ATTEMPTS):
            doc = await read()
            decision = decide(doc)
            if decision is None:
                return doc, None
            fields, event = decision
            try:
                await self._write(pair, doc, fields, event)
            except VersionConflict:
                continue
            return doc, fields
        raise _busy()

    async def _mine(self, contact_id: str, user_id: str) -> dict[str, Any] | None:
        doc = await self._contacts.get(contact_id)
        if doc is None or user_id not in (doc["a"], doc["b"]):
            return None
        return doc

    async def _write(self, pair: str, doc: dict[str, Any] | None, fields: dict[str, Any], event: ContactEvent) -> None:
        base = {} if doc else {k: v for k, v in _new(pair).items() if k != "_id"}
        await self._contacts.write(
            pair, doc["version"] if doc else None, {**base, **fields}, [outbox_entry(event, source=EVENT_SOURCE)]
        )
        self._on_event_staged()

    async def _view_of(self, doc: dict[str, Any], user_id: str) -> Contact:
        other = await self._users.by_id(_other(doc, user_id))
        if other is None:
            raise ContactError(404, "contact_not_found", "no such contact of yours")
        return self._view(doc, user_id, other)

    def _view(self, doc: dict[str, Any], user_id: str, other: User) -> Contact:
        if doc.get("status") == "accepted":
            relation: Relation = "accepted"
        else:
            relation = "outgoing" if doc.get("inviter") == user_id else "incoming"
        return Contact(doc["_id"], other, relation, doc.get("since") or self._clock())


def _new(pair: str) -> dict[str, Any]:
    low, high = pair.split(":", 1)
    return {"_id": pair, "a": low, "b": high, "status": "none", "inviter": None, "blocks": []}


def _busy() -> ContactError:
    return ContactError(409, "conflict", "the contact changed concurrently too often; try again")


def _matches(user: User, query: str | None) -> bool:
    if not query:
        return True
    q = query.strip().casefold()
    name = user.display_name.casefold()
    return name.startswith(q) or any(word.startswith(q) for word in name.split()) or user.email.startswith(q)


def _presence(doc: dict[str, Any] | None) -> Presence:
    if doc is None:
        return Presence("offline", None)
    return Presence(doc.get("state", "offline"), doc.get("last_seen"))
