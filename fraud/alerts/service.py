"""Fraud alerts: raised from flagged payments, claimed, noted and resolved by analysts.

A customer has at most one unresolved alert (OPEN or INVESTIGATING); a payment of theirs flagged while it is
unresolved joins it rather than raising a second one, so an analyst sees a customer's whole episode in one case.
Resolving it as FRAUD puts the payees' accounts on the mule list; as FALSE_POSITIVE it allow-lists the customer's
payees for a while. Every change is audited and published on `fraud.alerts` in the caller's unit of work; notes are
sealed to their row and appear in no event, audit record or log.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from fraud.alerts import repository
from fraud.alerts.errors import AlertClaimedByAnother, AlertNotFound, IllegalAlertTransition, MuleAccountNotFound
from fraud.alerts.models import (
    SYSTEM_AUTHOR,
    UNRESOLVED,
    AlertNote,
    AlertOutcome,
    AlertPayment,
    AlertStatus,
    FraudAlert,
)
from fraud.alerts.schemas import (
    AlertDetail,
    AlertFilters,
    AlertPaymentRecord,
    AlertRecord,
    FlaggedPayment,
    NoteRecord,
    RuleRecord,
)
from fraud.decisions import Recommendation
from fraud.errors import FieldError
from fraud.features import service as features
from fraud.features.schemas import MuleRecord
from obank.crypto import KeyRing, seal, unseal
from obank.unit_of_work import UnitOfWork

TOPIC = "fraud.alerts"
ENTITY = "fraud_alert"
# Purpose a note's text is sealed to (with the note's id).
_NOTE_TEXT = "fraud.alert_note.text"
CUSTOMER_CONFIRMED_NOTE = "the customer confirmed the payment with strong authentication"
# Final ISO 20022 statuses of a payment.
FINAL_STATUSES = frozenset({"ACSC", "RJCT"})
# A payment rejected by the fraud checks (BLOCK): its rejection may be published before its flag.
FRAUD_REJECTION = "FRAD"
_STRENGTH = {
    Recommendation.APPROVE: 0,
    Recommendation.MONITOR: 1,
    Recommendation.REVIEW: 2,
    Recommendation.BLOCK: 3,
}
Released = Literal["customer", "staff"]


def _report(
    uow: UnitOfWork, action: str, alert: AlertRecord, before: dict[str, Any] | None = None, **extra: Any
) -> None:
    """The audit record and the event of one change to an alert, in the caller's transaction."""
    after = {**alert.snapshot(), **extra}
    uow.audit(action=action, entity_type=ENTITY, entity_id=str(alert.id), before=before, after=after)
    uow.publish(topic=TOPIC, event_type=action, key=str(alert.id), payload=after)


def _merged_rules(*rule_sets: tuple[RuleRecord, ...]) -> list[dict[str, Any]]:
    """Every rule that fired, at its largest contribution, strongest first."""
    strongest: dict[str, int] = {}
    for rules in rule_sets:
        for hit in rules:
            strongest[hit.rule] = max(hit.contribution, strongest.get(hit.rule, hit.contribution))
    ordered = sorted(strongest.items(), key=lambda item: (-item[1], item[0]))
    return [{"rule": rule, "contribution": contribution} for rule, contribution in ordered]


async def _alert(session: AsyncSession, alert_id: uuid.UUID, *, lock: bool = False) -> FraudAlert:
    alert = await repository.get(session, alert_id, for_update=lock)
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


async def _add_note(uow: UnitOfWork, alert: FraudAlert, author: str, text: str, now: datetime) -> NoteRecord:
    note_id = uuid.uuid4()
    row = AlertNote(
        id=note_id,
        alert_id=alert.id,
        author=author,
        text_sealed=seal(uow.keyring, note_id, _NOTE_TEXT, text.encode()),
        created_at=now,
    )
    await repository.add_note(uow.session, row)
    _report(uow, "fraud_alert.noted", AlertRecord.from_model(alert), note_id=str(note_id), author=author)
    return NoteRecord(note_id, author, text, now)


# Raised and fed by payment events (the `fraud.alerts` consumer) ------------------------------------------------


async def _unresolved_alert_for(
    session: AsyncSession, flagged: FlaggedPayment, now: datetime
) -> tuple[FraudAlert, bool]:
    """The customer's unresolved alert, locked, raised now from `flagged` if they had none (and whether it was)."""
    values = {
        "customer_id": flagged.customer_id,
        "status": AlertStatus.OPEN.value,
        "score": flagged.score,
        "recommendation": flagged.recommendation.value,
        "rules": _merged_rules(flagged.rules),
        "engine": flagged.engine,
        "correlation_id": flagged.correlation_id,
        "created_at": now,
        "updated_at": now,
    }
    while True:
        raised = await repository.insert_unresolved_unless_any(session, {**values, "id": uuid.uuid4()})
        alert = await repository.unresolved_of_customer(session, flagged.customer_id)
        if alert is not None:
            return alert, raised
        # The alert the insert gave way to was resolved before it could be locked: raise a new one.


async def raise_alert(uow: UnitOfWork, flagged: FlaggedPayment, *, now: datetime | None = None) -> AlertRecord:
    """Raise an alert for a flagged payment, or add it to the customer's unresolved alert; once per payment."""
    now = now or datetime.now(UTC)
    known = await repository.get_link(uow.session, flagged.payment_id)
    if known is not None:
        return AlertRecord.from_model(await _alert(uow.session, known.alert_id))
    alert, raised = await _unresolved_alert_for(uow.session, flagged, now)
    before = None if raised else AlertRecord.from_model(alert).snapshot()
    if not raised:
        current = AlertRecord.from_model(alert)
        alert.score = max(alert.score, flagged.score)
        if _STRENGTH[flagged.recommendation] > _STRENGTH[alert.recommendation]:
            alert.recommendation = flagged.recommendation
        alert.rules = _merged_rules(current.rules, flagged.rules)
        alert.updated_at = now
    early = await repository.take_early_outcome(uow.session, flagged.payment_id)
    final_status, final_reason, settled_at = None, None, None
    if early is not None and early.final_status is not None:
        final_status, final_reason, settled_at = early.final_status, early.final_reason, early.recorded_at
    elif flagged.status in FINAL_STATUSES:
        final_status, final_reason, settled_at = flagged.status, flagged.reason, flagged.occurred_at
    await repository.link_payment(
        uow.session,
        {
            "payment_id": flagged.payment_id,
            "alert_id": alert.id,
            "amount_minor": flagged.amount_minor,
            "currency": flagged.currency,
            "creditor_account": flagged.creditor_account,
            "score": flagged.score,
            "recommendation": flagged.recommendation.value,
            "rules": _merged_rules(flagged.rules),
            "correlation_id": flagged.correlation_id,
            "final_status": final_status,
            "final_reason": final_reason,
            "released_by": None if early is None else early.released_by,
            "linked_at": now,
            "settled_at": settled_at,
        },
    )
    await uow.session.flush()
    record = AlertRecord.from_model(alert)
    _report(
        uow,
        "fraud_alert.raised" if raised else "fraud_alert.payment_linked",
        record,
        before,
        payment_id=str(flagged.payment_id),
    )
    if early is not None and early.released_by == "customer":
        await _add_note(uow, alert, SYSTEM_AUTHOR, CUSTOMER_CONFIRMED_NOTE, now)
    return record


async def record_payment_outcome(
    uow: UnitOfWork, payment_id: uuid.UUID, status: str, reason: str | None, at: datetime
) -> None:
    """Record a flagged payment's final status on its link (kept for later when it precedes the flag)."""
    if status not in FINAL_STATUSES:
        return
    link = await repository.get_link(uow.session, payment_id, for_update=True)
    if link is None:
        if status == "RJCT" and reason == FRAUD_REJECTION:
            values = {"payment_id": payment_id, "final_status": status, "final_reason": reason, "recorded_at": at}
            await repository.record_early_outcome(uow.session, values)
        return
    if link.final_status is not None:
        return  # a final status never changes; a contradicting answer is core banking's reconciliation
    link.final_status, link.final_reason, link.settled_at = status, reason, at
    await uow.session.flush()
    alert = AlertRecord.from_model(await _alert(uow.session, link.alert_id))
    _report(uow, "fraud_alert.payment_settled", alert, payment=AlertPaymentRecord.from_model(link).snapshot())


async def record_release(uow: UnitOfWork, payment_id: uuid.UUID, released_by: Released, at: datetime) -> None:
    """Record who released a held payment; a customer's confirmation with strong authentication is noted."""
    link = await repository.get_link(uow.session, payment_id, for_update=True)
    if link is None:
        values = {"payment_id": payment_id, "released_by": released_by, "recorded_at": at}
        await repository.record_early_outcome(uow.session, values)
        return
    if link.released_by is not None:
        return
    link.released_by = released_by
    await uow.session.flush()
    alert = await _alert(uow.session, link.alert_id)
    record = AlertRecord.from_model(alert)
    _report(uow, "fraud_alert.payment_released", record, payment=AlertPaymentRecord.from_model(link).snapshot())
    if released_by == "customer":
        await _add_note(uow, alert, SYSTEM_AUTHOR, CUSTOMER_CONFIRMED_NOTE, datetime.now(UTC))


# Analysts ---------------------------------------------------------------------------------------------------------


async def list_alerts(session: AsyncSession, filters: AlertFilters) -> list[AlertRecord]:
    """Alerts newest first, filtered; `filters.before` (an alert id) pages back past that alert."""
    anchor = None
    if filters.before is not None:
        before = await repository.get(session, filters.before)
        if before is None:
            raise FieldError("no such alert", field="before")
        anchor = (before.created_at, before.id)
    return [AlertRecord.from_model(row) for row in await repository.list_alerts(session, filters, anchor)]


async def get_alert(session: AsyncSession, keyring: KeyRing, alert_id: uuid.UUID) -> AlertDetail:
    """An alert with its payments and its notes, opened."""
    alert = await _alert(session, alert_id)
    payments = await repository.payments_of(session, alert_id)
    notes = [
        NoteRecord(row.id, row.author, unseal(keyring, row.id, _NOTE_TEXT, row.text_sealed).decode(), row.created_at)
        for row in await repository.notes_of(session, alert_id)
    ]
    return AlertDetail(
        AlertRecord.from_model(alert), tuple(AlertPaymentRecord.from_model(row) for row in payments), tuple(notes)
    )


async def claim_alert(
    uow: UnitOfWork, alert_id: uuid.UUID, staff_id: str, *, force: bool = False, now: datetime | None = None
) -> AlertRecord:
    """Take an alert to investigate (OPEN → INVESTIGATING); another analyst's only with `force`."""
    alert = await _alert(uow.session, alert_id, lock=True)
    if alert.status not in UNRESOLVED:
        raise IllegalAlertTransition(f"the alert is {alert.status.value}; only an unresolved alert can be claimed")
    if alert.status is AlertStatus.INVESTIGATING:
        if alert.assigned_to == staff_id:
            return AlertRecord.from_model(alert)  # claimed already: a repeated claim changes nothing
        if not force:
            raise AlertClaimedByAnother("another analyst is investigating the alert; claim with force=true to take it")
    before = AlertRecord.from_model(alert).snapshot()
    alert.status, alert.assigned_to = AlertStatus.INVESTIGATING, staff_id
    alert.updated_at = now or datetime.now(UTC)
    await uow.session.flush()
    record = AlertRecord.from_model(alert)
    _report(uow, "fraud_alert.claimed", record, before, taken_over=before["assigned_to"] is not None)
    return record


async def add_note(
    uow: UnitOfWork, alert_id: uuid.UUID, author: str, text: str, *, now: datetime | None = None
) -> NoteRecord:
    """An analyst's note on an alert, in whatever state it is (findings may come after it is resolved)."""
    alert = await _alert(uow.session, alert_id, lock=True)
    now = now or datetime.now(UTC)
    alert.updated_at = now
    return await _add_note(uow, alert, author, text, now)


async def resolve_alert(
    uow: UnitOfWork,
    alert_id: uuid.UUID,
    staff_id: str,
    outcome: AlertOutcome,
    note: str,
    *,
    allow_for: timedelta,
    now: datetime | None = None,
) -> AlertRecord:
    """End the investigation of the analyst's own alert: FRAUD lists the payees' accounts as mules; FALSE_POSITIVE
    allow-lists the customer's payees until `allow_for` from now."""
    alert = await _alert(uow.session, alert_id, lock=True)
    if alert.status is AlertStatus.OPEN:
        raise IllegalAlertTransition("claim the alert before resolving it")
    if alert.status is not AlertStatus.INVESTIGATING:
        raise IllegalAlertTransition(f"the alert is already {alert.status.value}")
    if alert.assigned_to != staff_id:
        raise AlertClaimedByAnother("another analyst is investigating the alert; claim it with force=true first")
    now = now or datetime.now(UTC)
    before = AlertRecord.from_model(alert).snapshot()
    accounts = sorted({row.creditor_account for row in await _payments(uow.session, alert.id) if row.creditor_account})
    if outcome is AlertOutcome.FRAUD:
        for account in accounts:
            await features.mark_mule(uow, account, reason=f"fraud confirmed on alert {alert.id}", alert_id=alert.id)
    else:
        for account in accounts:
            await features.allow_creditor(uow, alert.customer_id, account, until=now + allow_for, alert_id=alert.id)
    alert.status = AlertStatus.RESOLVED if outcome is AlertOutcome.FRAUD else AlertStatus.FALSE_POSITIVE
    alert.resolution, alert.resolved_by, alert.resolved_at, alert.updated_at = outcome, staff_id, now, now
    await uow.session.flush()
    await _add_note(uow, alert, staff_id, note, now)
    record = AlertRecord.from_model(alert)
    _report(uow, "fraud_alert.resolved", record, before, creditor_accounts=len(accounts))
    return record


async def _payments(session: AsyncSession, alert_id: uuid.UUID) -> list[AlertPayment]:
    return list(await repository.payments_of(session, alert_id))


async def note_payment_decision(
    uow: UnitOfWork, payment_id: uuid.UUID, staff_id: str, decision: Literal["released", "rejected"]
) -> uuid.UUID | None:
    """Note an analyst's release or rejection of a held payment on its alert, once (core banking answers a repeat
    the same); the alert's id, None if the payment is on no alert."""
    link = await repository.get_link(uow.session, payment_id, for_update=True)
    if link is None:
        return None
    if link.analyst_decision == decision:
        return link.alert_id
    link.analyst_decision = decision
    alert = await _alert(uow.session, link.alert_id, lock=True)
    now = datetime.now(UTC)
    alert.updated_at = now
    await _add_note(uow, alert, staff_id, f"the analyst {decision} payment {payment_id}", now)
    return alert.id


# The mule list (kept by fraud.features) ---------------------------------------------------------------------------


async def list_mule_accounts(
    session: AsyncSession, keyring: KeyRing, *, limit: int, after: str | None
) -> list[MuleRecord]:
    """The mule list in account order from just after `after`, with each listing's reason opened."""
    return await features.list_mules(session, limit=limit, after=after, keyring=keyring)


async def mark_mule_account(uow: UnitOfWork, creditor_account: str, reason: str) -> bool:
    """Put an account on the mule list; True when newly listed."""
    return await features.mark_mule(uow, creditor_account, reason=reason)


async def unmark_mule_account(uow: UnitOfWork, creditor_account: str) -> None:
    """Take an account off the mule list; MuleAccountNotFound when it is not on it."""
    if not await features.unmark_mule(uow, creditor_account):
        raise MuleAccountNotFound()
