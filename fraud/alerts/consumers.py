"""The alerts' reactions to payment events: flagged payments raise or join alerts; releases and final statuses are
recorded on their links. Each event applies once (`apply_once`), and the outcomes of a payment may arrive before
its flag (a BLOCK's rejection is published with it), in which case they wait for it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from audit.writer import append_audit_records
from fraud.alerts import service
from fraud.alerts.models import CORRELATION_ID_MAX, ENGINE_MAX
from fraud.alerts.schemas import FlaggedPayment, RuleRecord
from fraud.decisions import Recommendation
from obank.actor import Actor
from obank.crypto import KeyRing
from obank.log import get_logger
from obank.outbox.consumers import Consumer
from obank.outbox.record import Event
from obank.topics import PAYMENTS_TOPIC
from obank.unit_of_work import UnitOfWork

ALERTS_CONSUMER = "fraud.alerts"
PAYMENT_FRAUD_FLAGGED = "payment.fraud_flagged"
PAYMENT_RELEASED = "payment.released"
PAYMENT_STATUS_CHANGED = "payment.status_changed"
_ACTOR = Actor.system(ALERTS_CONSUMER)
_log = get_logger("fraud.alerts.consumers")


class MalformedPaymentEvent(ValueError):
    """A payment event lacking what the contract promises (never expected from core banking)."""


def _uuid(payload: dict[str, Any], name: str) -> uuid.UUID:
    return uuid.UUID(str(payload[name]))


def _int(value: Any, name: str) -> int:
    if type(value) is not int:
        raise MalformedPaymentEvent(name)
    return value


def _creditor_account(value: Any) -> str | None:
    account = str(value or "")
    return account if len(account) == 14 and account.isascii() and account.isdigit() else None


def _flagged(event: Event) -> FlaggedPayment:
    payload = event.payload
    fraud = payload["fraud"]
    if not isinstance(fraud, dict):
        raise MalformedPaymentEvent("fraud")
    score = _int(fraud["score"], "score")
    if not 0 <= score <= 100:
        raise MalformedPaymentEvent("score")
    amount = _int(payload["amount_minor"], "amount_minor")
    if amount <= 0:
        raise MalformedPaymentEvent("amount_minor")
    rules = tuple(RuleRecord(str(hit["rule"]), _int(hit["contribution"], "contribution")) for hit in fraud["rules"])
    reason = payload.get("reason")
    return FlaggedPayment(
        payment_id=_uuid(payload, "payment_id"),
        customer_id=_uuid(payload, "customer_id"),
        amount_minor=amount,
        currency=str(payload["currency"])[:3],
        creditor_account=_creditor_account(payload.get("creditor_account")),
        status=str(payload.get("status") or ""),
        reason=None if reason is None else str(reason)[:4],
        score=score,
        recommendation=Recommendation(fraud["recommendation"]),
        rules=rules,
        engine=str(fraud.get("engine") or "")[:ENGINE_MAX],
        correlation_id=event.correlation_id[:CORRELATION_ID_MAX],
        occurred_at=event.occurred_at,
    )


@dataclass(frozen=True, slots=True)
class _Release:
    payment_id: uuid.UUID
    released_by: service.Released
    at: datetime


@dataclass(frozen=True, slots=True)
class _Outcome:
    payment_id: uuid.UUID
    status: str
    reason: str | None
    at: datetime


def parse_payment_event(event: Event) -> FlaggedPayment | _Release | _Outcome | None:
    """What a payment event tells the alerts, or None if nothing (raises on a payload breaking the contract)."""
    payload = event.payload
    if event.event_type == PAYMENT_FRAUD_FLAGGED:
        return _flagged(event)
    if event.event_type == PAYMENT_RELEASED:
        released_by = payload["released_by"]
        if released_by == "customer" or released_by == "staff":
            return _Release(_uuid(payload, "payment_id"), released_by, event.occurred_at)
        raise MalformedPaymentEvent("released_by")
    if event.event_type == PAYMENT_STATUS_CHANGED:
        reason = payload.get("reason")
        status = str(payload.get("status") or "")
        return _Outcome(
            _uuid(payload, "payment_id"), status, None if reason is None else str(reason)[:4], event.occurred_at
        )
    return None


async def apply_payment_event(uow: UnitOfWork, fact: FlaggedPayment | _Release | _Outcome) -> None:
    """Apply what one payment event told to the alerts, in the caller's unit of work."""
    if isinstance(fact, FlaggedPayment):
        await service.raise_alert(uow, fact)
    elif isinstance(fact, _Release):
        await service.record_release(uow, fact.payment_id, fact.released_by, fact.at)
    else:
        await service.record_payment_outcome(uow, fact.payment_id, fact.status, fact.reason, fact.at)


def alerts_consumer(keyring: KeyRing) -> Consumer:
    """`fraud.alerts` on core banking's payments: raise or extend alerts, note releases, record final statuses."""

    async def apply(session: AsyncSession, event: Event) -> None:
        try:
            fact = parse_payment_event(event)
        except (MalformedPaymentEvent, KeyError, TypeError, ValueError) as exc:
            # Retrying cannot mend the event: skip it, naming it (never its values).
            _log.warning(
                "malformed_payment_event",
                event_id=str(event.event_id),
                event_type=event.event_type,
                error=type(exc).__name__,
            )
            return
        if fact is None:
            return
        # The consumer's own transaction (apply_once commits it), reporting like any other unit of work.
        uow = UnitOfWork(session, keyring, _ACTOR, append_audit_records)
        await apply_payment_event(uow, fact)
        await uow.write_reports()

    return Consumer(name=ALERTS_CONSUMER, topics=(PAYMENTS_TOPIC,), handler=apply)
