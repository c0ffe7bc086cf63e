"""Routes of ``/api/webhooks`` (docs/webhooks.md). Thin: parse, call the domain, shape.

The caller is a signed-in user (``Authorization: Bearer <access token>``) or an application
with an API key of the scope ``webhooks:manage`` (``X-API-Key``); either manages only the
endpoints of that user. Errors are ``{"detail": {"code", "message"}}``: 404
``webhook_not_found`` (also for another user's endpoint) / ``delivery_not_found``, 422 (FastAPI's
``detail`` list; a refused URL is an entry of ``type`` ``invalid_webhook_url``), 409 ``delivery_in_progress``.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

from parley_meetings.api.callers import INVALID_KEY_401, SCOPE_403, Caller
from parley_meetings.api.pagination import cursor_of, position
from parley_meetings.api.webhook_schemas import (
    CreateEndpointRequest,
    DeliveryOut,
    DeliveryPage,
    EndpointList,
    EndpointOut,
    EndpointWithSecret,
    WebhookId,
)
from parley_meetings.domain.errors import InvalidWebhookUrl
from parley_meetings.domain.webhooks import Webhooks
from parley_observability import BODY_400, error_responses, invalid_input_response
from parley_observability.store import STORE_503
from parley_security import Principal


async def _webhooks(request: Request) -> Webhooks:
    return request.app.state.webhooks


WebhooksService = Annotated[Webhooks, Depends(_webhooks)]
#: The caller of a webhook route (a key needs ``webhooks:manage``).
Manager = Annotated[Principal, Depends(Caller("webhooks:manage"))]

router = APIRouter(
    prefix="/api/webhooks",
    tags=["webhooks"],
    responses=error_responses({401: INVALID_KEY_401, 403: SCOPE_403, 503: STORE_503}),
)

NOT_FOUND_404 = "`webhook_not_found`: no endpoint of the caller has this id"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_description="the endpoint and its signing secret (shown only here and at rotation)",
    responses={
        **error_responses({400: BODY_400}),
        **invalid_input_response(
            "validation failed (FastAPI's `detail` list); a URL that is not https (http only to "
            "loopback in local development), whose host is not a valid DNS name or IP literal, or whose host resolves "
            "to a private, loopback, link-local, multicast or reserved address in production, is an entry of `type` "
            "`invalid_webhook_url` at `loc` `[\"body\", \"url\"]`"
        ),
    },
)
async def register_endpoint(body: CreateEndpointRequest, principal: Manager, webhooks: WebhooksService) -> EndpointWithSecret:
    """Register an endpoint for the events of the meetings the caller hosts. Deliveries are
    signed as Standard Webhooks says (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
    with the returned `secret`."""
    try:
        endpoint = await webhooks.register(
            principal.user_id, url=body.url, event_types=body.event_types, description=body.description
        )
    except InvalidWebhookUrl as exc:  # a value the schema cannot refuse: FastAPI's 422 shape, as for any field
        error = {"type": exc.code, "loc": ("body", "url"), "msg": exc.message, "input": body.url}
        raise RequestValidationError([error]) from exc
    return EndpointWithSecret.of(endpoint)


@router.get("", response_description="the caller's endpoints, oldest first")
async def list_endpoints(principal: Manager, webhooks: WebhooksService) -> EndpointList:
    """The caller's endpoints (without secrets)."""
    return EndpointList(endpoints=[EndpointOut.of(e) for e in await webhooks.of_owner(principal.user_id)])


@router.get("/{endpoint_id}", response_description="the endpoint", responses=error_responses({404: NOT_FOUND_404}))
async def get_endpoint(endpoint_id: WebhookId, principal: Manager, webhooks: WebhooksService) -> EndpointOut:
    """One endpoint of the caller (without its secret)."""
    return EndpointOut.of(await webhooks.get(principal.user_id, endpoint_id))


@router.delete(
    "/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_description="deleted, with its delivery log",
    responses=error_responses({404: NOT_FOUND_404}),
)
async def delete_endpoint(endpoint_id: WebhookId, principal: Manager, webhooks: WebhooksService) -> Response:
    """Delete an endpoint: nothing more is sent to it, and its delivery log goes with it."""
    await webhooks.delete(principal.user_id, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_description="the endpoint and its new secret",
    responses=error_responses({404: NOT_FOUND_404}),
)
async def rotate_secret(endpoint_id: WebhookId, principal: Manager, webhooks: WebhooksService) -> EndpointWithSecret:
    """A new signing secret; every attempt from now on is signed with it (the old one is
    forgotten at once)."""
    return EndpointWithSecret.of(await webhooks.rotate_secret(principal.user_id, endpoint_id))


@router.get(
    "/{endpoint_id}/deliveries",
    response_description="a page of the endpoint's delivery log, newest first",
    responses={
        **error_responses({404: NOT_FOUND_404}),
        **invalid_input_response("validation failed; a `cursor` this list did not give is an entry of `type` `invalid_cursor`"),
    },
)
async def list_deliveries(
    endpoint_id: WebhookId,
    principal: Manager,
    webhooks: WebhooksService,
    limit: Annotated[int, Query(ge=1, le=100, description="page size, 1–100")] = 20,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200, description="`next_cursor` of the previous page")] = None,
) -> DeliveryPage:
    """The endpoint's deliveries with their state, attempts and last answer."""
    after = position(cursor) if cursor is not None else None
    found = await webhooks.deliveries(principal.user_id, endpoint_id, limit + 1, after)
    more = len(found) > limit
    found = found[:limit]
    return DeliveryPage(
        deliveries=[DeliveryOut.of(d) for d in found],
        next_cursor=cursor_of(found[-1].created_at, found[-1].delivery_id) if more else None,
    )


@router.get(
    "/{endpoint_id}/deliveries/{delivery_id}",
    response_description="the delivery",
    responses=error_responses({404: NOT_FOUND_404 + "; `delivery_not_found`"}),
)
async def get_delivery(
    endpoint_id: WebhookId, delivery_id: WebhookId, principal: Manager, webhooks: WebhooksService
) -> DeliveryOut:
    """One delivery of the endpoint."""
    return DeliveryOut.of(await webhooks.delivery(principal.user_id, endpoint_id, delivery_id))


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_description="the delivery, pending and due now",
    responses=error_responses(
        {404: NOT_FOUND_404 + "; `delivery_not_found`", 409: "`delivery_in_progress`: it is being sent right now"}
    ),
)
async def replay_delivery(
    endpoint_id: WebhookId, delivery_id: WebhookId, principal: Manager, webhooks: WebhooksService
) -> DeliveryOut:
    """Send a delivery again (the same `webhook-id` and body, freshly signed), with a fresh
    retry schedule; whatever its state was."""
    return DeliveryOut.of(await webhooks.replay(principal.user_id, endpoint_id, delivery_id))
