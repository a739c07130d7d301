"""Events and payment facts as the fraud features read them, for the fraud engine's tests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fraud.decisions import PaymentFacts
from obank.outbox.record import Event
from obank.topics import PAYMENTS_TOPIC

PAYEES_TOPIC = "core_banking.payees"
TRANSFERS_TOPIC = "core_banking.transfers"
SECURITY_TOPIC = "auth_server.security"


def creditor(n: int = 1) -> str:
    """A 14-digit creditor account (sort code + account number)."""
    return f"200000{10_000_000 + n:08d}"


def facts(
    customer_id: uuid.UUID,
    amount_minor: int,
    at: datetime,
    *,
    creditor_account: str | None = None,
    payee_id: uuid.UUID | None = None,
    session_id: str | None = None,
    payment_id: uuid.UUID | None = None,
) -> PaymentFacts:
    account = creditor_account or creditor()
    return PaymentFacts(
        payment_id=payment_id or uuid.uuid4(),
        customer_id=customer_id,
        debtor_account_id=uuid.uuid4(),
        amount_minor=amount_minor,
        currency="GBP",
        creditor_identification=account,
        external=True,
        client_id=None,
        created_at=at,
        creditor_account=account,
        payee_id=payee_id,
        session_id=session_id,
    )


def payment_payload(payment: PaymentFacts, status: str, reason: str | None = None) -> dict[str, Any]:
    """The payment snapshot core_banking publishes."""
    return {
        "payment_id": str(payment.payment_id),
        "origin": "CUSTOMER",
        "route": "FASTER_PAYMENTS",
        "customer_id": str(payment.customer_id),
        "debtor_account_id": str(payment.debtor_account_id),
        "creditor_account_id": None,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "status": status,
        "reason": reason,
        "consent_id": None,
        "client_id": payment.client_id,
        "payee_id": None if payment.payee_id is None else str(payment.payee_id),
        "creditor_account": payment.creditor_account,
        "session_id": payment.session_id,
        "created_at": payment.created_at.isoformat(),
    }


def event(topic: str, event_type: str, key: str, payload: dict[str, Any], at: datetime) -> Event:
    return Event(uuid.uuid4(), topic, event_type, key, payload, str(uuid.uuid4()), at)


def submitted(payment: PaymentFacts) -> Event:
    return event(
        PAYMENTS_TOPIC,
        "payment.submitted",
        str(payment.payment_id),
        payment_payload(payment, "PDNG"),
        payment.created_at,
    )


def held(payment: PaymentFacts) -> Event:
    return event(
        PAYMENTS_TOPIC, "payment.held", str(payment.payment_id), payment_payload(payment, "PDNG"), payment.created_at
    )


def settled(payment: PaymentFacts, at: datetime | None = None) -> Event:
    return event(
        PAYMENTS_TOPIC,
        "payment.status_changed",
        str(payment.payment_id),
        payment_payload(payment, "ACSC"),
        at or payment.created_at,
    )


def rejected(payment: PaymentFacts, reason: str = "FRAD") -> Event:
    return event(
        PAYMENTS_TOPIC,
        "payment.status_changed",
        str(payment.payment_id),
        payment_payload(payment, "RJCT", reason),
        payment.created_at,
    )


def payee_added(customer_id: uuid.UUID, payee_id: uuid.UUID, at: datetime, cooling_off_until: datetime) -> Event:
    payload = {
        "payee_id": str(payee_id),
        "customer_id": str(customer_id),
        "cooling_off_until": cooling_off_until.isoformat(),
        "created_at": at.isoformat(),
    }
    return event(PAYEES_TOPIC, "payee.added", str(payee_id), payload, at)


def transfer(customer_id: uuid.UUID, amount_minor: int, at: datetime, creditor_account: str, *, own: bool) -> Event:
    transfer_id = str(uuid.uuid4())
    payload = {
        "transfer_id": transfer_id,
        "customer_id": str(customer_id),
        "source_account_id": str(uuid.uuid4()),
        "destination_account_id": str(uuid.uuid4()),
        "amount_minor": amount_minor,
        "currency": "GBP",
        "created_at": at.isoformat(),
        "creditor_account": creditor_account,
        "own_account": own,
    }
    return event(TRANSFERS_TOPIC, "transfer.completed", transfer_id, payload, at)


def security(action: str, customer_id: uuid.UUID | None, at: datetime, **details: Any) -> Event:
    payload = {
        "action": action,
        "actor_kind": "customer" if customer_id else "staff",
        "actor_id": str(customer_id or "staff-1"),
        "entity_type": "identity",
        "entity_id": str(uuid.uuid4()),
        "ip_hash": None,
        "customer_id": None if customer_id is None else str(customer_id),
        **details,
    }
    return event(SECURITY_TOPIC, action, payload["entity_id"], payload, at)


def signed_in(
    customer_id: uuid.UUID | None, at: datetime, *, session_id: str, country: str | None, device_hash: str | None
) -> Event:
    return security("login.succeeded", customer_id, at, session_id=session_id, country=country, device_hash=device_hash)
