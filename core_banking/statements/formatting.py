"""How amounts and dates read on a statement: grouped digits, the currency's sign, the bank's calendar."""

from __future__ import annotations

from datetime import date

from obank.money import Money

CURRENCY_SIGNS = {"GBP": "£", "EUR": "€", "USD": "$"}


def amount(minor: int, currency: str) -> str:
    """`123456` GBP as `1,234.56`: the currency's decimal places, thousands grouped."""
    text = Money(abs(minor), currency).to_decimal_string()
    units, _, fraction = text.partition(".")
    grouped = f"{int(units):,}" + (f".{fraction}" if fraction else "")
    return f"-{grouped}" if minor < 0 else grouped


def money(minor: int, currency: str) -> str:
    """An amount with its currency: `£1,234.56`, `-€5.00`, `1,200 JPY`."""
    sign = CURRENCY_SIGNS.get(currency)
    digits = amount(abs(minor), currency)
    text = f"{sign}{digits}" if sign else f"{digits} {currency}"
    return f"-{text}" if minor < 0 else text


def long_date(day: date) -> str:
    """`1 November 2026`."""
    return f"{day.day} {day:%B %Y}"


def short_date(day: date) -> str:
    """`01 Nov 2026`."""
    return f"{day:%d %b %Y}"


def grouped_iban(iban: str) -> str:
    """An IBAN in groups of four, as printed (ISO 13616 paper format)."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
