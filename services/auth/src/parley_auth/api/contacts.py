"""``/api/auth/contacts`` routes: thin adapters from HTTP to :class:`parley_auth.domain.contacts.Contacts`.

Errors: ``{"detail": {"code", "message"}}`` (docs/http-api.md, "Contacts").
"""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.convertors import Convertor, register_url_convertor

from parley_auth.api.schemas import Email, UserOut
from parley_auth.domain.contacts import Contact, ContactList, Contacts
from parley_observability import BEARER_401, BODY_400, error_responses
from parley_observability.store import STORE_503
from parley_security import CurrentPrincipal

router = APIRouter(prefix="/api/auth/contacts", tags=["contacts"], responses=error_responses({401: BEARER_401, 503: STORE_503}))

#: A contact id: two user ids joined by ``:``.
CONTACT_ID = r"[A-Za-z0-9_-]+:[A-Za-z0-9_-]+"


class ContactIdConvertor(Convertor):
    """Routes ``{contact_id:contact_id}`` match contact ids only, so ``/contacts/blocks`` and
    ``/contacts/invitations`` are never taken for one (an undeclared method there is 405)."""

    regex = CONTACT_ID

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("contact_id", ContactIdConvertor())  # idempotent: the same name and pattern

ContactId = Annotated[str, Path(min_length=3, max_length=200, pattern=f"^{CONTACT_ID}$")]
UserId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


def _contacts(request: Request) -> Contacts:
    return request.app.state.contacts


ContactsDep = Annotated[Contacts, Depends(_contacts)]


class PresenceOut(BaseModel):
    """``state``: ``online`` (a live signaling socket), ``in_call`` (in a meeting room) or
    ``offline``; ``last_seen``: when the user was last online (null: never)."""

    state: Literal["online", "in_call", "offline"]
    last_seen: datetime | None


class ContactOut(BaseModel):
    """One relationship as the caller sees it. ``relation``: ``accepted`` (a contact),
    ``incoming`` (an invitation to the caller) or ``outgoing`` (one the caller sent);
    ``presence`` only for ``accepted``."""

    contact_id: str
    user: UserOut
    relation: Literal["accepted", "incoming", "outgoing"]
    since: datetime
    presence: PresenceOut | None = None

    @classmethod
    def of(cls, contact: Contact) -> "ContactOut":
        presence = contact.presence
        return cls(
            contact_id=contact.contact_id,
            user=UserOut.of(contact.other),
            relation=contact.relation,
            since=contact.since,
            presence=PresenceOut(state=presence.state, last_seen=presence.last_seen) if presence else None,  # type: ignore[arg-type]
        )


class ContactListOut(BaseModel):
    """The caller's contacts (sorted by name), invitations in and out (oldest first), and the
    users the caller blocks."""

    contacts: list[ContactOut]
    incoming: list[ContactOut]
    outgoing: list[ContactOut]
    blocked: list[UserOut]

    @classmethod
    def of(cls, listing: ContactList) -> "ContactListOut":
        return cls(
            contacts=[ContactOut.of(c) for c in listing.contacts],
            incoming=[ContactOut.of(c) for c in listing.incoming],
            outgoing=[ContactOut.of(c) for c in listing.outgoing],
            blocked=[UserOut.of(u) for u in listing.blocked],
        )


class InviteRequest(BaseModel):
    """``{email}``: whom to invite."""

    model_config = ConfigDict(extra="forbid")

    email: Email


class BlockRequest(BaseModel):
    """``{user_id}``: whom to block."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")


@router.get("", response_description="the caller's contacts, invitations and blocks")
async def list_contacts(
    principal: CurrentPrincipal,
    contacts: ContactsDep,
    q: Annotated[str | None, Query(max_length=100, description="keep contacts whose name, a word of it, or email starts with this (case-insensitive)")] = None,
) -> ContactListOut:
    """The caller's contacts with their presence, pending invitations both ways, and blocked users."""
    return ContactListOut.of(await contacts.list(principal.user_id, q))


@router.post(
    "/invitations",
    status_code=status.HTTP_201_CREATED,
    response_description="the invitation (201), or the existing invitation or contact (200)",
    responses=error_responses(
        {
            400: BODY_400,
            403: "`blocked`: the user does not accept invitations from the caller",
            404: "`user_not_found`: no user has this email",
            409: "`cannot_invite_self`; `you_block_this_user`: unblock them first",
        }
    ),
)
async def invite(body: InviteRequest, principal: CurrentPrincipal, contacts: ContactsDep, response: Response) -> ContactOut:
    """Invite the user with ``email`` to be contacts; they accept or decline. Inviting again
    (or someone already a contact) changes nothing (200); inviting someone who invited the
    caller accepts their invitation."""
    contact, created = await contacts.invite(principal.user_id, body.email)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ContactOut.of(contact)


@router.post(
    "/{contact_id:contact_id}/accept",
    response_description="the new contact",
    responses=error_responses({404: "`invitation_not_found`: no such invitation to the caller"}),
)
async def accept(contact_id: ContactId, principal: CurrentPrincipal, contacts: ContactsDep) -> ContactOut:
    """Accept an invitation to the caller (again: no change)."""
    return ContactOut.of(await contacts.accept(principal.user_id, contact_id))


@router.post(
    "/{contact_id:contact_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses({404: "`invitation_not_found`: no such invitation to or from the caller"}),
)
async def decline(contact_id: ContactId, principal: CurrentPrincipal, contacts: ContactsDep) -> None:
    """Decline an invitation to the caller, or withdraw one the caller sent."""
    await contacts.decline(principal.user_id, contact_id)


@router.post(
    "/blocks",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses({400: BODY_400, 404: "`user_not_found`", 409: "`cannot_block_self`"}),
)
async def block(body: BlockRequest, principal: CurrentPrincipal, contacts: ContactsDep) -> None:
    """Block a user: ends a contact or invitation with them; they can no longer invite the
    caller nor see the caller's presence. Blocking again changes nothing."""
    await contacts.block(principal.user_id, body.user_id)


@router.delete("/blocks/{user_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def unblock(user_id: UserId, principal: CurrentPrincipal, contacts: ContactsDep) -> None:
    """Lift the caller's block of a user (no change if there is none)."""
    await contacts.unblock(principal.user_id, user_id)


@router.delete(
    "/{contact_id:contact_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses({404: "`contact_not_found`: no such contact of the caller"}),
)
async def remove(contact_id: ContactId, principal: CurrentPrincipal, contacts: ContactsDep) -> None:
    """Remove a contact, for both users."""
    await contacts.remove(principal.user_id, contact_id)
