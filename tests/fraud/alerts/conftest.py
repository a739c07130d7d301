"""Fixtures for fraud alerts: the fraud app over a fresh database, staff assertions, and payment events applied
through the `fraud.alerts` consumer as the relay would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from fraud.alerts.consumers import alerts_consumer
from fraud.app import create_app
from obank.database import unit_of_work
from obank.outbox.consumers import Consumer, apply_once
from obank.outbox.record import Event
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.runtime import Platform
from obank.topics import PAYMENTS_TOPIC

BASE = "/admin/v1/fraud"
# A payee account (sort code 40-05-15, account 76262352) as the fraud context keys it.
CREDITOR = "40051576262352"
HeadersFor = Callable[..., dict[str, str]]


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fraud") as http:
        yield http


@pytest.fixture
def headers_for(app: FastAPI) -> HeadersFor:
    """Headers carrying a gateway-signed assertion of a principal (staff by default) with `roles`."""

    def make(*roles: str, kind: PrincipalKind = "staff", subject: str = "analyst-1") -> dict[str, str]:
        principal = Principal(
            subject=subject,
            kind=kind,
            interaction_id="00000000-0000-4000-8000-000000000000",
            roles=frozenset(roles),
        )
        return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "fraud")}

    return make


@pytest.fixture
def analyst(headers_for: HeadersFor) -> dict[str, str]:
    return headers_for("fraud_analyst")


@pytest.fixture
def consumer(platform: Platform) -> Consumer:
    return alerts_consumer(platform.keyring)


def payment_snapshot(
    *,
    payment_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    amount_minor: int = 250_000,
    creditor_account: str = CREDITOR,
    status: str = "PDNG",
    reason: str | None = None,
) -> dict[str, Any]:
    """A payment's snapshot as core banking publishes it on `core_banking.payments`."""
    return {
        "payment_id": str(payment_id or uuid.uuid4()),
        "origin": "CUSTOMER",
        "route": "FASTER_PAYMENTS",
        "customer_id": str(customer_id or uuid.uuid4()),
        "debtor_account_id": str(uuid.uuid4()),
        "creditor_account_id": None,
        "amount_minor": amount_minor,
        "currency": "GBP",
        "status": status,
        "reason": reason,
        "consent_id": None,
        "client_id": None,
        "payee_id": None,
        "created_at": datetime.now(UTC).isoformat(),
        "creditor_account": creditor_account,
        "session_id": None,
    }


def payment_event(event_type: str, payload: dict[str, Any], *, correlation_id: str | None = None) -> Event:
    return Event(
        event_id=uuid.uuid4(),
        topic=PAYMENTS_TOPIC,
        event_type=event_type,
        key=str(payload["payment_id"]),
        payload=payload,
        correlation_id=correlation_id or str(uuid.uuid4()),
    )


def flagged_event(
    snapshot: dict[str, Any],
    *,
    score: int = 75,
    recommendation: str = "REVIEW",
    rules: tuple[tuple[str, int], ...] = (("new_payee_large_amount", 40), ("unusual_hour", 35)),
    correlation_id: str | None = None,
) -> Event:
    """`payment.fraud_flagged` as the saga publishes it: the snapshot and the decision."""
    fraud = {
        "score": score,
        "recommendation": recommendation,
        "rules": [{"rule": rule, "contribution": contribution} for rule, contribution in rules],
        "engine": "rules-v1",
    }
    return payment_event("payment.fraud_flagged", {**snapshot, "fraud": fraud}, correlation_id=correlation_id)


Apply = Callable[[Event], Any]


@pytest.fixture
def apply(platform: Platform, consumer: Consumer) -> Apply:
    """Apply one event to the alerts consumer exactly as the relay does (`apply_once`)."""

    async def go(event: Event) -> bool:
        return await apply_once(platform.sessions, consumer, event)

    return go


Raise = Callable[..., Any]


@pytest.fixture
def raise_alert(platform: Platform, apply: Apply) -> Raise:
    """Flag a new payment of `customer_id` (a new customer by default): the alert's id and the payment's."""

    async def go(customer_id: uuid.UUID | None = None, **snapshot: Any) -> tuple[uuid.UUID, uuid.UUID]:
        payment = payment_snapshot(customer_id=customer_id or uuid.uuid4(), **snapshot)
        assert await apply(flagged_event(payment))
        payment_id = uuid.UUID(payment["payment_id"])
        return await alert_of_payment(platform, payment_id), payment_id

    return go


async def alert_of_payment(platform: Platform, payment_id: uuid.UUID) -> uuid.UUID:
    async with unit_of_work(platform.sessions) as session:
        alert_id: uuid.UUID = (
            await session.execute(
                text("SELECT alert_id FROM fraud.alert_payments WHERE payment_id = :p"), {"p": payment_id}
            )
        ).scalar_one()
        return alert_id


async def audit_actions(platform: Platform, entity_id: str) -> list[str]:
    """The audit trail's actions on an entity, oldest first."""
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(
            text("SELECT action FROM audit.audit_records WHERE entity_id = :e ORDER BY occurred_at, chain, sequence"),
            {"e": entity_id},
        )
        return list(rows.scalars())


async def outbox_types(platform: Platform, topic: str, key: str) -> list[str]:
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(
            text("SELECT event_type FROM platform.outbox_events WHERE topic = :t AND key = :k ORDER BY position"),
            {"t": topic, "k": key},
        )
        return list(rows.scalars())
