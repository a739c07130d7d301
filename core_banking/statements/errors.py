"""Statement errors."""

from __future__ import annotations

from core_banking.errors import DomainError
from core_banking.ledger.periods import Month


class StatementPeriodNotStarted(DomainError):
    status = 422
    code = "statement_period_not_started"
    title = "No statement exists for a month that has not begun"

    def __init__(self, month: Month) -> None:
        super().__init__(f"{month} has not begun yet")


class StatementFormatNotAcceptable(DomainError):
    status = 406
    code = "not_acceptable"
    title = "Statements are available as application/json, text/csv or application/pdf"


class StatementNotFound(DomainError):
    status = 404
    code = "statement_not_found"
    title = "Statement not found"

    def __init__(self, statement_id: str) -> None:
        super().__init__(f"no statement {statement_id} for this account")


class StatementMonthNotOver(DomainError):
    status = 409
    code = "statement_month_not_over"
    title = "A month's statements are issued once the month is over"

    def __init__(self, month: Month) -> None:
        super().__init__(f"{month} is not over yet")
