"""The bank's calendar: outgoing limits count per bank day and month in the bank's own time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Self
from zoneinfo import ZoneInfo

BANK_TIMEZONE = ZoneInfo("Europe/London")
# `YYYY-MM` for the years a bank statement can concern.
MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)


def bank_day(moment: datetime) -> date:
    """The bank day `moment` (timezone-aware) falls on."""
    return moment.astimezone(BANK_TIMEZONE).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def day_start(day: date) -> datetime:
    """The first instant of bank day `day` (midnight in the bank's time zone)."""
    return datetime.combine(day, time(), BANK_TIMEZONE)


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month of the bank (statements, interest), written `YYYY-MM`."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Self:
        """`2026-11` as a Month; raises ValueError for anything else."""
        match = _MONTH.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a month written YYYY-MM")
        year, month = text.split("-")
        return cls(int(year), int(month))

    @classmethod
    def of(cls, day: date) -> Self:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range(self.last_day.day)]

    @property
    def starts_at(self) -> datetime:
        """The month's first instant, midnight in the bank's time zone."""
        return day_start(self.first_day)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the month (exclusive end)."""
        return self.next().starts_at

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
