"""The bank's calendar: outgoing limits count per bank day and month in the bank's own time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BANK_TIMEZONE = ZoneInfo("Europe/London")


def bank_day(moment: datetime) -> date:
    """The bank day `moment` (timezone-aware) falls on."""
    return moment.astimezone(BANK_TIMEZONE).date()


def month_start(day: date) -> date:
    return day.replace(day=1)
