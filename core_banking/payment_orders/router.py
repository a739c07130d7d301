"""First-party API for scheduled payments and standing orders: the customer's own, and those TPPs set up.

A customer sets up a payment to a saved payee or to one of their own accounts, once on a date or repeating;
changes the amount, reference, date or end of their own; pauses and resumes a standing order; cancels any of
theirs (a TPP's too, as a UK bank lets its customer do). Reads need the scope `accounts`, changes `payments`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.models import AccountKind
from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.customers import service as customers_service
from core_banking.dependencies import AccountsReader, CustomerCaller, PaymentsInitiator
from core_banking.errors import PROBLEM_RESPONSES, FieldError
from core_banking.idempotency.http import IdempotencyKeyHeader, respond_once
from core_banking.idempotency.service import request_fingerprint
from core_banking.payees import service as payees_service
from core_banking.payment_orders import service
from core_banking.payment_orders.errors import InvalidPaymentOrder
from core_banking.payment_orders.models import OrderKind, OrderStatus
from core_banking.payment_orders.schemas import (
    OrderRecord,
    OrderRequest,
    Repeat,
    ScheduledPaymentChange,
    ScheduledPaymentCreate,
    ScheduledPaymentRead,
)
from core_banking.payments.errors import InvalidPayment
from core_banking.step_up import require_strong_authentication
from obank.crypto import KeyRing
from obank.database import SessionDep
from obank.money import Money
from obank.runtime import KeyRingDep
from obank.unit_of_work import UnitOfWork, UnitsDep

router = APIRouter(prefix="/api/v1/scheduled-payments", tags=["scheduled payments"], responses=PROBLEM_RESPONSES)

# The services name fields as Open Banking's Initiation does; this API's request names them so.
_FIELDS = {
    "Data.Initiation.RequestedExecutionDateTime": "first_date",
    "Data.Initiation.MandateRelatedInformation.FirstPaymentDateTime": "first_date",
    "Data.Initiation.MandateRelatedInformation.FinalPaymentDateTime": "final_date",
    "Data.Initiation.MandateRelatedInformation.Frequency": "repeat",
    "Data.Initiation.NumberOfPayments": "count",
    "Data.Initiation.DebtorAccount": "from_account_id",
    "Data.Initiation": "repeat",
    "Data.Initiation.RemittanceInformation.Reference": "reference",
}


def _in_this_api(error: FieldError, target: str) -> FieldError:
    """The same refusal, naming the field as this API's request does."""
    field = error.field or ""
    if field.endswith(".Amount"):
        name = "amount_minor"
    elif field.endswith(".Currency"):
        name = "currency"
    elif field.startswith("Data.Initiation.CreditorAccount"):
        name = target
    else:
        name = _FIELDS.get(field, field)
    return InvalidPaymentOrder(error.detail.removeprefix(f"{field}: "), field=name)


def _max_age(request: Request) -> timedelta:
    return timedelta(seconds=request.app.state.platform.settings.payments_step_up_max_age_s)


async def _payee(
    session: AsyncSession, keyring: KeyRing, customer_id: uuid.UUID, body: ScheduledPaymentCreate
) -> tuple[CreditorAccount, uuid.UUID | None, str | None]:
    """Who the order pays (the saved payee, copied as a payment would, or the customer's own account), the
    payee's id and its default reference."""
    if body.payee_id is not None:
        payee = await payees_service.resolve_payee(session, keyring, customer_id, body.payee_id)
        return payee.creditor, payee.id, payee.reference
    assert body.to_account_id is not None
    account = await accounts_service.get_account(session, body.to_account_id)
    if account.kind is not AccountKind.CUSTOMER or account.customer_id != customer_id:
        raise AccountNotFound(body.to_account_id)
    customer = await customers_service.get_customer(session, keyring, customer_id)
    identification = account.sort_code + account.account_number
    return CreditorAccount(customer.full_name, CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, identification), None, None


def _order_request(
    caller: CustomerCaller,
    body: ScheduledPaymentCreate,
    creditor: CreditorAccount,
    payee_id: uuid.UUID | None,
    reference: str | None,
) -> OrderRequest:
    amount = Money(body.amount_minor, body.currency)
    once = body.repeat is Repeat.ONCE
    return OrderRequest(
        kind=OrderKind.SCHEDULED if once else OrderKind.STANDING_ORDER,
        customer_id=caller.customer_id,
        debtor_account_id=body.from_account_id,
        creditor=creditor,
        first=amount,
        first_date=body.first_date,
        recurring=None if once else amount,
        frequency=body.repeat.frequency,
        final_date=body.final_date,
        payments_total=body.count,
        reference=body.reference or reference,
        on_month_end=body.repeat is Repeat.LAST_DAY_OF_MONTH,
        payee_id=payee_id,
    )


def _read(record: OrderRecord) -> dict[str, Any]:
    return ScheduledPaymentRead.from_record(record).model_dump(mode="json")


@router.post("", status_code=201, response_model=ScheduledPaymentRead)
async def create_scheduled_payment(
    body: ScheduledPaymentCreate,
    idempotency_key: IdempotencyKeyHeader,
    caller: PaymentsInitiator,
    units: UnitsDep,
    session: SessionDep,
    keyring: KeyRingDep,
    request: Request,
) -> JSONResponse:
    """Set up a payment on a date, or a standing order: 201 with it and its first payment date (06:00 London
    time on the first business day on or after each date). A retry with the same key replays the first answer.

    Paying someone else needs a strong authentication at most `max_age` old (PSD2: the first of a series), asked
    for with an RFC 9470 challenge before the key is taken, so the retry after the step-up can reuse it.
    """
    body.check()
    target = "payee_id" if body.payee_id is not None else "to_account_id"
    creditor, payee_id, reference = await _payee(session, keyring, caller.customer_id, body)
    if payee_id is not None:
        require_strong_authentication(
            caller, "a payment to someone else needs a fresh strong authentication", _max_age(request)
        )
    order = _order_request(caller, body, creditor, payee_id, reference)

    async def set_up(uow: UnitOfWork) -> tuple[int, dict[str, Any]]:
        try:
            record = await service.create_order(uow, order)
        except (InvalidPaymentOrder, InvalidPayment) as error:
            raise _in_this_api(error, target) from None
        return 201, _read(record)

    return await respond_once(
        units,
        caller.actor,
        scope=f"customer:{caller.customer_id}",
        key=idempotency_key,
        fingerprint=request_fingerprint("payment_order", order.fingerprint()),
        operation=set_up,
    )


@router.get("")
async def list_scheduled_payments(
    caller: AccountsReader,
    session: SessionDep,
    keyring: KeyRingDep,
    status: Annotated[list[OrderStatus] | None, Query(description="only orders in these statuses")] = None,
) -> list[ScheduledPaymentRead]:
    """The caller's scheduled payments and standing orders (their own and those TPPs set up), oldest first."""
    records = await service.list_orders(session, keyring, customer_id=caller.customer_id)
    return [ScheduledPaymentRead.from_record(r) for r in records if not status or r.status in status]


@router.get("/{order_id}")
async def get_scheduled_payment(
    order_id: uuid.UUID, caller: AccountsReader, session: SessionDep, keyring: KeyRingDep
) -> ScheduledPaymentRead:
    """One of the caller's orders with each of its runs (paid, failed, skipped)."""
    return ScheduledPaymentRead.from_record(
        await service.get_order(session, keyring, order_id, customer_id=caller.customer_id)
    )


@router.patch("/{order_id}")
async def change_scheduled_payment(
    order_id: uuid.UUID, body: ScheduledPaymentChange, caller: PaymentsInitiator, units: UnitsDep, request: Request
) -> ScheduledPaymentRead:
    """Change the amount (from the next payment on), reference, date (a payment not yet made) or end (a
    standing order) of one of the caller's own orders. A larger amount needs a fresh strong authentication."""
    changes = body.changes()
    settings = request.app.state.platform.settings
    if changes.amount is not None and changes.amount.minor > settings.payments_step_up_above_minor:
        require_strong_authentication(
            caller,
            f"payments above {settings.payments_step_up_above_minor} minor units need a fresh strong authentication",
            _max_age(request),
        )

    async def amend(uow: UnitOfWork) -> OrderRecord:
        return await service.amend_order(uow, order_id, changes, customer_id=caller.customer_id)

    return ScheduledPaymentRead.from_record(await units.retry(caller.actor, amend))


@router.delete("/{order_id}", status_code=204)
async def cancel_scheduled_payment(order_id: uuid.UUID, caller: PaymentsInitiator, units: UnitsDep) -> Response:
    """Cancel one of the caller's orders (a TPP's too): nothing more is paid; what was paid stands."""

    async def cancel(uow: UnitOfWork) -> OrderRecord:
        return await service.cancel_order(uow, order_id, customer_id=caller.customer_id)

    await units.retry(caller.actor, cancel)
    return Response(status_code=204)


@router.post("/{order_id}/pause")
async def pause_scheduled_payment(
    order_id: uuid.UUID, caller: PaymentsInitiator, units: UnitsDep
) -> ScheduledPaymentRead:
    """Pause a standing order: no payment is made until it is resumed."""

    async def pause(uow: UnitOfWork) -> OrderRecord:
        return await service.pause_order(uow, order_id, customer_id=caller.customer_id, now=datetime.now(UTC))

    return ScheduledPaymentRead.from_record(await units.retry(caller.actor, pause))


@router.post("/{order_id}/resume")
async def resume_scheduled_payment(
    order_id: uuid.UUID, caller: PaymentsInitiator, units: UnitsDep
) -> ScheduledPaymentRead:
    """Resume a paused standing order from its next date to come; the dates passed meanwhile are skipped."""

    async def resume(uow: UnitOfWork) -> OrderRecord:
        return await service.resume_order(uow, order_id, customer_id=caller.customer_id, now=datetime.now(UTC))

    return ScheduledPaymentRead.from_record(await units.retry(caller.actor, resume))
