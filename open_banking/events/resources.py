"""Which Open Banking resource an outbox event updated, and for which TPP: the subject of a resource-update SET.

Only what a TPP created or was granted is told, and only to that TPP: its domestic payments' status changes,
its scheduled payments' and standing orders' changes, and its consents authorised, rejected, revoked or
expired. Events of customers' own payments, and consents' creation (the TPP's own act), are not.
"""

from __future__ import annotations

from dataclasses import dataclass

from obank.outbox.record import Event
from obank.topics import (
    CONSENT_AUTHORISED,
    CONSENT_EXPIRED,
    CONSENT_REJECTED,
    CONSENT_REVOKED,
    CONSENTS_TOPIC,
    PAYMENTS_TOPIC,
)

# The API version resources are served at: `open_banking.families.VERSION` (not imported: the families module
# imports every router, this one's among them).
VERSION = "v4.0"
PAYMENT_ORDERS_TOPIC = "core_banking.payment_orders"  # core_banking.payment_orders.service.TOPIC
PAYMENT_STATUS_CHANGED = "payment.status_changed"
# What happens to a scheduled payment or standing order after the TPP set it up.
PAYMENT_ORDER_CHANGES = frozenset(
    {
        "payment_order.ran",
        "payment_order.run_failed",
        "payment_order.paused",
        "payment_order.resumed",
        "payment_order.amended",
        "payment_order.cancelled",
        "payment_order.completed",
    }
)
CONSENT_CHANGES = frozenset({CONSENT_AUTHORISED, CONSENT_REJECTED, CONSENT_REVOKED, CONSENT_EXPIRED})
# Consent kind (core banking) → the OB resource type (`rty`) and its path under /open-banking/<version>.
CONSENT_RESOURCES = {
    "ACCOUNT_ACCESS": ("account-access-consent", "aisp/account-access-consents"),
    "FUNDS_CONFIRMATION": ("funds-confirmation-consent", "cbpii/funds-confirmation-consents"),
    "DOMESTIC_PAYMENT": ("domestic-payment-consent", "pisp/domestic-payment-consents"),
    "DOMESTIC_SCHEDULED_PAYMENT": ("domestic-scheduled-payment-consent", "pisp/domestic-scheduled-payment-consents"),
    "DOMESTIC_STANDING_ORDER": ("domestic-standing-order-consent", "pisp/domestic-standing-order-consents"),
}
ORDER_RESOURCES = {
    "SCHEDULED": ("domestic-scheduled-payment", "pisp/domestic-scheduled-payments"),
    "STANDING_ORDER": ("domestic-standing-order", "pisp/domestic-standing-orders"),
}
TOPICS = (PAYMENTS_TOPIC, PAYMENT_ORDERS_TOPIC, CONSENTS_TOPIC)


@dataclass(frozen=True, slots=True)
class UpdatedResource:
    """A TPP's resource that changed: its OB type, id, and path under the bank's public address."""

    client_id: str
    resource_type: str
    resource_id: str
    path: str


def _text(payload: dict[str, object], name: str) -> str | None:
    value = payload.get(name)
    return value if isinstance(value, str) and value else None


def _resource(client_id: str, kind: tuple[str, str], resource_id: str) -> UpdatedResource:
    resource_type, collection = kind
    return UpdatedResource(client_id, resource_type, resource_id, f"/open-banking/{VERSION}/{collection}/{resource_id}")


def updated_resource(event: Event) -> UpdatedResource | None:
    """The TPP resource `event` updated, or None if it concerns none."""
    payload = event.payload
    client_id = _text(payload, "client_id")
    if client_id is None:
        return None
    if event.topic == PAYMENTS_TOPIC and event.event_type == PAYMENT_STATUS_CHANGED:
        payment_id = _text(payload, "payment_id")
        # A domestic payment is made under its consent; a payment order's runs carry none (their order's
        # own events tell the TPP of them).
        if payment_id is None or _text(payload, "consent_id") is None:
            return None
        return _resource(client_id, ("domestic-payment", "pisp/domestic-payments"), payment_id)
    if event.topic == PAYMENT_ORDERS_TOPIC and event.event_type in PAYMENT_ORDER_CHANGES:
        order_id, kind = _text(payload, "order_id"), _text(payload, "kind")
        if order_id is None or kind not in ORDER_RESOURCES:
            return None
        return _resource(client_id, ORDER_RESOURCES[kind], order_id)
    if event.topic == CONSENTS_TOPIC and event.event_type in CONSENT_CHANGES:
        consent_id, kind = _text(payload, "consent_id"), _text(payload, "kind")
        if consent_id is None or kind not in CONSENT_RESOURCES:
            return None
        return _resource(client_id, CONSENT_RESOURCES[kind], consent_id)
    return None
