"""Shapes of payment orders: what is asked for, and the record every reader sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints

from core_banking.consents.schemas import CreditorAccount
from core_banking.fields import CurrencyCode, PositiveMinorUnits
from core_banking.payment_orders.errors import InvalidPaymentOrder
from core_banking.payment_orders.models import OrderKind, OrderStatus, RunOutcome
from core_banking.payment_orders.schedule import Frequency
from core_banking.payments.schemas import PAYEE_REFERENCE_LENGTH, PaymentOrigin
from obank.inputs import BoundedDate
from obank.money import Money


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A payment on `first_date` (SCHEDULED), or payments every `frequency` from it (STANDING_ORDER) until
    `final_date` or `payments_total` of them; with no end, until cancelled.

    `recurring` defaults to `first`; `final`, when given, is the last occurrence's amount (which needs an end).
    Open Banking orders name the TPP (`client_id`) and the consent they consume, in the same transaction.
    """

    kind: OrderKind
    customer_id: uuid.UUID
    debtor_account_id: uuid.UUID
    creditor: CreditorAccount
    first: Money
    first_date: date
    recurring: Money | None = None
    final: Money | None = None
    frequency: Frequency | None = None
    final_date: date | None = None
    payments_total: int | None = None
    reference: str | None = None
    end_to_end_id: str | None = None
    instruction_id: str | None = None
    client_id: str | None = None
    consent_id: str | None = None
    on_month_end: bool = False
    payee_id: uuid.UUID | None = None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "customer_id": str(self.customer_id),
            "debtor_account_id": str(self.debtor_account_id),
            "creditor": [self.creditor.name, self.creditor.scheme.value, self.creditor.identification],
            "amounts": [
                None if money is None else [money.minor, money.currency]
                for money in (self.first, self.recurring, self.final)
            ],
            "schedule": [
                None if self.frequency is None else self.frequency.value,
                self.first_date.isoformat(),
                None if self.final_date is None else self.final_date.isoformat(),
                self.payments_total,
                self.on_month_end,
            ],
            "payee_id": None if self.payee_id is None else str(self.payee_id),
            "ids": [self.reference, self.end_to_end_id, self.instruction_id, self.client_id, self.consent_id],
        }


@dataclass(frozen=True, slots=True)
class OrderRun:
    sequence: int
    due_date: date
    outcome: RunOutcome
    payment_id: uuid.UUID | None
    reason: str | None
    attempts: int
    ran_at: datetime


@dataclass(frozen=True, slots=True)
class OrderChanges:
    """What a customer may change of their own order (None: unchanged). `amount` applies from the next
    occurrence on; `first_date` moves a scheduled payment not yet made; an end is a date or a count."""

    amount: Money | None = None
    reference: str | None = None
    first_date: date | None = None
    final_date: date | None = None
    payments_total: int | None = None

    def snapshot(self) -> dict[str, Any]:
        """The changed fields' names (the audit record's; no values: a reference may name a person)."""
        return {"changed": sorted(f.name for f in fields(self) if getattr(self, f.name) is not None)}


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order as it stands: `next_payment_at`/`next_amount` while active; `runs` oldest first."""

    id: uuid.UUID
    kind: OrderKind
    origin: PaymentOrigin
    status: OrderStatus
    customer_id: uuid.UUID
    debtor_account_id: uuid.UUID
    client_id: str | None
    consent_id: str | None
    creditor: CreditorAccount
    reference: str | None
    end_to_end_id: str | None
    instruction_id: str | None
    first: Money
    recurring: Money | None
    final: Money | None
    frequency: Frequency | None
    first_date: date
    final_date: date | None
    payments_total: int | None
    on_month_end: bool
    payee_id: uuid.UUID | None
    next_payment_at: datetime | None
    next_amount: Money | None
    created_at: datetime
    updated_at: datetime
    runs: tuple[OrderRun, ...] = field(default=())


# The first-party API (`/api/v1/scheduled-payments`) --------------------------------------------------------


class Repeat(StrEnum):
    """How often a customer's order pays: once on its date, or from it at a frequency until its end."""

    ONCE = "ONCE"
    WEEKLY = "WEEKLY"
    FORTNIGHTLY = "FORTNIGHTLY"
    MONTHLY = "MONTHLY"  # on the first date's day of the month (the month's last day when it is shorter)
    LAST_DAY_OF_MONTH = "LAST_DAY_OF_MONTH"
    QUARTERLY = "QUARTERLY"
    YEARLY = "YEARLY"

    @property
    def frequency(self) -> Frequency | None:
        return _FREQUENCIES[self]

    @classmethod
    def of(cls, frequency: Frequency | None, on_month_end: bool) -> Repeat | None:
        """The customer's word for an order's frequency; None for one this API has no word for (daily)."""
        if on_month_end and frequency is Frequency.MONTHLY:
            return cls.LAST_DAY_OF_MONTH
        return next((repeat for repeat, known in _FREQUENCIES.items() if known is frequency), None)


_FREQUENCIES: dict[Repeat, Frequency | None] = {
    Repeat.ONCE: None,
    Repeat.WEEKLY: Frequency.WEEKLY,
    Repeat.FORTNIGHTLY: Frequency.FORTNIGHTLY,
    Repeat.MONTHLY: Frequency.MONTHLY,
    Repeat.LAST_DAY_OF_MONTH: Frequency.MONTHLY,
    Repeat.QUARTERLY: Frequency.QUARTERLY,
    Repeat.YEARLY: Frequency.YEARLY,
}

OrderReference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=PAYEE_REFERENCE_LENGTH)
]
PaymentsCount = Annotated[int, Strict(), Field(ge=1, le=10_000)]


class ScheduledPaymentCreate(BaseModel):
    """Pay a saved payee (`payee_id`) or one of the caller's own accounts (`to_account_id`) on `first_date`,
    and, unless `repeat` is ONCE, again at that frequency until `final_date`, `count` payments, or cancelled."""

    model_config = ConfigDict(extra="forbid")

    from_account_id: uuid.UUID
    payee_id: uuid.UUID | None = None
    to_account_id: uuid.UUID | None = None
    amount_minor: PositiveMinorUnits
    currency: CurrencyCode
    reference: OrderReference | None = None
    repeat: Repeat
    first_date: BoundedDate
    final_date: BoundedDate | None = None
    count: PaymentsCount | None = None

    def check(self) -> None:
        """The rules across fields, each refusal naming its field (problem+json 422)."""
        if (self.payee_id is None) == (self.to_account_id is None):
            raise InvalidPaymentOrder("give either payee_id or to_account_id", field="payee_id")
        if self.repeat is Repeat.ONCE:
            for name in ("final_date", "count"):
                if getattr(self, name) is not None:
                    raise InvalidPaymentOrder("a payment made once has no final_date or count", field=name)
        if self.final_date is not None and self.count is not None:
            raise InvalidPaymentOrder("end the order by final_date or by count, not both", field="count")


class ScheduledPaymentChange(BaseModel):
    """What the customer may change of their own order; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    amount_minor: PositiveMinorUnits | None = None
    currency: CurrencyCode | None = None
    reference: OrderReference | None = None
    first_date: BoundedDate | None = None
    final_date: BoundedDate | None = None
    count: PaymentsCount | None = None

    def changes(self) -> OrderChanges:
        """The changes asked for; refusals name their field (problem+json 422)."""
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise InvalidPaymentOrder("give at least one field to change", field="amount_minor")
        if (self.amount_minor is None) != (self.currency is None):
            raise InvalidPaymentOrder("give amount_minor with its currency", field="currency")
        return OrderChanges(
            amount=None
            if self.amount_minor is None or self.currency is None
            else Money(self.amount_minor, self.currency),
            reference=self.reference,
            first_date=self.first_date,
            final_date=self.final_date,
            payments_total=self.count,
        )


class PayeeAccountRead(BaseModel):
    name: str
    scheme: str
    identification: str


class OrderRunRead(BaseModel):
    sequence: int
    due_date: date
    outcome: RunOutcome
    payment_id: uuid.UUID | None
    reason: str | None
    attempts: int
    ran_at: datetime


class ScheduledPaymentRead(BaseModel):
    """A scheduled payment (`kind` SCHEDULED) or standing order as its customer sees it, with its runs.

    `repeat` is None for a frequency set up through a provider that this API has no word for (daily, half-yearly);
    `frequency` always has the ISO 20022 code.
    """

    id: uuid.UUID
    kind: OrderKind
    status: OrderStatus
    origin: PaymentOrigin
    client_id: str | None
    from_account_id: uuid.UUID
    payee_id: uuid.UUID | None
    payee: PayeeAccountRead
    amount_minor: int
    currency: str
    reference: str | None
    repeat: Repeat | None
    frequency: Frequency | None
    first_date: date
    final_date: date | None
    count: int | None
    next_payment_at: datetime | None
    next_amount_minor: int | None
    created_at: datetime
    updated_at: datetime
    runs: list[OrderRunRead]

    @classmethod
    def from_record(cls, record: OrderRecord) -> ScheduledPaymentRead:
        amount = record.recurring if record.recurring is not None and record.runs else record.first
        return cls(
            id=record.id,
            kind=record.kind,
            status=record.status,
            origin=record.origin,
            client_id=record.client_id,
            from_account_id=record.debtor_account_id,
            payee_id=record.payee_id,
            payee=PayeeAccountRead(
                name=record.creditor.name,
                scheme=record.creditor.scheme.value,
                identification=record.creditor.identification,
            ),
            amount_minor=amount.minor,
            currency=amount.currency,
            reference=record.reference,
            repeat=Repeat.ONCE
            if record.kind is OrderKind.SCHEDULED
            else Repeat.of(record.frequency, record.on_month_end),
            frequency=record.frequency,
            first_date=record.first_date,
            final_date=record.final_date,
            count=record.payments_total if record.kind is OrderKind.STANDING_ORDER else None,
            next_payment_at=record.next_payment_at,
            next_amount_minor=None if record.next_amount is None else record.next_amount.minor,
            created_at=record.created_at,
            updated_at=record.updated_at,
            runs=[
                OrderRunRead(
                    sequence=run.sequence,
                    due_date=run.due_date,
                    outcome=run.outcome,
                    payment_id=run.payment_id,
                    reason=run.reason,
                    attempts=run.attempts,
                    ran_at=run.ran_at,
                )
                for run in record.runs
            ],
        )
