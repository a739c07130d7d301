"""Event notifications for TPPs: their one event subscription, the SETs made for them, and polling.

Event Notification Subscription API Profile: a TPP subscribes (a callback URL for real-time notification,
or none for aggregated polling only), names the version and event types, and reads, changes or deletes the
subscription with its client credentials token. Events are made for a TPP only while it is subscribed to
their type; each is a security event token (RFC 8417) signed by the bank, kept until the TPP acknowledges it
(a callback answered 202, or an `ack`/`setErrs` in a poll; RFC 8936 s2.4).
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.facade import EventSigner
from obank.log import get_logger
from obank.outbox.record import Event
from obank.unit_of_work import UnitOfWork
from open_banking.errors import FieldInvalid
from open_banking.events import repository
from open_banking.events.errors import (
    EventSubscriptionExists,
    EventSubscriptionNotFound,
    EventSubscriptionOfAnotherTpp,
)
from open_banking.events.models import EventSubscription
from open_banking.events.resources import VERSION, UpdatedResource, updated_resource
from open_banking.events.schemas import (
    RESOURCE_UPDATE,
    SUPPORTED_EVENT_TYPES,
    SUPPORTED_VERSIONS,
    EventSubscriptionData,
    OBEventPolling1,
    subscription_snapshot,
)

ENTITY = "event_subscription"
# OBEventSubject1.subject_type: the subject is named by the OB resource id and type claims.
SUBJECT_TYPE = "http://openbanking.org.uk/rid_http://openbanking.org.uk/rty"
OB_RID = "http://openbanking.org.uk/rid"
OB_RTY = "http://openbanking.org.uk/rty"
OB_RLK = "http://openbanking.org.uk/rlk"
NOTIFICATION_RESOURCE = "/event-notifications"

# The error codes of RFC 8935 s2.3 (RFC 8936 polling uses the same).
SET_ERROR_CODES = frozenset(
    {"invalid_request", "invalid_key", "invalid_issuer", "invalid_audience", "authentication_failed", "access_denied"}
)
_log = get_logger("open_banking.events")


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """Which callback URLs the bank will POST to: https, and no loopback or private address unless allowed."""

    allow_loopback: bool = False


def _check_callback_url(url: str, policy: CallbackPolicy) -> str:
    """`url` if the bank may call it; 400 naming Data.CallbackUrl otherwise."""
    path = "Data.CallbackUrl"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        raise FieldInvalid("not a valid URL", path) from None
    if parts.scheme != "https" or not host:
        # Event Notification API, "Transport Level Security": TPP hosted endpoints are protected by TLS.
        raise FieldInvalid("must be an absolute https URL", path)
    if parts.username is not None or parts.password is not None:
        raise FieldInvalid("must not carry credentials", path)
    if parts.query or parts.fragment:
        raise FieldInvalid("must have no query or fragment: the bank appends the resource name", path)
    if not policy.allow_loopback and _is_internal(host):
        raise FieldInvalid("must name a public host", path)
    return url


def _is_internal(host: str) -> bool:
    """A host that would have the bank call itself or its own network (SSRF): localhost, private addresses."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def notification_url(callback_url: str) -> str:
    """Where a SET is POSTed: the callback URL "in conjunction with the resource name" (`OBEventSubscription1`
    CallbackUrl), `{CallbackUrl}/event-notifications`; a URL already naming the resource (as OB's examples
    write it) is taken as it is."""
    base = callback_url.rstrip("/")
    return base if base.endswith(NOTIFICATION_RESOURCE) else base + NOTIFICATION_RESOURCE


def _checked(data: EventSubscriptionData, policy: CallbackPolicy) -> tuple[str | None, str, list[str] | None]:
    if data.Version not in SUPPORTED_VERSIONS:
        raise FieldInvalid(f"this bank sends event notifications of version {VERSION} only", "Data.Version")
    if data.EventTypes is not None:
        for index, event_type in enumerate(data.EventTypes):
            if event_type not in SUPPORTED_EVENT_TYPES:
                raise FieldInvalid(f"this bank sends {RESOURCE_UPDATE} only", f"Data.EventTypes[{index}]")
    callback = None if data.CallbackUrl is None else _check_callback_url(data.CallbackUrl, policy)
    return callback, data.Version, None if data.EventTypes is None else list(dict.fromkeys(data.EventTypes))


async def create_subscription(
    uow: UnitOfWork, client_id: str, data: EventSubscriptionData, policy: CallbackPolicy
) -> EventSubscription:
    """The TPP's event subscription; it may have one (409 for another: change it with PUT)."""
    callback, version, event_types = _checked(data, policy)
    created = await repository.add_subscription(
        uow.session,
        subscription_id=str(uuid.uuid4()),
        client_id=client_id,
        callback_url=callback,
        version=version,
        event_types=event_types,
    )
    if created is None:
        existing = await repository.subscription_of_client(uow.session, client_id)
        raise EventSubscriptionExists(existing.id if existing else "")
    uow.audit(
        action="event_subscription.created",
        entity_type=ENTITY,
        entity_id=created.id,
        after=subscription_snapshot(created),
    )
    return created


async def list_subscriptions(session: AsyncSession, client_id: str) -> list[EventSubscription]:
    found = await repository.subscription_of_client(session, client_id)
    return [] if found is None else [found]


async def _own_subscription(session: AsyncSession, client_id: str, subscription_id: str) -> EventSubscription:
    found = await repository.subscription(session, subscription_id, lock=True)
    if found is None:
        raise EventSubscriptionNotFound
    if found.client_id != client_id:
        raise EventSubscriptionOfAnotherTpp
    return found


async def change_subscription(
    uow: UnitOfWork, client_id: str, subscription_id: str, data: EventSubscriptionData, policy: CallbackPolicy
) -> EventSubscription:
    """Replace the subscription's callback URL, version and event types (PUT: what is absent is removed)."""
    subscription = await _own_subscription(uow.session, client_id, subscription_id)
    callback, version, event_types = _checked(data, policy)
    before = subscription_snapshot(subscription)
    subscription.callback_url = callback
    subscription.version = version
    subscription.event_types = event_types
    subscription.updated_at = datetime.now(UTC)
    await uow.session.flush()
    if callback is None:
        await repository.stop_callbacks(uow.session, client_id)
    after = subscription_snapshot(subscription)
    if after != before:
        uow.audit(
            action="event_subscription.changed",
            entity_type=ENTITY,
            entity_id=subscription.id,
            before=before,
            after=after,
        )
    return subscription


async def delete_subscription(uow: UnitOfWork, client_id: str, subscription_id: str) -> None:
    """Unsubscribe: no more SETs are made; those made stay for polling until acknowledged."""
    subscription = await _own_subscription(uow.session, client_id, subscription_id)
    before = subscription_snapshot(subscription)
    await repository.delete_subscription(uow.session, subscription)
    await repository.stop_callbacks(uow.session, client_id)
    uow.audit(action="event_subscription.deleted", entity_type=ENTITY, entity_id=subscription.id, before=before)


@dataclass(frozen=True, slots=True)
class PolledEvents:
    sets: dict[str, str]
    more_available: bool


async def poll(uow: UnitOfWork, client_id: str, request: OBEventPolling1, max_events: int) -> PolledEvents:
    """Acknowledge what the TPP acknowledged, then answer its awaiting SETs, oldest first (RFC 8936 s2.4).

    `returnImmediately: false` allows long polling; this bank always answers at once, which the RFC permits.
    """
    acknowledged = await repository.acknowledge(uow.session, client_id, request.ack or [])
    for jti, error in (request.setErrs or {}).items():
        if await repository.acknowledge(uow.session, client_id, [jti], error=error.err):
            # The description and any code of the TPP's own are free text: kept out of the logs with everything else
            # it sent; a code RFC 8935 s2.3 defines is logged as such.
            code = error.err if error.err in SET_ERROR_CODES else "other"
            _log.warning("tpp_event_negatively_acknowledged", client_id=client_id, jti=jti, err=code)
    if acknowledged:
        _log.info("tpp_events_acknowledged", client_id=client_id, count=len(acknowledged))
    wanted = max_events if request.maxEvents is None else min(request.maxEvents, max_events)
    awaiting = await repository.awaiting(uow.session, client_id, wanted + 1)
    returned = awaiting[:wanted]
    return PolledEvents({event.jti: event.set_jwt for event in returned}, len(awaiting) > wanted)


# Making SETs ---------------------------------------------------------------------------------------------


def set_claims(
    resource: UpdatedResource, *, issuer: str, jti: str, txn: str, time_of_event: int, issued_at: int
) -> dict[str, Any]:
    """An `OBEventNotification1` resource-update SET for the TPP owning `resource` (RFC 8417 s2.2)."""
    link = issuer + resource.path
    return {
        "iss": issuer,
        "iat": issued_at,
        "jti": jti,
        "aud": resource.client_id,
        "sub": link,
        "txn": txn,
        "toe": time_of_event,
        "events": {
            RESOURCE_UPDATE: {
                "subject": {
                    "subject_type": SUBJECT_TYPE,
                    OB_RID: resource.resource_id,
                    OB_RTY: resource.resource_type,
                    OB_RLK: [{"version": VERSION, "link": link}],
                }
            }
        },
    }


def _subscribed(subscription: EventSubscription | None) -> bool:
    if subscription is None:
        return False
    return subscription.event_types is None or RESOURCE_UPDATE in subscription.event_types


async def record_resource_update(session: AsyncSession, event: Event, signer: EventSigner, issuer: str) -> str | None:
    """The SET of `event` for the TPP whose resource it updated, if that TPP is subscribed; its jti when made."""
    resource = updated_resource(event)
    if resource is None:
        return None
    subscription = await repository.subscription_of_client(session, resource.client_id)
    if not _subscribed(subscription):
        return None
    assert subscription is not None
    jti = str(uuid.uuid4())
    txn = event.correlation_id[:128] if event.correlation_id else str(event.event_id)
    claims = set_claims(
        resource,
        issuer=issuer,
        jti=jti,
        txn=txn,
        time_of_event=int(event.occurred_at.timestamp()),
        issued_at=int(time.time()),
    )
    token = await signer.sign_event(claims)
    made = await repository.add_event(
        session,
        repository.NewTppEvent(
            jti=jti,
            client_id=resource.client_id,
            source_event_id=event.event_id,
            event_type=RESOURCE_UPDATE,
            resource_type=resource.resource_type,
            resource_id=resource.resource_id,
            set_jwt=token,
            callback=subscription.callback_url is not None,
        ),
    )
    if not made:
        return None
    _log.info("tpp_event_made", client_id=resource.client_id, jti=jti, rty=resource.resource_type)
    return jti
