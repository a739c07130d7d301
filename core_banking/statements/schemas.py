"""Shapes of a monthly statement: the statement itself and its JSON view."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel

from core_banking.accounts.identifiers import format_sort_code
from core_banking.accounts.schemas import AccountRecord
from core_banking.customers.schemas import Address
from core_banking.history.schemas import TransactionLine, TransactionRead
from core_banking.ledger.periods import Month


class StatementFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return {"json": "application/json", "csv": "text/csv", "pdf": "application/pdf"}[self.value]


@dataclass(frozen=True, slots=True)
class Statement:
    """One account's month: the balance it opened with, every line, and the balance it closed with.

    For the current month the period ends now ("to date").
    """

    account: AccountRecord
    holder_name: str
    holder_address: Address
    month: Month
    period_start: date
    period_end: date
    opening_balance_minor: int
    closing_balance_minor: int
    lines: list[TransactionLine]
    generated_at: datetime

    @property
    def paid_in_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines if line.amount_minor > 0)

    @property
    def paid_out_minor(self) -> int:
        return -sum(line.amount_minor for line in self.lines if line.amount_minor < 0)


class StatementAccount(BaseModel):
    id: uuid.UUID
    name: str
    holder_name: str
    currency: str
    sort_code: str
    account_number: str
    iban: str


class StatementRead(BaseModel):
    """A statement as JSON: amounts in minor units of `account.currency`, lines oldest first."""

    month: str
    period_start: date
    period_end: date
    account: StatementAccount
    opening_balance_minor: int
    paid_in_minor: int
    paid_out_minor: int
    closing_balance_minor: int
    transactions: list[TransactionRead]
    generated_at: datetime

    @classmethod
    def from_statement(cls, statement: Statement) -> StatementRead:
        account = statement.account
        return cls(
            month=str(statement.month),
            period_start=statement.period_start,
            period_end=statement.period_end,
            account=StatementAccount(
                id=account.id,
                name=account.name,
                holder_name=statement.holder_name,
                currency=account.currency,
                sort_code=format_sort_code(account.sort_code),
                account_number=account.account_number,
                iban=account.iban,
            ),
            opening_balance_minor=statement.opening_balance_minor,
            paid_in_minor=statement.paid_in_minor,
            paid_out_minor=statement.paid_out_minor,
            closing_balance_minor=statement.closing_balance_minor,
            transactions=[TransactionRead.from_line(line) for line in statement.lines],
            generated_at=statement.generated_at,
        )
