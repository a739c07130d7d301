"""Interest errors."""

from __future__ import annotations

from datetime import date

from core_banking.errors import DomainError
from core_banking.ledger.periods import Month


class DayNotOver(DomainError):
    status = 409
    code = "interest_day_not_over"
    title = "A day accrues interest only once it is over"

    def __init__(self, day: date) -> None:
        super().__init__(f"bank day {day} is not over yet")


class MonthNotOver(DomainError):
    status = 409
    code = "interest_month_not_over"
    title = "A month's interest is paid only once the month is over"

    def __init__(self, month: Month) -> None:
        super().__init__(f"{month} is not over yet")
