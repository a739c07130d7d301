"""Open Banking amounts: a decimal string and an ISO 4217 code, to and from integer minor units, no floats.

`OBActiveOrHistoricCurrencyAndAmount`: `Amount` matches `OBActiveCurrencyAndAmount_SimpleType`
(`^\\d{1,13}$|^\\d{1,13}\\.\\d{1,5}$`: unsigned, at most 13 integer and 5 decimal digits); a sign travels
as a `CreditDebitIndicator` beside it. An amount is written with exactly its currency's minor digits,
and one with more decimals than its currency has is refused, never rounded.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from obank.money import Money, MoneyError

# The specification's patterns, with ASCII digits only (JSON Schema's `\d`); fullmatch, so no trailing newline.
AMOUNT_PATTERN = r"^[0-9]{1,13}$|^[0-9]{1,13}\.[0-9]{1,5}$"
CURRENCY_PATTERN = r"^[A-Z]{3,3}$"
MAX_INTEGER_DIGITS = 13
_AMOUNT = re.compile(r"[0-9]{1,13}(?:\.[0-9]{1,5})?")


class CreditDebitIndicator(StrEnum):
    """Which way an amount goes for the account: OB amounts carry no sign."""

    CREDIT = "Credit"
    DEBIT = "Debit"


def format_ob_amount(money: Money) -> str:
    """`money` as OB writes it ("10.50" GBP, "1500" JPY); a negative or too large amount is refused."""
    if money.minor < 0:
        raise MoneyError("an Open Banking amount is unsigned: its sign goes in a CreditDebitIndicator")
    text = money.to_decimal_string()
    if len(text.partition(".")[0]) > MAX_INTEGER_DIGITS:
        raise MoneyError(f"an Open Banking amount has at most {MAX_INTEGER_DIGITS} integer digits")
    return text


def parse_ob_amount(amount: str, currency: str) -> Money:
    """The exact amount an OB `Amount` string names; malformed strings and excess decimals are refused."""
    if not isinstance(amount, str) or not _AMOUNT.fullmatch(amount):
        raise MoneyError("an Open Banking amount is 1 to 13 digits, optionally a point and 1 to 5 digits")
    return Money.parse(amount, currency)  # unknown currencies and decimals beyond the minor unit refused


class OBAmount(BaseModel):
    """`OBActiveOrHistoricCurrencyAndAmount`: an amount and its currency."""

    model_config = ConfigDict(extra="forbid")

    Amount: Annotated[str, StringConstraints(pattern=AMOUNT_PATTERN)]
    Currency: Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]

    @classmethod
    def from_money(cls, money: Money) -> OBAmount:
        return cls(Amount=format_ob_amount(money), Currency=money.currency)

    def to_money(self) -> Money:
        return parse_ob_amount(self.Amount, self.Currency)


def signed_ob_amount(money: Money) -> tuple[OBAmount, CreditDebitIndicator]:
    """A signed amount (a balance) as OB writes it: the magnitude and Credit (zero included) or Debit."""
    indicator = CreditDebitIndicator.DEBIT if money.minor < 0 else CreditDebitIndicator.CREDIT
    return OBAmount.from_money(Money(abs(money.minor), money.currency)), indicator
