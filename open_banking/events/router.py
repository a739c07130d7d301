"""Routes of the Event Notification Subscription and Aggregated Polling APIs, relative to /open-banking/v4.0
(the servers URL of OB's v4.0.1 "Events API Specification - ASPSP Endpoints"); operation ids as the spec's.

Message signing (Events API endpoint tables): POST and PUT of event-subscriptions are signed by the TPP and
every event-subscriptions response with a body by the bank (`open_banking.app.SIGNED_PATHS`); polling is not
signed, the SETs it carries are.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from obank.ob_errors import OBErrorResponse1
from open_banking import schemas as envelope
from open_banking.dependencies import SelfUrlDep, public_url
from open_banking.errors import FieldInvalid, ob_error_responses
from open_banking.events import service
from open_banking.events.auth import EventsClient
from open_banking.events.dependencies import CallbackPolicyDep, MaxEventsDep, ReadSessionDep, UnitOfWorkDep
from open_banking.events.errors import SUBSCRIPTION_ID
from open_banking.events.schemas import (
    EventSubscriptionData,
    EventSubscriptionResponseData,
    EventSubscriptionsData,
    OBEventPolling1,
    OBEventPollingResponse1,
    OBEventSubscription1,
    OBEventSubscriptionResponse1,
    OBEventSubscriptionsResponse1,
)
from open_banking.fapi import fapi_headers
from open_banking.negotiation import OBRoute
from open_banking.signing import SignedRequest

EVENT_SUBSCRIPTIONS = "/event-subscriptions"
EVENTS = "/events"

router = APIRouter(route_class=OBRoute, dependencies=[Depends(fapi_headers)])

EventSubscriptionId = Annotated[str, Path(alias=SUBSCRIPTION_ID, min_length=1, max_length=40)]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": OBErrorResponse1, "description": "Conflict: the TPP already has its event subscription"}
}


@router.post(
    EVENT_SUBSCRIPTIONS,
    status_code=201,
    operation_id="CreateEventSubscriptions",
    tags=["Event Subscriptions"],
    summary="Create an Event Subscription",
    response_model=OBEventSubscriptionResponse1,
    response_model_exclude_none=True,
    responses={**ob_error_responses(400, 401, 403, 405, 406, 415, 500), **CONFLICT},
)
async def create_event_subscription(
    body: OBEventSubscription1,
    client: EventsClient,
    uow: UnitOfWorkDep,
    policy: CallbackPolicyDep,
    request: Request,
    jws_signature: SignedRequest,
) -> OBEventSubscriptionResponse1:
    del jws_signature  # verified by its dependency before the route runs
    subscription = await service.create_subscription(uow, client.client_id, body.Data, policy)
    url = public_url(request, f"{request.url.path.rstrip('/')}/{subscription.id}")
    return OBEventSubscriptionResponse1.of(subscription, url)


@router.get(
    EVENT_SUBSCRIPTIONS,
    operation_id="GetEventSubscriptions",
    tags=["Event Subscriptions"],
    summary="Get an Event Subscription",
    response_model=OBEventSubscriptionsResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_event_subscriptions(
    client: EventsClient, session: ReadSessionDep, self_url: SelfUrlDep
) -> OBEventSubscriptionsResponse1:
    subscriptions = await service.list_subscriptions(session, client.client_id)
    return OBEventSubscriptionsResponse1(
        Data=EventSubscriptionsData(EventSubscription=[EventSubscriptionResponseData.of(s) for s in subscriptions]),
        Links=envelope.Links(Self=self_url),
    )


@router.put(
    EVENT_SUBSCRIPTIONS + "/{EventSubscriptionId}",
    operation_id="ChangeEventSubscriptionsEventSubscriptionId",
    tags=["Event Subscriptions"],
    summary="Update an Event Subscription",
    response_model=OBEventSubscriptionResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def change_event_subscription(
    subscription_id: EventSubscriptionId,
    body: OBEventSubscriptionResponse1,
    client: EventsClient,
    uow: UnitOfWorkDep,
    policy: CallbackPolicyDep,
    self_url: SelfUrlDep,
    jws_signature: SignedRequest,
) -> OBEventSubscriptionResponse1:
    del jws_signature  # verified by its dependency before the route runs
    if body.Data.EventSubscriptionId != subscription_id:
        raise FieldInvalid("must be the EventSubscriptionId of the path", "Data.EventSubscriptionId")
    data = EventSubscriptionData(
        CallbackUrl=body.Data.CallbackUrl, Version=body.Data.Version, EventTypes=body.Data.EventTypes
    )
    subscription = await service.change_subscription(uow, client.client_id, subscription_id, data, policy)
    return OBEventSubscriptionResponse1.of(subscription, self_url)


@router.delete(
    EVENT_SUBSCRIPTIONS + "/{EventSubscriptionId}",
    status_code=204,
    operation_id="DeleteEventSubscriptionsEventSubscriptionId",
    tags=["Event Subscriptions"],
    summary="Delete an Event Subscription",
    response_class=Response,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def delete_event_subscription(
    subscription_id: EventSubscriptionId, client: EventsClient, uow: UnitOfWorkDep
) -> Response:
    await service.delete_subscription(uow, client.client_id, subscription_id)
    return Response(status_code=204)


@router.post(
    EVENTS,
    operation_id="CreateEvents",
    tags=["Events"],
    summary="Poll for, acknowledge and receive event notifications",
    response_model=OBEventPollingResponse1,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def poll_events(
    body: OBEventPolling1, client: EventsClient, uow: UnitOfWorkDep, max_events: MaxEventsDep
) -> OBEventPollingResponse1:
    polled = await service.poll(uow, client.client_id, body, max_events)
    return OBEventPollingResponse1(moreAvailable=polled.more_available, sets=polled.sets)
