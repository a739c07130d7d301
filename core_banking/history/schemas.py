"""Shapes of account history: posted lines with running balances, pages of them, balances at a moment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from core_banking.accounts.schemas import Balances


class Direction(StrEnum):
    """Money in (credit) or out (debit) of the account."""

    CREDIT = "credit"
    DEBIT = "debit"


@dataclass(frozen=True, slots=True)
class TransactionLine:
    """One posting on an account with its entry's details and the account's balance just after it."""

    posting_id: int
    entry_id: uuid.UUID
    kind: str
    description: str
    reference: str | None
    currency: str
    amount_minor: int
    balance_after_minor: int
    booked_at: datetime
    account_id: uuid.UUID

    @property
    def direction(self) -> Direction:
        return Direction.CREDIT if self.amount_minor > 0 else Direction.DEBIT


@dataclass(frozen=True, slots=True)
class TransactionFilter:
    """Which lines to list: booked in [booked_from, booked_before), direction, absolute amount range."""

    booked_from: datetime | None = None
    booked_before: datetime | None = None
    direction: Direction | None = None
    min_amount_minor: int | None = None
    max_amount_minor: int | None = None


@dataclass(frozen=True, slots=True)
class PendingLine:
    """Money held on an account and not yet booked (a payment in flight): an open hold."""

    hold_id: uuid.UUID
    account_id: uuid.UUID
    description: str
    reference: str | None
    currency: str
    amount_minor: int  # negative: money on its way out
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TransactionPage:
    """Lines newest first; `next_cursor` continues with older lines, None at the end; `prev_cursor` goes back
    to newer ones, None on the first page. The first page also lists what is `pending` (open holds)."""

    lines: list[TransactionLine]
    next_cursor: str | None
    prev_cursor: str | None = None
    pending: list[PendingLine] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BalancesAt:
    """An account's balances at a moment: now (cached) or in the past (from postings and holds)."""

    account_id: uuid.UUID
    as_of: datetime
    balances: Balances


class TransactionRead(BaseModel):
    """A line of account history; `amount_minor` is positive, `direction` says which way it went."""

    id: str
    entry_id: uuid.UUID
    booked_at: datetime
    kind: str
    description: str
    reference: str | None
    direction: Direction
    amount_minor: int
    currency: str
    running_balance_minor: int

    @classmethod
    def from_line(cls, line: TransactionLine) -> TransactionRead:
        return cls(
            id=str(line.posting_id),
            entry_id=line.entry_id,
            booked_at=line.booked_at,
            kind=line.kind,
            description=line.description,
            reference=line.reference,
            direction=line.direction,
            amount_minor=abs(line.amount_minor),
            currency=line.currency,
            running_balance_minor=line.balance_after_minor,
        )


class PendingRead(BaseModel):
    """Money held and not yet booked (a payment on its way); `amount_minor` is positive, always a debit."""

    id: uuid.UUID
    created_at: datetime
    description: str
    reference: str | None
    direction: Direction
    amount_minor: int
    currency: str

    @classmethod
    def from_line(cls, line: PendingLine) -> PendingRead:
        return cls(
            id=line.hold_id,
            created_at=line.created_at,
            description=line.description,
            reference=line.reference,
            direction=Direction.DEBIT,
            amount_minor=abs(line.amount_minor),
            currency=line.currency,
        )


class TransactionPageRead(BaseModel):
    transactions: list[TransactionRead]
    next_cursor: str | None
    pending: list[PendingRead] = []

    @classmethod
    def from_page(cls, page: TransactionPage) -> TransactionPageRead:
        return cls(
            transactions=[TransactionRead.from_line(line) for line in page.lines],
            next_cursor=page.next_cursor,
            pending=[PendingRead.from_line(line) for line in page.pending],
        )


class BalancesAtRead(BaseModel):
    account_id: uuid.UUID
    as_of: datetime
    currency: str
    booked_minor: int
    available_minor: int
    pending_minor: int

    @classmethod
    def from_balances(cls, at: BalancesAt) -> BalancesAtRead:
        return cls(
            account_id=at.account_id,
            as_of=at.as_of,
            currency=at.balances.booked.currency,
            booked_minor=at.balances.booked.minor,
            available_minor=at.balances.available.minor,
            pending_minor=at.balances.pending.minor,
        )
