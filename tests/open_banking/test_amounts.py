"""OB amounts: integer minor units to the spec's decimal strings and back, for every ISO 4217 exponent."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from obank.money import CURRENCY_EXPONENTS, Money, MoneyError
from open_banking.amounts import (
    CreditDebitIndicator,
    OBAmount,
    format_ob_amount,
    parse_ob_amount,
    signed_ob_amount,
)
from tests.open_banking.contract import spec_document

_SCHEMAS = spec_document("account-info-openapi.json")["components"]["schemas"]
# The specification's own pattern, read from the official file; JSON Schema's `\d` is ASCII (ECMA-262).
SPEC_AMOUNT = re.compile(_SCHEMAS["OBActiveCurrencyAndAmount_SimpleType"]["pattern"], re.ASCII)
CURRENCIES = sorted(CURRENCY_EXPONENTS)
EXPONENTS = sorted(set(CURRENCY_EXPONENTS.values()))


def spec_accepts(amount: str) -> bool:
    # ECMA-262 `$` ends the input; Python's also matches before a final newline, which ECMA's does not.
    return SPEC_AMOUNT.search(amount) is not None and not amount.endswith("\n")


def test_every_iso_4217_exponent_is_covered() -> None:
    assert EXPONENTS == [0, 2, 3, 4]


@given(data=st.data(), currency=st.sampled_from(CURRENCIES))
def test_minor_units_round_trip_through_the_ob_string(data: st.DataObject, currency: str) -> None:
    exponent = CURRENCY_EXPONENTS[currency]
    minor = data.draw(st.integers(min_value=0, max_value=10 ** (13 + exponent) - 1))
    money = Money(minor, currency)

    amount = OBAmount.from_money(money)

    assert spec_accepts(amount.Amount)
    assert amount.Currency == currency
    decimals = amount.Amount.partition(".")[2]
    assert len(decimals) == exponent  # exactly the currency's minor digits
    assert amount.to_money() == money
    assert parse_ob_amount(amount.Amount, currency) == money


@pytest.mark.parametrize("exponent", [0, 2, 3, 4])
def test_the_largest_and_smallest_amounts_of_each_exponent(exponent: int) -> None:
    currency = next(code for code in CURRENCIES if CURRENCY_EXPONENTS[code] == exponent)
    largest = Money(10 ** (13 + exponent) - 1, currency)
    assert format_ob_amount(largest).partition(".")[0] == "9" * 13
    assert parse_ob_amount(format_ob_amount(largest), currency) == largest
    assert format_ob_amount(Money(0, currency)) == ("0." + "0" * exponent if exponent else "0")
    with pytest.raises(MoneyError):
        format_ob_amount(Money(10 ** (13 + exponent), currency))  # a fourteenth integer digit


@given(text=st.text(max_size=24), currency=st.sampled_from(CURRENCIES))
def test_strings_the_spec_pattern_refuses_are_refused(text: str, currency: str) -> None:
    if spec_accepts(text):
        decimals = text.partition(".")[2]
        if len(decimals) <= CURRENCY_EXPONENTS[currency]:
            assert parse_ob_amount(text, currency).minor >= 0
        else:
            with pytest.raises(MoneyError):  # exact or refused: never rounded
                parse_ob_amount(text, currency)
    else:
        with pytest.raises(MoneyError):
            parse_ob_amount(text, currency)
        with pytest.raises(ValidationError):
            OBAmount(Amount=text, Currency=currency)


@given(
    text=st.from_regex(r"\A[0-9]{1,13}(\.[0-9]{1,5})?\Z"),
    currency=st.sampled_from(CURRENCIES),
)
def test_strings_the_spec_pattern_accepts_are_read_exactly(text: str, currency: str) -> None:
    assert spec_accepts(text)
    units, _, decimals = text.partition(".")
    exponent = CURRENCY_EXPONENTS[currency]
    if len(decimals) > exponent:
        with pytest.raises(MoneyError):
            parse_ob_amount(text, currency)
        return
    expected = int(units) * 10**exponent + int(decimals.ljust(exponent, "0") or "0")
    assert parse_ob_amount(text, currency) == Money(expected, currency)


@pytest.mark.parametrize(
    "text",
    ["-1.00", "+1.00", "1e3", "1,00", " 1.00", "1.00 ", "1.", ".5", "1.000000", "12345678901234", "\u0661.00", "1\n"],
)
def test_malformed_amounts_are_refused(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_ob_amount(text, "GBP")


def test_unknown_currencies_and_floats_are_refused() -> None:
    with pytest.raises(MoneyError):
        parse_ob_amount("1.00", "ABC")
    with pytest.raises(MoneyError):
        parse_ob_amount(1.5, "GBP")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        OBAmount(Amount="1.00", Currency="gbp")


def test_a_signed_amount_carries_its_sign_as_an_indicator() -> None:
    assert signed_ob_amount(Money(-1050, "GBP")) == (
        OBAmount(Amount="10.50", Currency="GBP"),
        CreditDebitIndicator.DEBIT,
    )
    assert signed_ob_amount(Money(0, "JPY")) == (OBAmount(Amount="0", Currency="JPY"), CreditDebitIndicator.CREDIT)
    with pytest.raises(MoneyError):
        OBAmount.from_money(Money(-1, "GBP"))  # unsigned on its own
