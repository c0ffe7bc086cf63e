"""Routes of ``/api/calls`` (docs/http-api.md, "Calls"). Thin: parse, call the domain, shape.

Every route needs ``Authorization: Bearer <access token>``. Errors are ``{"detail": {"code",
"message"}}``: 404 ``call_not_found`` (also for a call of other users), 403 ``not_a_contact``
/ ``not_allowed``, 409 ``busy`` / ``already_in_call`` / ``call_state_conflict``, 400
``cannot_call_self``.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from parley_meetings.api.call_schemas import CallId, CallList, CallOut, PlaceCallRequest
from parley_meetings.domain.calls import Calls
from parley_observability import BEARER_401, BODY_400, error_responses
from parley_observability.store import STORE_503
from parley_security import CurrentPrincipal


async def _calls(request: Request) -> Calls:
    return request.app.state.calls


CallsService = Annotated[Calls, Depends(_calls)]

router = APIRouter(prefix="/api/calls", tags=["calls"], responses=error_responses({503: STORE_503}))

NOT_FOUND_404 = "`call_not_found`: no call of the caller has this id"
STATE_409 = "`call_state_conflict`: the call's state does not allow this any more (the message says it)"
NOT_ALLOWED_403 = "`not_allowed`: the other party of the call does this"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_description="the call, ringing (`call.ringing` published)",
    responses=error_responses(
        {
            400: BODY_400 + "; `cannot_call_self`",
            401: BEARER_401,
            403: "`not_a_contact`: the callee is not an accepted contact, or one of the two blocks the other",
            409: "`busy`: the callee is in a ringing or accepted call; `already_in_call`: the caller is",
        }
    ),
)
async def place_call(body: PlaceCallRequest, principal: CurrentPrincipal, calls: CallsService) -> CallOut:
    """Call a contact: every live socket of the callee rings (signaling's `call` event) until
    it is answered, cancelled, or `ring_deadline` passes (then `missed`)."""
    call = await calls.place(caller_id=principal.user_id, caller_name=principal.display_name, callee_id=body.callee_id)
    return CallOut.of(call, principal.user_id)


@router.get("", response_description="the caller's live calls and call history", responses=error_responses({401: BEARER_401}))
async def list_calls(
    principal: CurrentPrincipal,
    calls: CallsService,
    limit: Annotated[int, Query(ge=1, le=200, description="history entries at most")] = 50,
) -> CallList:
    """Live calls (ringing or accepted: what a page shows after a reload) and the history."""
    live, history = await calls.of_user(principal.user_id, limit)
    return CallList(
        live=[CallOut.of(c, principal.user_id) for c in live],
        history=[CallOut.of(c, principal.user_id) for c in history],
    )


@router.get("/{call_id}", response_description="the call", responses=error_responses({401: BEARER_401, 404: NOT_FOUND_404}))
async def get_call(call_id: CallId, principal: CurrentPrincipal, calls: CallsService) -> CallOut:
    """One call of the caller."""
    return CallOut.of(await calls.get(call_id, user_id=principal.user_id), principal.user_id)


_ANSWERS = error_responses({401: BEARER_401, 403: NOT_ALLOWED_403, 404: NOT_FOUND_404, 409: STATE_409})


@router.post("/{call_id}/accept", response_description="the call, accepted (`call.accepted`)", responses=_ANSWERS)
async def accept_call(call_id: CallId, principal: CurrentPrincipal, calls: CallsService) -> CallOut:
    """The callee accepts (idempotent): the private room `room_id` exists, both may join it."""
    call = await calls.accept(call_id, user_id=principal.user_id, display_name=principal.display_name)
    return CallOut.of(call, principal.user_id)


@router.post("/{call_id}/decline", response_description="the call, declined (`call.declined`)", responses=_ANSWERS)
async def decline_call(call_id: CallId, principal: CurrentPrincipal, calls: CallsService) -> CallOut:
    """The callee declines a ringing call (idempotent)."""
    return CallOut.of(await calls.decline(call_id, user_id=principal.user_id), principal.user_id)


@router.post("/{call_id}/cancel", response_description="the call, cancelled (`call.cancelled`)", responses=_ANSWERS)
async def cancel_call(call_id: CallId, principal: CurrentPrincipal, calls: CallsService) -> CallOut:
    """The caller hangs up while it rings (idempotent)."""
    return CallOut.of(await calls.cancel(call_id, user_id=principal.user_id), principal.user_id)


@router.post(
    "/{call_id}/escalate", response_description="the call, escalated (`call.escalated`)", responses=_ANSWERS
)
async def escalate_call(call_id: CallId, principal: CurrentPrincipal, calls: CallsService) -> CallOut:
    """Either party turns an accepted call into a meeting to invite more people (idempotent):
    the call is over, its room `room_id` stays as an ordinary meeting that anyone with the
    link `/m/{room_id}` joins, with its chat."""
    return CallOut.of(await calls.escalate(call_id, user_id=principal.user_id), principal.user_id)


@router.post("/{call_id}/end", response_description="the call, ended (`call.ended`)", responses=_ANSWERS)
async def end_call(call_id: CallId, principal: CurrentPrincipal, calls: CallsService) -> CallOut:
    """Either party hangs up an accepted call (idempotent); its room ends (`meeting.ended`)."""
    return CallOut.of(await calls.end(call_id, user_id=principal.user_id), principal.user_id)
