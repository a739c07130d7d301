"""Statements (`OBReadStatement2`): each account's monthly statements, the current month to date.

A statement is shown in its Basic form (`OBStatement2Basic`: its period) unless the consent grants
ReadStatementsDetail (`OBStatement2Detail`: also its amounts). A whole month is `RegularPeriodic`; a part
of one (the month to date, or a month the consent's transaction window cuts) is `Interim`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core_banking.facade import Money, StatementRecord
from core_banking.ledger.periods import BANK_TIMEZONE
from open_banking import schemas as envelope
from open_banking.amounts import CreditDebitIndicator as Indicator
from open_banking.amounts import OBAmount, signed_ob_amount

StatementTypeCode = Literal["AccountClosure", "AccountOpening", "Annual", "Interim", "RegularPeriodic"]
STARTING_BALANCE = "UK.OBIE.StartingBalance"
CLOSING_BALANCE = "UK.OBIE.ClosingBalance"
TOTAL_CREDITS = "UK.OBIE.TotalCredits"
TOTAL_DEBITS = "UK.OBIE.TotalDebits"


def _starts_a_month(moment: datetime) -> bool:
    # Statement months are the bank's calendar months (core_banking.ledger.periods), in its time zone.
    local = moment.astimezone(BANK_TIMEZONE)
    return (local.day, local.hour, local.minute, local.second, local.microsecond) == (1, 0, 0, 0, 0)


def statement_type(statement: StatementRecord) -> StatementTypeCode:
    """`RegularPeriodic` for a whole month, `Interim` for part of one."""
    whole = _starts_a_month(statement.start) and _starts_a_month(statement.end)
    return "RegularPeriodic" if whole else "Interim"


class OBStatementAmount(BaseModel):
    """One figure of a statement (Detail only): its opening and closing balances, its credits and debits."""

    model_config = ConfigDict(extra="forbid")

    CreditDebitIndicator: Indicator
    Type: str = Field(min_length=1, max_length=40)
    Amount: OBAmount

    @classmethod
    def balance(cls, amount_type: str, money: Money) -> OBStatementAmount:
        amount, indicator = signed_ob_amount(money)
        return cls(CreditDebitIndicator=indicator, Type=amount_type, Amount=amount)

    @classmethod
    def total(cls, amount_type: str, money: Money, indicator: Indicator) -> OBStatementAmount:
        return cls(CreditDebitIndicator=indicator, Type=amount_type, Amount=OBAmount.from_money(money))


class OBStatement2(BaseModel):
    """A statement; `StatementAmount` only with ReadStatementsDetail."""

    model_config = ConfigDict(extra="forbid")

    AccountId: str = Field(min_length=1, max_length=40)
    StatementId: str = Field(min_length=1, max_length=40)
    Type: StatementTypeCode
    StartDateTime: datetime
    EndDateTime: datetime
    CreationDateTime: datetime
    StatementAmount: list[OBStatementAmount] | None = None

    @classmethod
    def of(cls, statement: StatementRecord, *, detail: bool) -> OBStatement2:
        amounts = None
        if detail:
            amounts = [
                OBStatementAmount.balance(STARTING_BALANCE, statement.opening_balance),
                OBStatementAmount.balance(CLOSING_BALANCE, statement.closing_balance),
                OBStatementAmount.total(TOTAL_CREDITS, statement.paid_in, Indicator.CREDIT),
                OBStatementAmount.total(TOTAL_DEBITS, statement.paid_out, Indicator.DEBIT),
            ]
        return cls(
            AccountId=str(statement.account_id),
            StatementId=statement.id,
            Type=statement_type(statement),
            StartDateTime=statement.start,
            EndDateTime=statement.end,
            CreationDateTime=statement.created_at,
            StatementAmount=amounts,
        )


class OBReadDataStatement2(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Statement: list[OBStatement2]


class OBReadStatement2(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadDataStatement2
    Links: envelope.Links
    Meta: envelope.Meta
