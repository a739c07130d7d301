"""When a payment order pays: its nominal dates, moved to business days, at the bank's execution hour.

Dates are counted from the first payment date each time (never from the previous occurrence), so a
monthly order on the 31st pays on the 30th of April and the 28th (or 29th) of February and on the 31st again
in May. A date falling on a weekend or an English bank holiday pays on the next business day. The moment of
execution is a wall-clock hour in the bank's time zone (Europe/London), so it stays 06:00 across the clock
changes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

import holidays
from dateutil.relativedelta import relativedelta

from core_banking.ledger.periods import BANK_TIMEZONE

EXECUTION_TIME = time(6, 0)


class Frequency(StrEnum):
    """ISO 20022 `Frequency6Code` values a standing order may take (UK Open Banking `OBFrequency6Code`)."""

    DAILY = "DAIL"
    WEEKLY = "WEEK"
    FORTNIGHTLY = "FRTN"
    MONTHLY = "MNTH"
    QUARTERLY = "QURT"
    HALF_YEARLY = "MIAN"
    YEARLY = "YEAR"


_STEPS = {
    Frequency.DAILY: relativedelta(days=1),
    Frequency.WEEKLY: relativedelta(weeks=1),
    Frequency.FORTNIGHTLY: relativedelta(weeks=2),
    Frequency.MONTHLY: relativedelta(months=1),
    Frequency.QUARTERLY: relativedelta(months=3),
    Frequency.HALF_YEARLY: relativedelta(months=6),
    Frequency.YEARLY: relativedelta(years=1),
}


@lru_cache(maxsize=8)
def _bank_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv="ENG", years=year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def next_business_day(day: date) -> date:
    """`day` itself if a business day, else the first business day after it."""
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


# Frequencies counted in months, which may pay on the last day of each month rather than on a day of it.
MONTHLY_FREQUENCIES = frozenset({Frequency.MONTHLY, Frequency.QUARTERLY, Frequency.HALF_YEARLY, Frequency.YEARLY})


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    following: date = day.replace(day=1) + relativedelta(months=1)
    return following - timedelta(days=1)


def nominal_date(first: date, frequency: Frequency | None, index: int, *, on_month_end: bool = False) -> date:
    """The `index`th (0-based) date of the order, before moving to a business day.

    `on_month_end` (monthly frequencies only) pays on the last day of each month, whatever the first day was.
    """
    if frequency is None:
        return first
    moved: date = first + _STEPS[frequency] * index if index else first
    return month_end(moved) if on_month_end else moved


def execution_moment(day: date) -> datetime:
    """When an occurrence nominally on `day` runs: the next business day at the execution time, London time."""
    return datetime.combine(next_business_day(day), EXECUTION_TIME, BANK_TIMEZONE)
