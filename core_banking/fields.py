"""Field types shared by core_banking's API schemas: exact amounts and ISO 4217 codes."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, Strict, StringConstraints

from obank.money import MoneyError, currency_exponent

# Amounts cross the API as JSON integers of minor units; `Strict` refuses 10.5, "10" and true.
MAX_MINOR = 10**15
PositiveMinorUnits = Annotated[int, Strict(), Field(gt=0, le=MAX_MINOR)]
NonNegativeMinorUnits = Annotated[int, Strict(), Field(ge=0, le=MAX_MINOR)]


def _known_currency(code: str) -> str:
    try:
        currency_exponent(code)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc
    return code


CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(_known_currency)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
