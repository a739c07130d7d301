"""A statement as CSV: opening balance, one row per transaction with its running balance, closing balance."""

from __future__ import annotations

import csv
import io

from core_banking.ledger.periods import bank_day
from core_banking.statements.schemas import Statement
from obank.money import Money

COLUMNS = ("date", "booked_at", "type", "description", "reference", "paid_in", "paid_out", "balance", "currency")
# A spreadsheet would run a cell starting with one of these as a formula (OWASP "CSV injection"):
# descriptions come from whoever paid the account, so such text cells are quoted with a leading '.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def render_csv(statement: Statement) -> str:
    """The statement as RFC 4180 CSV with a header row; amounts are exact decimals of the currency."""
    currency = statement.account.currency

    def decimal(minor: int) -> str:
        return Money(minor, currency).to_decimal_string()

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    opening = statement.opening_balance_minor
    writer.writerow(
        [
            statement.period_start.isoformat(),
            "",
            "OPENING_BALANCE",
            "Opening balance",
            "",
            "",
            "",
            decimal(opening),
            currency,
        ]
    )
    for line in statement.lines:
        paid_in = decimal(line.amount_minor) if line.amount_minor > 0 else ""
        paid_out = decimal(-line.amount_minor) if line.amount_minor < 0 else ""
        writer.writerow(
            [
                bank_day(line.booked_at).isoformat(),
                line.booked_at.isoformat(),
                line.kind,
                _text(line.description),
                _text(line.reference),
                paid_in,
                paid_out,
                decimal(line.balance_after_minor),
                currency,
            ]
        )
    closing = statement.closing_balance_minor
    writer.writerow(
        [
            statement.period_end.isoformat(),
            "",
            "CLOSING_BALANCE",
            "Closing balance",
            "",
            "",
            "",
            decimal(closing),
            currency,
        ]
    )
    return out.getvalue()
