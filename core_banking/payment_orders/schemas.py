"""Shapes of payment orders: what is asked for, and the record every reader sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from core_banking.consents.schemas import CreditorAccount
from core_banking.payment_orders.models import OrderKind, OrderStatus, RunOutcome
from core_banking.payment_orders.schedule import Frequency
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
            ],
            "ids": [self.reference, self.end_to_end_id, self.instruction_id, self.client_id, self.consent_id],
        }


@dataclass(frozen=True, slots=True)
class OrderRun:
    sequence: int
    due_date: date
    outcome: RunOutcome
    payment_id: uuid.UUID | None
    reason: str | None
    ran_at: datetime


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order as it stands: `next_payment_at`/`next_amount` while active; `runs` oldest first."""

    id: uuid.UUID
    kind: OrderKind
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
    next_payment_at: datetime | None
    next_amount: Money | None
    created_at: datetime
    updated_at: datetime
    runs: tuple[OrderRun, ...] = field(default=())
