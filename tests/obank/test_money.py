"""Money: exact minor units, exact parsing at the API edge, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iso4217 import Currency

from obank.money import CURRENCY_EXPONENTS, CurrencyMismatchError, Money, MoneyError


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("10.50", "GBP", 1050),
        ("0.01", "EUR", 1),
        ("10", "GBP", 1000),
        ("1500", "JPY", 1500),
        ("1.234", "BHD", 1234),
        ("-3.5", "USD", -350),
        ("0", "GBP", 0),
    ],
)
def test_parses_decimal_strings_exactly(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("10.505", "GBP"),
        ("1.5", "JPY"),
        ("1e3", "GBP"),
        ("10,50", "GBP"),
        (" 10", "GBP"),
        ("", "GBP"),
        ("+1", "GBP"),
        ("NaN", "GBP"),
        ("1.", "GBP"),
        (".5", "GBP"),
        ("10\n", "GBP"),  # a trailing newline is not part of an amount
        ("\u0661\u0660", "GBP"),  # digits of another script
    ],
)
def test_refuses_inexact_or_malformed_amounts(text: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(text, currency)


def test_refuses_floats_and_unknown_currencies() -> None:
    with pytest.raises(MoneyError):
        Money(10.5, "GBP")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(True, "GBP")
    with pytest.raises(MoneyError):
        Money.parse(10.5, "GBP")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(100, "ABC")  # not an ISO 4217 code
    with pytest.raises(MoneyError):
        Money(100, "gbp")


def test_every_currency_with_a_minor_unit_is_known_with_the_published_exponent() -> None:
    published = {currency.code: currency.exponent for currency in Currency}
    assert {code: exponent for code, exponent in published.items() if exponent is not None} == CURRENCY_EXPONENTS
    assert (CURRENCY_EXPONENTS["GBP"], CURRENCY_EXPONENTS["JPY"], CURRENCY_EXPONENTS["KWD"]) == (2, 0, 3)
    assert CURRENCY_EXPONENTS["CLF"] == 4


# ISO 4217 codes with no minor unit: gold, the IMF's special drawing right, the testing code, "no currency".
@pytest.mark.parametrize("code", ["XAU", "XDR", "XTS", "XXX"])
def test_a_code_without_a_minor_unit_is_not_money(code: str) -> None:
    with pytest.raises(MoneyError):
        Money(1, code)


def test_refuses_mixed_currencies() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money(1, "GBP") + Money(1, "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = Money(1, "GBP") < Money(1, "EUR")


def test_formats_with_the_currency_exponent() -> None:
    assert Money(1050, "GBP").to_decimal_string() == "10.50"
    assert Money(-5, "GBP").to_decimal_string() == "-0.05"
    assert Money(1500, "JPY").to_decimal_string() == "1500"
    assert Money(1, "KWD").to_decimal_string() == "0.001"
    assert str(Money(123456, "EUR")) == "1234.56 EUR"


@given(minor=st.integers(min_value=-(10**15), max_value=10**15), currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_format_and_parse_round_trip(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert Money.parse(money.to_decimal_string(), currency) == money


@given(a=st.integers(-(10**12), 10**12), b=st.integers(-(10**12), 10**12))
def test_arithmetic_is_exact(a: int, b: int) -> None:
    assert (Money(a, "GBP") + Money(b, "GBP")).minor == a + b
    assert (Money(a, "GBP") - Money(b, "GBP")).minor == a - b
