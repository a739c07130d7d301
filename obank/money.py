"""Money as an integer count of minor units of an ISO 4217 currency; never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from iso4217 import Currency

# Every ISO 4217 currency with a minor unit, from the maintenance agency's list one as the `iso4217` package
# publishes it; the codes without one (gold, SDR, the testing code XTS...) are not money here.
CURRENCY_EXPONENTS: dict[str, int] = {
    currency.code: currency.exponent for currency in Currency if currency.exponent is not None
}

# ASCII digits only, and the whole string: `\d` would take other scripts' digits and `$` a trailing newline.
_DECIMAL = re.compile(r"(?P<sign>-?)(?P<units>[0-9]{1,18})(?:\.(?P<fraction>[0-9]{1,4}))?")


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


class CurrencyMismatchError(MoneyError):
    """Arithmetic or comparison between two currencies."""


def currency_exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit; unknown codes are refused."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unknown ISO 4217 currency code {currency!r}") from None


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount: integer minor units plus its ISO 4217 currency code."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass; a float or Decimal here is always a bug upstream.
        if type(self.minor) is not int:
            raise MoneyError(f"minor units must be an int, not {type(self.minor).__name__}")
        currency_exponent(self.currency)

    @classmethod
    def parse(cls, amount: str, currency: str) -> Money:
        """Parse an API-edge decimal string such as "10.50" exactly; floats and excess decimals refused."""
        if not isinstance(amount, str):
            raise MoneyError(f"amount must be a decimal string, not {type(amount).__name__}")
        exponent = currency_exponent(currency)
        match = _DECIMAL.fullmatch(amount)
        if match is None:
            raise MoneyError(f"amount {amount!r} is not a plain decimal number")
        fraction = match["fraction"] or ""
        if len(fraction) > exponent:
            raise MoneyError(f"{currency} has {exponent} decimal places; {amount!r} has {len(fraction)}")
        minor = int(match["units"]) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
        return cls(-minor if match["sign"] else minor, currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def to_decimal_string(self) -> str:
        """The amount as a decimal string with exactly the currency's decimal places ("10.50")."""
        exponent = self.exponent
        sign = "-" if self.minor < 0 else ""
        units, fraction = divmod(abs(self.minor), 10**exponent)
        return f"{sign}{units}.{fraction:0{exponent}d}" if exponent else f"{sign}{units}"

    def _same_currency(self, other: Any) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same_currency(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same_currency(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same_currency(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same_currency(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same_currency(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same_currency(other).minor

    def is_positive(self) -> bool:
        return self.minor > 0

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency}"
