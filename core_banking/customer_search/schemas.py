"""Shapes of customer search: what staff look for, and the summaries they get back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from core_banking.accounts.identifiers import format_sort_code
from core_banking.accounts.models import AccountStatus
from core_banking.customers.models import KycStatus

SEARCH_MAX = 50  # customers one search shows at most (a common name)


class SearchKey(StrEnum):
    """How a customer is looked for: each by an exact value, never a scan of personal data."""

    NAME = "name"
    EMAIL = "email"
    IBAN = "iban"
    ACCOUNT = "sort_code+account_number"


@dataclass(frozen=True, slots=True)
class CustomerSearch:
    """One way of finding customers, its value already in its normal form (the service checks and builds it)."""

    key: SearchKey
    value: str
    account_number: str | None = None  # with `ACCOUNT`: `value` is the sort code


@dataclass(frozen=True, slots=True)
class AccountSummary:
    id: uuid.UUID
    iban: str
    sort_code: str
    account_number: str
    status: AccountStatus


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """A customer found: their name (opened for this), KYC status and accounts."""

    id: uuid.UUID
    full_name: str
    kyc_status: KycStatus
    created_at: datetime
    accounts: tuple[AccountSummary, ...]


class AccountSummaryRead(BaseModel):
    id: uuid.UUID
    iban: str
    sort_code: str
    account_number: str
    status: AccountStatus

    @classmethod
    def from_summary(cls, summary: AccountSummary) -> AccountSummaryRead:
        return cls(
            id=summary.id,
            iban=summary.iban,
            sort_code=format_sort_code(summary.sort_code),
            account_number=summary.account_number,
            status=summary.status,
        )


class CustomerSummaryRead(BaseModel):
    """A customer a search found, with their accounts (oldest first, closed ones included)."""

    id: uuid.UUID
    full_name: str
    kyc_status: KycStatus
    created_at: datetime
    accounts: list[AccountSummaryRead]

    @classmethod
    def from_summary(cls, summary: CustomerSummary) -> CustomerSummaryRead:
        return cls(
            id=summary.id,
            full_name=summary.full_name,
            kyc_status=summary.kyc_status,
            created_at=summary.created_at,
            accounts=[AccountSummaryRead.from_summary(account) for account in summary.accounts],
        )
