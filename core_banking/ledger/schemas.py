"""Shapes of the ledger: a locked account's state, booked entries, holds, and the admin API's cash movements."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from core_banking.accounts.models import AccountKind, AccountStatus
from core_banking.accounts.schemas import Balances, BalancesRead
from core_banking.fields import CurrencyCode, Description, PositiveMinorUnits
from core_banking.ledger.models import HoldStatus
from core_banking.ledger.periods import month_start
from obank.money import Money


@dataclass(slots=True)
class LedgerAccount:
    """An account row as read under its row lock; the ledger changes it, then writes it back."""

    id: uuid.UUID
    kind: AccountKind
    customer_id: uuid.UUID | None
    currency: str
    status: AccountStatus
    booked_minor: int
    held_minor: int
    overdraft_limit_minor: int
    daily_limit_minor: int | None
    monthly_limit_minor: int | None
    day_outgoing_date: date | None
    day_outgoing_minor: int
    month_outgoing_start: date | None
    month_outgoing_minor: int

    @property
    def available_minor(self) -> int:
        return self.booked_minor + self.overdraft_limit_minor - self.held_minor

    @property
    def balances(self) -> Balances:
        return Balances(
            booked=Money(self.booked_minor, self.currency),
            available=Money(self.available_minor, self.currency),
            pending=Money(self.held_minor, self.currency),
        )

    def outgoing_on(self, day: date) -> int:
        return self.day_outgoing_minor if self.day_outgoing_date == day else 0

    def outgoing_in_month_of(self, day: date) -> int:
        return self.month_outgoing_minor if self.month_outgoing_start == month_start(day) else 0

    def count_outgoing(self, amount_minor: int, day: date) -> None:
        """Add an outgoing amount to the day's and month's usage, starting afresh in a new period."""
        self.day_outgoing_minor = self.outgoing_on(day) + amount_minor
        self.day_outgoing_date = day
        self.month_outgoing_minor = self.outgoing_in_month_of(day) + amount_minor
        self.month_outgoing_start = month_start(day)

    def release_outgoing(self, amount_minor: int, counted_on: date) -> None:
        """Give back usage counted on `counted_on`, in whichever of its periods are still current."""
        if self.day_outgoing_date == counted_on:
            self.day_outgoing_minor = max(0, self.day_outgoing_minor - amount_minor)
        if self.month_outgoing_start == month_start(counted_on):
            self.month_outgoing_minor = max(0, self.month_outgoing_minor - amount_minor)


@dataclass(frozen=True, slots=True)
class PostingLine:
    """One posting of a booked entry."""

    account_id: uuid.UUID
    currency: str
    amount_minor: int
    balance_after_minor: int


@dataclass(frozen=True, slots=True)
class PostedEntry:
    """A journal entry as booked."""

    id: uuid.UUID
    kind: str
    description: str
    reference: str | None
    reverses_entry_id: uuid.UUID | None
    booked_at: datetime
    postings: tuple[PostingLine, ...]


@dataclass(frozen=True, slots=True)
class HoldRecord:
    """A hold as stored."""

    id: uuid.UUID
    account_id: uuid.UUID
    currency: str
    amount_minor: int
    captured_minor: int | None
    status: HoldStatus
    description: str
    reference: str | None
    limit_day: date | None
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    capture_entry_id: uuid.UUID | None

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


@dataclass(frozen=True, slots=True)
class CaptureResult:
    hold: HoldRecord
    entry: PostedEntry


@dataclass(frozen=True, slots=True)
class CashMovementResult:
    """A deposit or withdrawal as booked, with the customer account's balances after it."""

    entry: PostedEntry
    account_id: uuid.UUID
    amount: Money
    balances: Balances


class CashMovement(BaseModel):
    """Cash paid in or out over the counter by staff."""

    model_config = ConfigDict(extra="forbid")

    amount_minor: PositiveMinorUnits
    currency: CurrencyCode
    description: Description


class CashMovementRead(BaseModel):
    entry_id: uuid.UUID
    account_id: uuid.UUID
    kind: str
    amount_minor: int
    currency: str
    description: str
    booked_at: datetime
    balances: BalancesRead

    @classmethod
    def from_result(cls, result: CashMovementResult) -> CashMovementRead:
        return cls(
            entry_id=result.entry.id,
            account_id=result.account_id,
            kind=result.entry.kind,
            amount_minor=result.amount.minor,
            currency=result.amount.currency,
            description=result.entry.description,
            booked_at=result.entry.booked_at,
            balances=BalancesRead(
                currency=result.amount.currency,
                booked_minor=result.balances.booked.minor,
                available_minor=result.balances.available.minor,
                pending_minor=result.balances.pending.minor,
            ),
        )
