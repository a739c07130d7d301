"""Shapes of the Event Notification Subscription and Aggregated Polling APIs (OB v4.0.1 "Events API
Specification - ASPSP Endpoints"), and of the security event token (`OBEventNotification1` of
event-notifications-openapi.json).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from open_banking import schemas as envelope
from open_banking.events.models import EventSubscription

# OBEvent1 of the v4.0 Event Notification API names this one event type, and no other (additionalProperties:
# false): payment status changes and consents authorised, rejected, revoked or expired are all updates of
# their resource. v3.1's `urn:uk:org:openbanking:events:consent-authorization-revoked` is gone from v4.0.
RESOURCE_UPDATE = "urn:uk:org:openbanking:events:resource-update"
SUPPORTED_EVENT_TYPES = frozenset({RESOURCE_UPDATE})
# `Version` (Max10Text) of the event notifications the TPP takes: the v4.0 shape, written with or without `v`.
SUPPORTED_VERSIONS = frozenset({"4.0", "v4.0"})
MAX_EVENT_TYPES = 16
MAX_ACKNOWLEDGEMENTS = 1000
INT32_MAX = 2**31 - 1

EventType = Annotated[str, StringConstraints(min_length=1, max_length=128)]
SubscriptionId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Jti = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class EventSubscriptionData(BaseModel):
    """What a TPP subscribes to: its callback base URL (none: polling only), the version, the event types."""

    model_config = ConfigDict(extra="forbid")

    CallbackUrl: str | None = Field(default=None, min_length=1, max_length=1024)
    Version: str = Field(min_length=1, max_length=10)
    EventTypes: list[EventType] | None = Field(default=None, max_length=MAX_EVENT_TYPES)


class OBEventSubscription1(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: EventSubscriptionData


class EventSubscriptionResponseData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    EventSubscriptionId: SubscriptionId
    CallbackUrl: str | None = Field(default=None, min_length=1, max_length=1024)
    Version: str = Field(min_length=1, max_length=10)
    EventTypes: list[EventType] | None = Field(default=None, max_length=MAX_EVENT_TYPES)

    @classmethod
    def of(cls, subscription: EventSubscription) -> EventSubscriptionResponseData:
        return cls(
            EventSubscriptionId=subscription.id,
            CallbackUrl=subscription.callback_url,
            Version=subscription.version,
            EventTypes=None if subscription.event_types is None else list(subscription.event_types),
        )


class OBEventSubscriptionResponse1(BaseModel):
    """An event subscription as the TPP reads it; PUT takes the same shape (the spec's request of PUT)."""

    model_config = ConfigDict(extra="forbid")

    Data: EventSubscriptionResponseData
    Links: envelope.Links | None = None
    Meta: envelope.Meta | None = None

    @classmethod
    def of(cls, subscription: EventSubscription, self_url: str) -> OBEventSubscriptionResponse1:
        return cls(
            Data=EventSubscriptionResponseData.of(subscription),
            Links=envelope.Links(Self=self_url),
            Meta=envelope.Meta(),
        )


class EventSubscriptionsData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    EventSubscription: list[EventSubscriptionResponseData]


class OBEventSubscriptionsResponse1(BaseModel):
    """The TPP's event subscriptions (this bank keeps one per TPP)."""

    model_config = ConfigDict(extra="forbid")

    Data: EventSubscriptionsData
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)


class SetError(BaseModel):
    """A negative acknowledgement (RFC 8936 s2.4.4): an RFC 8935 s2.3 error code and what went wrong."""

    model_config = ConfigDict(extra="forbid")

    err: str = Field(min_length=1, max_length=40)
    description: str = Field(min_length=1, max_length=256)


class OBEventPolling1(BaseModel):
    """A poll (RFC 8936 s2.4): how many SETs to return, and the TPP's acknowledgements, positive and negative."""

    model_config = ConfigDict(extra="forbid")

    maxEvents: int | None = Field(default=None, ge=0, le=INT32_MAX)
    returnImmediately: bool | None = None
    ack: list[Jti] | None = Field(default=None, max_length=MAX_ACKNOWLEDGEMENTS)
    setErrs: dict[Jti, SetError] | None = Field(default=None, max_length=MAX_ACKNOWLEDGEMENTS)


class OBEventPollingResponse1(BaseModel):
    """The SETs awaiting acknowledgement, oldest first, by jti; `moreAvailable` when some were left out."""

    model_config = ConfigDict(extra="forbid")

    moreAvailable: bool
    sets: dict[str, str]


def subscription_snapshot(subscription: EventSubscription) -> dict[str, Any]:
    """The audit record's view of a subscription: ids, URL, version and types (a TPP's, no personal data)."""
    return {
        "event_subscription_id": subscription.id,
        "client_id": subscription.client_id,
        "callback_url": subscription.callback_url,
        "version": subscription.version,
        "event_types": None if subscription.event_types is None else list(subscription.event_types),
    }
