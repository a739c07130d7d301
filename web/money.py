"""Amounts as people type and read them: "1,234.56" to and from integer minor units (never a float)."""

from __future__ import annotations

import re

from obank.money import MoneyError, currency_exponent

_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
_AMOUNT = re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,15})(?:\.([0-9]{1,4}))?")
MAX_MINOR = 10**13  # far above any limit, far below overflow


class AmountInvalid(ValueError):
    """Not an amount a person could mean: letters, a sign, too many decimals, or absurdly large."""


def parse_amount(text: str, currency: str) -> int:
    """ "1,234.5", "GBP" → 123450. Positive amounts only; commas only as thousands separators."""
    try:
        exponent = currency_exponent(currency)
    except MoneyError:
        raise AmountInvalid("Choose an account to pay from") from None
    cleaned = text.strip().removeprefix(_SYMBOLS.get(currency, "\0")).strip()
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise AmountInvalid("Enter an amount such as 25 or 1,250.00")
    fraction = match.group(2) or ""
    if len(fraction) > exponent:
        raise AmountInvalid(f"Enter the amount with at most {exponent} decimal places")
    minor: int = int(match.group(1).replace(",", "")) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    if minor <= 0:
        raise AmountInvalid("Enter an amount greater than zero")
    if minor >= MAX_MINOR:
        raise AmountInvalid("That amount is too large")
    return minor


def format_money(minor: int | None, currency: str = "GBP") -> str:
    """123450, "GBP" → "£1,234.50"; a negative amount keeps its sign in front."""
    if minor is None:
        return ""
    try:
        exponent = currency_exponent(currency)
    except MoneyError:
        exponent = 2
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**exponent)
    number = f"{whole:,}.{fraction:0{exponent}d}" if exponent else f"{whole:,}"
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"
