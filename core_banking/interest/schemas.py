"""Shapes of interest: a day's accrual run and a month's posting to one account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from core_banking.ledger.periods import Month


@dataclass(frozen=True, slots=True)
class AccrualRun:
    """What accruing one bank day added: accounts newly accrued and their interest units (0 when done before)."""

    day: date
    accounts: int
    interest_units: int


@dataclass(frozen=True, slots=True)
class PostingCandidate:
    """An account with accruals in a month not yet paid, and the remainder carried from its last posting."""

    account_id: uuid.UUID
    currency: str
    accrued_units: int
    carried_in_units: int


@dataclass(frozen=True, slots=True)
class InterestPostingRecord:
    """A month's interest paid to one account (`entry_id` None when it came to less than a minor unit)."""

    account_id: uuid.UUID
    month: Month
    currency: str
    accrued_units: int
    carried_in_units: int
    paid_minor: int
    carried_out_units: int
    entry_id: uuid.UUID | None
