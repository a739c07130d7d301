"""Balances (`OBReadBalance1`): each account's booked and available balance now, the overdraft as a credit line.

Balance types are v4.0's ISO 20022 codes: `ITBD` (interim booked: the sum of booked entries) and `ITAV`
(interim available: booked, plus the overdraft, less open holds). The overdraft is the `Pre-Agreed`
`CreditLine`, included in the available balance and not in the booked one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core_banking.facade import AccountBalances, Money
from open_banking import schemas as envelope
from open_banking.amounts import CreditDebitIndicator as Indicator
from open_banking.amounts import OBAmount, signed_ob_amount

BalanceTypeCode = Literal["CLAV", "CLBD", "FWAV", "INFO", "ITAV", "ITBD", "OPAV", "OPBD", "PRCD", "XPCD"]
INTERIM_BOOKED: BalanceTypeCode = "ITBD"
INTERIM_AVAILABLE: BalanceTypeCode = "ITAV"


class OBCreditLine(BaseModel):
    """A credit line the account may draw on, and whether the balance beside it counts it."""

    model_config = ConfigDict(extra="forbid")

    Included: bool
    Type: Literal["Available", "Credit", "Emergency", "Pre-Agreed", "Temporary"]
    Amount: OBAmount


class OBCashBalance(BaseModel):
    """One balance of one account (`OBReadBalance1.Data.Balance[]`)."""

    model_config = ConfigDict(extra="forbid")

    AccountId: str = Field(min_length=1, max_length=40)
    CreditDebitIndicator: Indicator
    Type: BalanceTypeCode
    DateTime: datetime
    Amount: OBAmount
    CreditLine: list[OBCreditLine] | None = None

    @classmethod
    def of(cls, balances: AccountBalances, balance_type: BalanceTypeCode, amount: Money) -> OBCashBalance:
        magnitude, indicator = signed_ob_amount(amount)
        overdraft = balances.overdraft_limit
        credit_lines = None
        if overdraft.minor > 0:
            included = balance_type == INTERIM_AVAILABLE
            credit_lines = [OBCreditLine(Included=included, Type="Pre-Agreed", Amount=OBAmount.from_money(overdraft))]
        return cls(
            AccountId=str(balances.account_id),
            CreditDebitIndicator=indicator,
            Type=balance_type,
            DateTime=balances.as_of,
            Amount=magnitude,
            CreditLine=credit_lines,
        )

    @classmethod
    def all_of(cls, balances: AccountBalances) -> list[OBCashBalance]:
        return [
            cls.of(balances, INTERIM_BOOKED, balances.booked),
            cls.of(balances, INTERIM_AVAILABLE, balances.available),
        ]


class OBReadBalance1Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Balance: list[OBCashBalance] = Field(min_length=1)


class OBReadBalance1(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadBalance1Data
    Links: envelope.Links
    Meta: envelope.Meta
