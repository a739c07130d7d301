"""Payment orders: a payment scheduled for a date, or a standing order, each occurrence paid exactly once.

A runner (`run_next_due`, any number of them in any number of processes) claims the order due longest ago
with `FOR UPDATE SKIP LOCKED`, and in that one transaction records the occurrence (unique per order and
sequence), makes its payment through the payment saga's first step (`payments.service.submit_payment`: the
same checks, hold and saga as a customer's payment), and moves the order to its next date. A runner that
dies part-way leaves nothing of the occurrence; the next one runs it. A payment refused for want of funds or
over a limit is tried again at the policy's times later the same bank day (`RetryPolicy`); after the last, or
at once for any other refusal (the account frozen or closed, the payee gone), the occurrence is recorded as
failed and the order carries on with its next date; `payment_order.run_failed` tells the customer's
notifications.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.models import AccountKind, AccountStatus
from core_banking.consents import service as consents_service
from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.errors import DomainError
from core_banking.ledger.errors import InsufficientFunds, LimitExceeded
from core_banking.ledger.periods import BANK_TIMEZONE, bank_day
from core_banking.payment_orders import repository
from core_banking.payment_orders.errors import (
    InvalidPaymentOrder,
    PaymentOrderConflict,
    PaymentOrderEnded,
    PaymentOrderNotFound,
)
from core_banking.payment_orders.models import OrderKind, OrderStatus, PaymentOrder, PaymentOrderRun, RunOutcome
from core_banking.payment_orders.schedule import MONTHLY_FREQUENCIES, execution_moment, nominal_date
from core_banking.payment_orders.schemas import OrderChanges, OrderRecord, OrderRequest, OrderRun
from core_banking.payments import creditors
from core_banking.payments import service as payments_service
from core_banking.payments.schemas import PaymentInitiation, PaymentOrigin
from obank.crypto import KeyRing, seal, unseal
from obank.money import Money
from obank.unit_of_work import UnitOfWork

TOPIC = "core_banking.payment_orders"
_NAME_PURPOSE = "creditor_name"
MAX_PAYMENTS = 10_000


# Refusals that may clear later the same day: money paid in, or a daily limit's window moving on.
RETRIED_REFUSALS = frozenset({InsufficientFunds.code, LimitExceeded.code})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """An occurrence refused for funds or a limit is tried again at each of `times` (the bank's wall clock)
    still to come on its bank day, then fails."""

    times: tuple[time, ...] = (time(10, 0), time(14, 0), time(18, 0))

    def next_attempt(self, now: datetime) -> datetime | None:
        """The first retry time after `now` on `now`'s bank day, or None when the day has none left."""
        today = bank_day(now)
        later = (datetime.combine(today, moment, BANK_TIMEZONE) for moment in sorted(self.times))
        return next((moment for moment in later if moment > now), None)


def _fields(kind: OrderKind) -> dict[str, str]:
    if kind is OrderKind.SCHEDULED:
        return {"first_date": "Data.Initiation.RequestedExecutionDateTime", "first": "Data.Initiation.InstructedAmount"}
    return {
        "first_date": "Data.Initiation.MandateRelatedInformation.FirstPaymentDateTime",
        "final_date": "Data.Initiation.MandateRelatedInformation.FinalPaymentDateTime",
        "first": "Data.Initiation.FirstPaymentAmount",
        "recurring": "Data.Initiation.RecurringPaymentAmount",
        "final": "Data.Initiation.FinalPaymentAmount",
        "frequency": "Data.Initiation.MandateRelatedInformation.Frequency",
        "payments_total": "Data.Initiation.NumberOfPayments",
    }


def _check(request: OrderRequest, today: date) -> None:
    fields = _fields(request.kind)
    for name in ("first", "recurring", "final"):
        money: Money | None = getattr(request, name)
        if money is None:
            continue
        if money.minor <= 0:
            raise InvalidPaymentOrder("the amount must be positive", field=f"{fields[name]}.Amount")
        if money.currency != request.first.currency:
            raise InvalidPaymentOrder("every amount is in one currency", field=f"{fields[name]}.Currency")
    if request.first_date < today:
        raise InvalidPaymentOrder(f"the first payment date is before today ({today})", field=fields["first_date"])
    if request.kind is OrderKind.SCHEDULED:
        if request.frequency or request.recurring or request.final or request.final_date or request.on_month_end:
            raise InvalidPaymentOrder("a scheduled payment is one payment", field="Data.Initiation")
        return
    if request.frequency is None:
        raise InvalidPaymentOrder("a standing order needs a frequency", field=fields["frequency"])
    if request.final_date is not None and request.final_date < request.first_date:
        raise InvalidPaymentOrder("the final payment date is before the first", field=fields["final_date"])
    if request.payments_total is not None and not 0 < request.payments_total <= MAX_PAYMENTS:
        raise InvalidPaymentOrder(f"from 1 to {MAX_PAYMENTS} payments", field=fields["payments_total"])
    if request.final is not None and request.final_date is None and request.payments_total is None:
        raise InvalidPaymentOrder("a final amount needs a final date or a number of payments", field=fields["final"])
    if request.on_month_end and request.frequency not in MONTHLY_FREQUENCIES:
        raise InvalidPaymentOrder(
            "only a monthly, quarterly or yearly order pays on a month's last day", field=fields["frequency"]
        )


def _record(keyring: KeyRing, order: PaymentOrder, runs: Sequence[PaymentOrderRun] = ()) -> OrderRecord:
    currency = order.currency
    return OrderRecord(
        id=order.id,
        kind=order.kind,
        origin=order.origin,
        status=order.status,
        customer_id=order.customer_id,
        debtor_account_id=order.debtor_account_id,
        client_id=order.client_id,
        consent_id=order.consent_id,
        creditor=CreditorAccount(
            unseal(keyring, order.id, _NAME_PURPOSE, order.creditor_name_sealed).decode(),
            CreditorScheme(order.creditor_scheme),
            order.creditor_identification,
        ),
        reference=order.reference,
        end_to_end_id=order.end_to_end_id,
        instruction_id=order.instruction_id,
        first=Money(order.first_amount_minor, currency),
        recurring=None if order.recurring_amount_minor is None else Money(order.recurring_amount_minor, currency),
        final=None if order.final_amount_minor is None else Money(order.final_amount_minor, currency),
        frequency=order.frequency,
        first_date=order.first_date,
        final_date=order.final_date,
        payments_total=order.payments_total,
        on_month_end=order.on_month_end,
        payee_id=order.payee_id,
        next_payment_at=order.next_due_at,
        next_amount=None if order.status is not OrderStatus.ACTIVE else _amount_of(order, order.next_sequence),
        created_at=order.created_at,
        updated_at=order.updated_at,
        runs=tuple(
            OrderRun(r.sequence, r.due_date, r.outcome, r.payment_id, r.reason, r.attempts, r.ran_at) for r in runs
        ),
    )


def _snapshot(order: PaymentOrder) -> dict[str, Any]:
    """Event payload and audit `after`: no personal data (the payee's name stays sealed)."""
    return {
        "order_id": str(order.id),
        "kind": order.kind.value,
        "status": order.status.value,
        "customer_id": str(order.customer_id),
        "debtor_account_id": str(order.debtor_account_id),
        "client_id": order.client_id,
        "consent_id": order.consent_id,
        "currency": order.currency,
        "first_amount_minor": order.first_amount_minor,
        "frequency": None if order.frequency is None else order.frequency.value,
        "on_month_end": order.on_month_end,
        "payee_id": None if order.payee_id is None else str(order.payee_id),
        "first_date": order.first_date.isoformat(),
        "next_sequence": order.next_sequence,
        "next_due_at": None if order.next_due_at is None else order.next_due_at.isoformat(),
    }


def _report(uow: UnitOfWork, order: PaymentOrder, event: str, **extra: Any) -> None:
    payload = {**_snapshot(order), **extra}
    uow.publish(topic=TOPIC, event_type=event, key=str(order.id), payload=payload)
    uow.audit(action=event, entity_type="payment_order", entity_id=str(order.id), after=payload)


def _is_last(order: PaymentOrder, sequence: int) -> bool:
    if order.payments_total is not None and sequence >= order.payments_total:
        return True
    if order.frequency is None:
        return True
    return order.final_date is not None and _nominal(order, sequence) > order.final_date


def _nominal(order: PaymentOrder, index: int) -> date:
    """The order's `index`th (0-based) nominal date: occurrence `index + 1`."""
    return nominal_date(order.first_date, order.frequency, index, on_month_end=order.on_month_end)


def _amount_of(order: PaymentOrder, sequence: int) -> Money:
    if sequence > 1 and order.final_amount_minor is not None and _is_last(order, sequence):
        minor = order.final_amount_minor
    elif sequence > 1 and order.recurring_amount_minor is not None:
        minor = order.recurring_amount_minor
    else:
        minor = order.first_amount_minor
    return Money(minor, order.currency)


async def create_order(uow: UnitOfWork, request: OrderRequest, *, now: datetime | None = None) -> OrderRecord:
    """Record an order (consuming its TPP's consent); its first occurrence runs at its first date's 06:00."""
    now = now or datetime.now(UTC)
    _check(request, bank_day(now))
    creditors.uk_account(request.creditor)  # InvalidPayment naming the field, as for a payment now
    session = uow.session
    debtor = await accounts_service.get_account(session, request.debtor_account_id)
    if debtor.kind is not AccountKind.CUSTOMER or debtor.customer_id != request.customer_id:
        raise AccountNotFound(request.debtor_account_id)
    if debtor.status is not AccountStatus.ACTIVE:
        raise InvalidPaymentOrder("the account cannot make payments", field="Data.Initiation.DebtorAccount")
    if debtor.currency != request.first.currency:
        raise InvalidPaymentOrder(
            f"the account holds {debtor.currency}", field=f"{_fields(request.kind)['first']}.Currency"
        )
    if request.consent_id is not None:
        if request.client_id is None:
            raise InvalidPaymentOrder("a consent belongs to a TPP", field="Data.ConsentId")
        await consents_service.consume_consent(uow, request.consent_id, client_id=request.client_id, now=now)
    order_id = uuid.uuid4()
    order = PaymentOrder(
        id=order_id,
        kind=request.kind,
        origin=PaymentOrigin.OPEN_BANKING if request.client_id else PaymentOrigin.CUSTOMER,
        customer_id=request.customer_id,
        debtor_account_id=request.debtor_account_id,
        client_id=request.client_id,
        consent_id=request.consent_id,
        creditor_name_sealed=seal(uow.keyring, order_id, _NAME_PURPOSE, request.creditor.name.strip().encode()),
        creditor_scheme=request.creditor.scheme.value,
        creditor_identification=request.creditor.identification,
        reference=request.reference,
        end_to_end_id=request.end_to_end_id,
        instruction_id=request.instruction_id,
        currency=request.first.currency,
        first_amount_minor=request.first.minor,
        recurring_amount_minor=None if request.recurring is None else request.recurring.minor,
        final_amount_minor=None if request.final is None else request.final.minor,
        frequency=request.frequency,
        first_date=request.first_date,
        final_date=request.final_date,
        payments_total=1 if request.kind is OrderKind.SCHEDULED else request.payments_total,
        on_month_end=request.on_month_end,
        payee_id=request.payee_id,
        next_sequence=1,
        next_due_at=execution_moment(
            nominal_date(request.first_date, request.frequency, 0, on_month_end=request.on_month_end)
        ),
        attempts=0,
        status=OrderStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    await repository.add(session, order)
    _report(uow, order, "payment_order.created")
    return _record(uow.keyring, order)


async def _records(session: AsyncSession, keyring: KeyRing, orders: Sequence[PaymentOrder]) -> list[OrderRecord]:
    runs: dict[uuid.UUID, list[PaymentOrderRun]] = {order.id: [] for order in orders}
    for run in await repository.runs_of(session, list(runs)):
        runs[run.order_id].append(run)
    return [_record(keyring, order, runs[order.id]) for order in orders]


async def get_order(
    session: AsyncSession,
    keyring: KeyRing,
    order_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
    client_id: str | None = None,
) -> OrderRecord:
    """An order with its runs; another customer's or TPP's is not found."""
    order = await repository.get(session, order_id)
    if (
        order is None
        or (customer_id is not None and order.customer_id != customer_id)
        or (client_id is not None and order.client_id != client_id)
    ):
        raise PaymentOrderNotFound(order_id)
    return (await _records(session, keyring, [order]))[0]


async def list_orders(
    session: AsyncSession,
    keyring: KeyRing,
    *,
    customer_id: uuid.UUID | None = None,
    account_ids: Sequence[uuid.UUID] | None = None,
    kinds: Sequence[OrderKind] = (),
) -> list[OrderRecord]:
    """Orders of a customer or of accounts, oldest first."""
    found = await repository.list_orders(session, customer_id=customer_id, account_ids=account_ids, kinds=kinds)
    return await _records(session, keyring, found)


async def cancel_order(
    uow: UnitOfWork,
    order_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> OrderRecord:
    """Stop an active order (its runs already made stand); cancelling a cancelled one again is the same."""
    order = await repository.get(uow.session, order_id, for_update=True)
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise PaymentOrderNotFound(order_id)
    if order.status is OrderStatus.COMPLETED:
        raise PaymentOrderEnded(f"payment order {order_id} has made its last payment")
    if order.status in (OrderStatus.ACTIVE, OrderStatus.PAUSED):
        order.status = OrderStatus.CANCELLED
        order.next_due_at = None
        order.updated_at = now or datetime.now(UTC)
        _report(uow, order, "payment_order.cancelled")
    return (await _records(uow.session, uow.keyring, [order]))[0]


async def _locked(uow: UnitOfWork, order_id: uuid.UUID, customer_id: uuid.UUID | None) -> PaymentOrder:
    order = await repository.get(uow.session, order_id, for_update=True)
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise PaymentOrderNotFound(order_id)
    return order


def _require_open(order: PaymentOrder) -> None:
    if order.status is OrderStatus.COMPLETED:
        raise PaymentOrderEnded(f"payment order {order.id} has made its last payment")
    if order.status is OrderStatus.CANCELLED:
        raise PaymentOrderEnded(f"payment order {order.id} was cancelled")


async def pause_order(
    uow: UnitOfWork, order_id: uuid.UUID, *, customer_id: uuid.UUID | None = None, now: datetime | None = None
) -> OrderRecord:
    """Stop a standing order for a while: nothing pays until it is resumed; pausing a paused one is the same."""
    order = await _locked(uow, order_id, customer_id)
    _require_open(order)
    if order.kind is not OrderKind.STANDING_ORDER:
        raise PaymentOrderConflict("a scheduled payment cannot be paused; change its date or cancel it")
    if order.status is OrderStatus.ACTIVE:
        order.status = OrderStatus.PAUSED
        order.next_due_at = None
        order.attempts = 0
        order.updated_at = now or datetime.now(UTC)
        _report(uow, order, "payment_order.paused")
    return (await _records(uow.session, uow.keyring, [order]))[0]


async def resume_order(
    uow: UnitOfWork, order_id: uuid.UUID, *, customer_id: uuid.UUID | None = None, now: datetime | None = None
) -> OrderRecord:
    """Start a paused standing order again from its next date still to come.

    Each occurrence whose moment passed while it was paused is recorded as SKIPPED (it counts towards a number
    of payments, as a missed payment does); an order whose every date passed is COMPLETED.
    """
    now = now or datetime.now(UTC)
    order = await _locked(uow, order_id, customer_id)
    _require_open(order)
    if order.status is not OrderStatus.PAUSED:
        return (await _records(uow.session, uow.keyring, [order]))[0]
    sequence = order.next_sequence
    skipped: list[int] = []
    while True:
        due = _nominal(order, sequence - 1)
        if execution_moment(due) > now:
            break
        await repository.add_run(
            uow.session,
            PaymentOrderRun(
                order_id=order.id,
                sequence=sequence,
                due_date=due,
                outcome=RunOutcome.SKIPPED,
                reason="PAUSED",
                attempts=0,
                ran_at=now,
            ),
        )
        skipped.append(sequence)
        if _is_last(order, sequence):
            break
        sequence += 1
    order.updated_at = now
    if skipped and _is_last(order, skipped[-1]):
        order.status = OrderStatus.COMPLETED
        _report(uow, order, "payment_order.completed", skipped=skipped)
    else:
        order.status = OrderStatus.ACTIVE
        order.next_sequence = sequence
        order.next_due_at = execution_moment(_nominal(order, sequence - 1))
        _report(uow, order, "payment_order.resumed", skipped=skipped)
    return (await _records(uow.session, uow.keyring, [order]))[0]


async def amend_order(
    uow: UnitOfWork,
    order_id: uuid.UUID,
    changes: OrderChanges,
    *,
    customer_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> OrderRecord:
    """Change a customer's own open order from its next occurrence on (a TPP's order is the TPP's to change).

    Raises InvalidPaymentOrder naming the field (this API's names), PaymentOrderConflict for an order that
    cannot take the change, PaymentOrderEnded for one that ended.
    """
    now = now or datetime.now(UTC)
    today = bank_day(now)
    order = await _locked(uow, order_id, customer_id)
    _require_open(order)
    if order.origin is not PaymentOrigin.CUSTOMER:
        raise PaymentOrderConflict("this order was set up through a third-party provider: cancel it, or ask them")
    standing = order.kind is OrderKind.STANDING_ORDER
    if changes.amount is not None:
        if changes.amount.minor <= 0:
            raise InvalidPaymentOrder("the amount must be positive", field="amount_minor")
        if changes.amount.currency != order.currency:
            raise InvalidPaymentOrder(f"the order pays {order.currency}", field="currency")
        if order.next_sequence == 1:
            order.first_amount_minor = changes.amount.minor
        order.recurring_amount_minor = changes.amount.minor if standing else None
        order.final_amount_minor = None
    if changes.reference is not None:
        order.reference = changes.reference
    if changes.first_date is not None:
        if standing:
            raise InvalidPaymentOrder("a standing order's dates stay; set an end, or cancel it", field="first_date")
        if changes.first_date < today:
            raise InvalidPaymentOrder(f"the date is before today ({today})", field="first_date")
        order.first_date = changes.first_date
        if order.status is OrderStatus.ACTIVE:
            order.next_due_at = execution_moment(changes.first_date)
    if (changes.final_date is not None or changes.payments_total is not None) and not standing:
        field = "final_date" if changes.final_date is not None else "count"
        raise InvalidPaymentOrder("a scheduled payment is one payment", field=field)
    if changes.final_date is not None:
        if changes.final_date < _nominal(order, order.next_sequence - 1):
            raise InvalidPaymentOrder(
                "the final date is before the next payment; cancel the order instead", field="final_date"
            )
        order.final_date = changes.final_date
    if changes.payments_total is not None:
        if not order.next_sequence <= changes.payments_total <= MAX_PAYMENTS:
            raise InvalidPaymentOrder(
                f"from {order.next_sequence} (the payments made and the next) to {MAX_PAYMENTS} payments",
                field="count",
            )
        order.payments_total = changes.payments_total
    order.updated_at = now
    _report(uow, order, "payment_order.amended", **changes.snapshot())
    return (await _records(uow.session, uow.keyring, [order]))[0]


def _advance(order: PaymentOrder, sequence: int, now: datetime) -> None:
    order.attempts = 0
    order.updated_at = now
    if _is_last(order, sequence):
        order.status = OrderStatus.COMPLETED
        order.next_due_at = None
        return
    order.next_sequence = sequence + 1
    order.next_due_at = execution_moment(_nominal(order, sequence))


async def run_next_due(
    uow: UnitOfWork,
    retry: RetryPolicy,
    *,
    now: datetime | None = None,
    cooling_off: payments_service.CoolingOff | None = None,
) -> bool:
    """Run the occurrence due longest ago (one order, one occurrence); False when none is due.

    Its payment is the one a customer would make now: to a saved payee still in its cooling-off, above the
    limit, it waits for the customer's confirmation (`cooling_off`)."""
    now = now or datetime.now(UTC)
    order = await repository.claim_due(uow.session, now)
    if order is None:
        return False
    sequence = order.next_sequence
    due = _nominal(order, sequence - 1)
    initiation = PaymentInitiation(
        customer_id=order.customer_id,
        debtor_account_id=order.debtor_account_id,
        amount=_amount_of(order, sequence),
        creditor=_record(uow.keyring, order).creditor,
        reference=order.reference,
        end_to_end_id=order.end_to_end_id,
        instruction_id=order.instruction_id,
        client_id=order.client_id,
        payee_id=order.payee_id,
    )
    attempts = order.attempts + 1
    try:
        async with uow.savepoint():
            payment = await payments_service.submit_payment(uow, initiation, now=now, cooling_off=cooling_off)
    except DomainError as refusal:
        retry_at = retry.next_attempt(now) if refusal.code in RETRIED_REFUSALS else None
        if retry_at is not None:
            order.attempts = attempts
            order.next_due_at = retry_at
            order.updated_at = now
            _report(uow, order, "payment_order.retry_scheduled", sequence=sequence, reason=refusal.code)
            return True
        run = PaymentOrderRun(
            order_id=order.id,
            sequence=sequence,
            due_date=due,
            outcome=RunOutcome.FAILED,
            reason=refusal.code[:40],
            attempts=attempts,
            ran_at=now,
        )
        await repository.add_run(uow.session, run)
        _advance(order, sequence, now)
        _report(uow, order, "payment_order.run_failed", sequence=sequence, reason=refusal.code)
        return True
    await repository.add_run(
        uow.session,
        PaymentOrderRun(
            order_id=order.id,
            sequence=sequence,
            due_date=due,
            outcome=RunOutcome.PAID,
            payment_id=payment.id,
            attempts=attempts,
            ran_at=now,
        ),
    )
    _advance(order, sequence, now)
    _report(uow, order, "payment_order.ran", sequence=sequence, payment_id=str(payment.id))
    return True
