"""The analysts' staff API under /admin/v1/fraud: alerts (list, read, claim, note, resolve), payments held for
review (release, reject) and the mule list. Fraud analysts only; every change audited."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from fraud.alerts import service
from fraud.alerts.models import STAFF_ID_MAX, AlertStatus
from fraud.alerts.schemas import (
    ALERTS_LIMIT,
    ALERTS_MAX,
    MULES_LIMIT,
    MULES_MAX,
    AlertDetailRead,
    AlertFilters,
    AlertRead,
    AlertResolve,
    CreditorAccount,
    MuleAccountCreate,
    MuleAccountListed,
    MuleAccountRead,
    NoteCreate,
    NoteRead,
    PaymentDecisionRead,
)
from fraud.dependencies import CoreBankingDep, FraudAnalyst, SettingsDep, UnitOfWorkDep
from obank.database import SessionDep
from obank.inputs import BoundedDateTime
from obank.problems import problem_responses
from obank.runtime import KeyRingDep

PREFIX = "/admin/v1/fraud"

router = APIRouter(
    prefix=PREFIX,
    tags=["admin: fraud"],
    responses=problem_responses(
        (
            (401, "No valid principal assertion"),
            (403, "The principal is not a fraud analyst"),
            (422, "Invalid request, naming the field"),
        )
    ),
)

_NOT_FOUND = problem_responses(((404, "No such alert"),))
_CONFLICT = problem_responses(((409, "The alert's status or assignee does not allow this"),))
_PAYMENT = problem_responses(((404, "No such payment"), (409, "The payment is not held for review")))
_MULE_NOT_FOUND = problem_responses(((404, "The account is not on the mule list"),))

AlertId = Annotated[uuid.UUID, Path(description="The alert's id")]
PaymentId = Annotated[uuid.UUID, Path(description="The held payment's id")]
MuleAccount = Annotated[CreditorAccount, Path(description="Sort code and account number, 14 digits")]


@router.get("/alerts")
async def list_alerts(
    _analyst: FraudAnalyst,
    session: SessionDep,
    status: Annotated[AlertStatus | None, Query(description="Only alerts in this state")] = None,
    assigned_to: Annotated[
        str | None, Query(min_length=1, max_length=STAFF_ID_MAX, description="Only alerts this analyst investigates")
    ] = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Only this customer's alerts")] = None,
    created_from: Annotated[BoundedDateTime | None, Query(description="Raised at or after this instant")] = None,
    created_to: Annotated[BoundedDateTime | None, Query(description="Raised before this instant")] = None,
    limit: Annotated[int, Query(ge=1, le=ALERTS_MAX, description="How many alerts, newest first")] = ALERTS_LIMIT,
    before: Annotated[uuid.UUID | None, Query(description="Only alerts older than this one (the next page)")] = None,
) -> list[AlertRead]:
    """Alerts newest first, filtered by status, analyst, customer and when they were raised."""
    filters = AlertFilters(status, assigned_to, customer_id, created_from, created_to, before, limit)
    return [AlertRead.from_record(record) for record in await service.list_alerts(session, filters)]


@router.get("/alerts/{alert_id}", responses=_NOT_FOUND)
async def get_alert(
    alert_id: AlertId, _analyst: FraudAnalyst, session: SessionDep, keyring: KeyRingDep
) -> AlertDetailRead:
    """An alert with its payments and its notes."""
    return AlertDetailRead.from_detail(await service.get_alert(session, keyring, alert_id))


@router.post("/alerts/{alert_id}/claim", responses={**_NOT_FOUND, **_CONFLICT})
async def claim_alert(
    alert_id: AlertId,
    analyst: FraudAnalyst,
    uow: UnitOfWorkDep,
    force: Annotated[bool, Query(description="Take over an alert another analyst investigates")] = False,
) -> AlertRead:
    """Investigate an alert (OPEN → INVESTIGATING, assigned to the caller); 409 if resolved or someone else's."""
    return AlertRead.from_record(await service.claim_alert(uow, alert_id, analyst.subject, force=force))


@router.post("/alerts/{alert_id}/notes", status_code=201, responses=_NOT_FOUND)
async def add_note(alert_id: AlertId, body: NoteCreate, analyst: FraudAnalyst, uow: UnitOfWorkDep) -> NoteRead:
    """Add a note to an alert (kept sealed)."""
    note = await service.add_note(uow, alert_id, analyst.subject, body.text)
    return NoteRead(id=note.id, author=note.author, text=note.text, created_at=note.created_at)


@router.post("/alerts/{alert_id}/resolve", responses={**_NOT_FOUND, **_CONFLICT})
async def resolve_alert(
    alert_id: AlertId, body: AlertResolve, analyst: FraudAnalyst, uow: UnitOfWorkDep, settings: SettingsDep
) -> AlertRead:
    """End the caller's investigation: FRAUD lists the payees' accounts as mules, FALSE_POSITIVE allow-lists them
    for the customer (`OBANK_FRAUD_FALSE_POSITIVE_ALLOW_DAYS`)."""
    allow_for = timedelta(days=settings.fraud_false_positive_allow_days)
    record = await service.resolve_alert(uow, alert_id, analyst.subject, body.outcome, body.note, allow_for=allow_for)
    return AlertRead.from_record(record)


@router.post("/payments/{payment_id}/release", responses=_PAYMENT)
async def release_payment(
    payment_id: PaymentId, analyst: FraudAnalyst, uow: UnitOfWorkDep, core_banking: CoreBankingDep
) -> PaymentDecisionRead:
    """Release a payment held for review: it goes on to be sent. Releasing it again answers the same."""
    payment = await core_banking.release_reviewed_payment(payment_id, staff_id=analyst.subject)
    alert_id = await service.note_payment_decision(uow, payment_id, analyst.subject, "released")
    return PaymentDecisionRead(
        payment_id=payment.id, decision="released", status=str(payment.status), reason=payment.reason, alert_id=alert_id
    )


@router.post("/payments/{payment_id}/reject", responses=_PAYMENT)
async def reject_payment(
    payment_id: PaymentId, analyst: FraudAnalyst, uow: UnitOfWorkDep, core_banking: CoreBankingDep
) -> PaymentDecisionRead:
    """Reject a payment held for review (its funds are released to the customer). Rejecting it again answers the
    same."""
    payment = await core_banking.reject_reviewed_payment(payment_id, staff_id=analyst.subject)
    alert_id = await service.note_payment_decision(uow, payment_id, analyst.subject, "rejected")
    return PaymentDecisionRead(
        payment_id=payment.id, decision="rejected", status=str(payment.status), reason=payment.reason, alert_id=alert_id
    )


@router.get("/mule-accounts")
async def list_mule_accounts(
    _analyst: FraudAnalyst,
    session: SessionDep,
    keyring: KeyRingDep,
    limit: Annotated[int, Query(ge=1, le=MULES_MAX, description="How many accounts, in account order")] = MULES_LIMIT,
    after: Annotated[CreditorAccount | None, Query(description="Only accounts after this one (the next page)")] = None,
) -> list[MuleAccountRead]:
    """The mule list in account order: payments to these accounts are blocked."""
    records = await service.list_mule_accounts(session, keyring, limit=limit, after=after)
    return [MuleAccountRead.from_record(record) for record in records]


@router.post("/mule-accounts", status_code=201, responses={200: {"description": "Already on the mule list"}})
async def add_mule_account(
    body: MuleAccountCreate, _analyst: FraudAnalyst, uow: UnitOfWorkDep, response: Response
) -> MuleAccountListed:
    """Put an account on the mule list (payments to it are then blocked): 201 when listed now, 200 when it was
    already (its first listing stands)."""
    listed_now = await service.mark_mule_account(uow, body.creditor_account, body.reason)
    if not listed_now:
        response.status_code = 200
    return MuleAccountListed(creditor_account=body.creditor_account, listed_now=listed_now)


@router.delete("/mule-accounts/{creditor_account}", status_code=204, responses=_MULE_NOT_FOUND)
async def remove_mule_account(creditor_account: MuleAccount, _analyst: FraudAnalyst, uow: UnitOfWorkDep) -> Response:
    """Take an account off the mule list."""
    await service.unmark_mule_account(uow, creditor_account)
    return Response(status_code=204)
