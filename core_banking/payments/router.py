"""First-party API for payments (scope `payments`): pay someone with an `Idempotency-Key`, follow its status; and
staff's view of a customer's payments (`staff_router`, any staff role)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.dependencies import AccountsReader, AnyStaff, CustomerCaller, PaymentsInitiator
from core_banking.errors import PROBLEM_RESPONSES
from core_banking.idempotency.http import IdempotencyKeyHeader, respond_once
from core_banking.idempotency.service import request_fingerprint
from core_banking.payees import service as payees_service
from core_banking.payments import service
from core_banking.payments.errors import InvalidPayment
from core_banking.payments.schemas import PaymentCreate, PaymentInitiation, PaymentRead, PaymentRecord
from core_banking.step_up import require_strong_authentication
from obank.database import SessionDep
from obank.inputs import BoundedDateTime
from obank.runtime import KeyRingDep
from obank.unit_of_work import UnitOfWork, UnitsDep

router = APIRouter(prefix="/api/v1/payments", tags=["payments"], responses=PROBLEM_RESPONSES)
staff_router = APIRouter(prefix="/admin/v1/customers", tags=["admin: customers"], responses=PROBLEM_RESPONSES)

PaymentsLimit = Annotated[int, Query(ge=1, le=100)]
PaymentsBefore = Annotated[BoundedDateTime | None, Query(description="only payments created before this instant")]

# The service names fields as Open Banking's Initiation does; this API's request names them so.
_FIELDS = {
    "Data.Initiation.CreditorAccount.Identification": "payee",
    "Data.Initiation.CreditorAccount.Name": "payee.name",
    "Data.Initiation.CreditorAccount.SchemeName": "payee",
    "Data.Initiation.InstructedAmount.Amount": "amount_minor",
    "Data.Initiation.InstructedAmount.Currency": "currency",
    "Data.Initiation.RemittanceInformation.Reference": "reference",
}


def _in_this_api(error: InvalidPayment) -> InvalidPayment:
    field = error.field or ""
    return InvalidPayment(error.detail.removeprefix(f"{field}: "), field=_FIELDS.get(field, field))


def policy_of(request: Request) -> service.StepUpPolicy:
    settings = request.app.state.platform.settings
    return service.StepUpPolicy(
        above_minor=settings.payments_step_up_above_minor,
        max_age=timedelta(seconds=settings.payments_step_up_max_age_s),
    )


async def _require_strong_authentication(
    caller: CustomerCaller, initiation: PaymentInitiation, policy: service.StepUpPolicy, session: AsyncSession
) -> None:
    """RFC 9470: a large payment, or one to a new payee, needs password + TOTP signed in at most `max_age` ago.

    Refused before the idempotency key is taken, so the retry after the step-up can use the same key.
    """
    now = datetime.now(UTC)
    try:
        reason = await service.step_up_reason(session, initiation, policy, now)
    except InvalidPayment as error:
        raise _in_this_api(error) from None
    if reason is not None:
        require_strong_authentication(caller, reason, policy.max_age, now=now)


@router.post("", status_code=202, response_model=PaymentRead)
async def make_payment(
    body: PaymentCreate,
    idempotency_key: IdempotencyKeyHeader,
    caller: PaymentsInitiator,
    units: UnitsDep,
    session: SessionDep,
    keyring: KeyRingDep,
    request: Request,
) -> JSONResponse:
    """Pay a payee (given, or saved: `payee_id`) from one of the caller's accounts: 202 with the payment, whose
    status then moves on its own (PDNG → ACSP → ACSC, or RJCT). A retry with the same key replays the first answer.

    A payment above a small amount to a saved payee still in its cooling-off waits (PDNG, `confirm_by` set, funds
    held) until the customer confirms it (`POST .../confirm`, with a fresh strong authentication) or cancels it.
    """
    if (body.payee is None) == (body.payee_id is None):
        raise InvalidPayment("give either payee or payee_id", field="payee")
    saved = None
    if body.payee_id is not None:
        payee = await payees_service.resolve_payee(session, keyring, caller.customer_id, body.payee_id)
        saved = payee.creditor, payee.reference
    initiation = replace(body.initiation(caller.customer_id, saved), session_id=caller.principal.session_id)
    await _require_strong_authentication(caller, initiation, policy_of(request), session)
    cooling_off = service.CoolingOff.from_settings(request.app.state.platform.settings)

    async def pay(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        try:
            record = await service.submit_payment(uow, initiation, cooling_off=cooling_off)
        except InvalidPayment as error:
            raise _in_this_api(error) from None
        return 202, PaymentRead.from_record(record).model_dump(mode="json")

    return await respond_once(
        units,
        caller.actor,
        scope=f"customer:{caller.customer_id}",
        key=idempotency_key,
        fingerprint=request_fingerprint("payment", initiation.fingerprint()),
        operation=pay,
    )


@router.get("")
async def list_payments(
    caller: AccountsReader,
    session: SessionDep,
    keyring: KeyRingDep,
    limit: PaymentsLimit = 50,
    before: PaymentsBefore = None,
) -> list[PaymentRead]:
    """The caller's payments, newest first."""
    records = await service.list_payments(session, keyring, caller.customer_id, limit=limit, before=before)
    return [PaymentRead.from_record(record) for record in records]


@router.get("/{payment_id}")
async def get_payment(
    payment_id: uuid.UUID, caller: AccountsReader, session: SessionDep, keyring: KeyRingDep
) -> PaymentRead:
    """One of the caller's payments, with its status history."""
    return PaymentRead.from_record(
        await service.get_payment(session, keyring, payment_id, customer_id=caller.customer_id)
    )


@router.post("/{payment_id}/confirm")
async def confirm_payment(
    payment_id: uuid.UUID, caller: PaymentsInitiator, units: UnitsDep, request: Request
) -> PaymentRead:
    """Confirm a payment held in its payee's cooling-off, or held for a fraud review (a fresh strong
    authentication needed): it goes on."""

    require_strong_authentication(
        caller,
        "confirming a held payment needs a fresh strong authentication",
        policy_of(request).max_age,
    )

    async def confirm(uow: UnitOfWork) -> PaymentRecord:
        return await service.confirm_payment(uow, payment_id, caller.customer_id)

    return PaymentRead.from_record(await units.retry(caller.actor, confirm))


@router.post("/{payment_id}/cancel")
async def cancel_payment(payment_id: uuid.UUID, caller: PaymentsInitiator, units: UnitsDep) -> PaymentRead:
    """Cancel a payment waiting for confirmation: rejected (CUST) and its funds released."""

    async def cancel(uow: UnitOfWork) -> PaymentRecord:
        return await service.cancel_payment(uow, payment_id, caller.customer_id)

    return PaymentRead.from_record(await units.retry(caller.actor, cancel))


@staff_router.get("/{customer_id}/payments")
async def list_customer_payments(
    customer_id: uuid.UUID,
    staff: AnyStaff,
    session: SessionDep,
    keyring: KeyRingDep,
    limit: PaymentsLimit = 50,
    before: PaymentsBefore = None,
) -> list[PaymentRead]:
    """A customer's payments newest first, with their status histories; page back with `before` = the last
    one's `created_at`."""
    records = await service.list_customer_payments(session, keyring, customer_id, limit=limit, before=before)
    return [PaymentRead.from_record(record) for record in records]
