"""Shapes of accounts: the record services return, balances, and the admin API's requests and views."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from core_banking.accounts.identifiers import format_sort_code
from core_banking.accounts.models import Account, AccountKind, AccountStatus, AccountType
from core_banking.fields import CurrencyCode, NonNegativeMinorUnits, PositiveMinorUnits, Reason
from obank.money import Money


@dataclass(frozen=True, slots=True)
class Balances:
    """Booked (sum of postings), available (booked + overdraft - open holds) and pending (open holds)."""

    booked: Money
    available: Money
    pending: Money


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account as other modules see it."""

    id: uuid.UUID
    kind: AccountKind
    customer_id: uuid.UUID | None
    account_type: AccountType | None
    internal_purpose: str | None
    name: str
    currency: str
    sort_code: str
    account_number: str
    iban: str
    status: AccountStatus
    overdraft_limit_minor: int
    daily_limit_minor: int | None
    monthly_limit_minor: int | None
    interest_rate_bps: int
    booked_balance_minor: int
    held_minor: int
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @classmethod
    def from_model(cls, account: Account) -> AccountRecord:
        return cls(
            id=account.id,
            kind=account.kind,
            customer_id=account.customer_id,
            account_type=account.account_type,
            internal_purpose=account.internal_purpose,
            name=account.name,
            currency=account.currency,
            sort_code=account.sort_code,
            account_number=account.account_number,
            iban=account.iban,
            status=account.status,
            overdraft_limit_minor=account.overdraft_limit_minor,
            daily_limit_minor=account.daily_limit_minor,
            monthly_limit_minor=account.monthly_limit_minor,
            interest_rate_bps=account.interest_rate_bps,
            booked_balance_minor=account.booked_balance_minor,
            held_minor=account.held_minor,
            opened_at=account.opened_at,
            updated_at=account.updated_at,
            closed_at=account.closed_at,
        )

    @property
    def balances(self) -> Balances:
        # The bank's own accounts have no overdraft: their available balance is what they hold.
        return Balances(
            booked=Money(self.booked_balance_minor, self.currency),
            available=Money(self.booked_balance_minor + self.overdraft_limit_minor - self.held_minor, self.currency),
            pending=Money(self.held_minor, self.currency),
        )

    def snapshot(self) -> dict[str, object]:
        """The account's audited and published state (identifiers, status, limits; no balances)."""
        return {
            "account_id": str(self.id),
            "customer_id": None if self.customer_id is None else str(self.customer_id),
            "kind": self.kind.value,
            "account_type": None if self.account_type is None else self.account_type.value,
            "currency": self.currency,
            "status": self.status.value,
            "overdraft_limit_minor": self.overdraft_limit_minor,
            "daily_limit_minor": self.daily_limit_minor,
            "monthly_limit_minor": self.monthly_limit_minor,
            "interest_rate_bps": self.interest_rate_bps,
        }


class AccountOpen(BaseModel):
    """Open an account for a customer; unset limits and rate take the account type's defaults."""

    model_config = ConfigDict(extra="forbid")

    account_type: AccountType
    currency: CurrencyCode
    name: Annotated[str | None, Field(min_length=1, max_length=70)] = None
    overdraft_limit_minor: NonNegativeMinorUnits = 0
    daily_limit_minor: PositiveMinorUnits | None = None
    monthly_limit_minor: PositiveMinorUnits | None = None
    interest_rate_bps: Annotated[int, Strict(), Field(ge=0, le=10_000)] | None = None


class LimitsChange(BaseModel):
    """New overdraft and outgoing limits; a field left out keeps its current value."""

    model_config = ConfigDict(extra="forbid")

    overdraft_limit_minor: NonNegativeMinorUnits | None = None
    daily_limit_minor: PositiveMinorUnits | None = None
    monthly_limit_minor: PositiveMinorUnits | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> Self:
        if self.overdraft_limit_minor is None and self.daily_limit_minor is None and self.monthly_limit_minor is None:
            raise ValueError("give at least one of overdraft_limit_minor, daily_limit_minor, monthly_limit_minor")
        return self


class StatusChange(BaseModel):
    """Why staff freeze, unfreeze or close an account (kept in the audit record)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class BalancesRead(BaseModel):
    currency: str
    booked_minor: int
    available_minor: int
    pending_minor: int


class AccountRead(BaseModel):
    """An account as the admin API shows it."""

    id: uuid.UUID
    customer_id: uuid.UUID | None
    kind: AccountKind
    account_type: AccountType | None
    name: str
    currency: str
    sort_code: str
    account_number: str
    iban: str
    status: AccountStatus
    overdraft_limit_minor: int
    daily_limit_minor: int | None
    monthly_limit_minor: int | None
    interest_rate_bps: int
    balances: BalancesRead
    opened_at: datetime
    closed_at: datetime | None

    @classmethod
    def from_record(cls, record: AccountRecord) -> AccountRead:
        balances = record.balances
        return cls(
            id=record.id,
            customer_id=record.customer_id,
            kind=record.kind,
            account_type=record.account_type,
            name=record.name,
            currency=record.currency,
            sort_code=format_sort_code(record.sort_code),
            account_number=record.account_number,
            iban=record.iban,
            status=record.status,
            overdraft_limit_minor=record.overdraft_limit_minor,
            daily_limit_minor=record.daily_limit_minor,
            monthly_limit_minor=record.monthly_limit_minor,
            interest_rate_bps=record.interest_rate_bps,
            balances=BalancesRead(
                currency=record.currency,
                booked_minor=balances.booked.minor,
                available_minor=balances.available.minor,
                pending_minor=balances.pending.minor,
            ),
            opened_at=record.opened_at,
            closed_at=record.closed_at,
        )
