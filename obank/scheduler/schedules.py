"""When a job falls due: a cron expression read in a time zone, or a fixed interval on a grid.

Cron expressions are evaluated by `cronsim` (the small, typed, dependency-free iterator that healthchecks.io
maintains and runs its own cron checks on). In a zone with summer time it follows Debian cron: a time the
spring change skips (01:30 on 2026-03-29 in London) falls due when the clocks resume (02:00 BST), and a time
the autumn change repeats (01:30 on 2026-10-25) falls due once, at its first occurrence. Every due time is
returned in UTC, the form the scheduler stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


class Schedule(Protocol):
    """The due times of a job: instants, never two the same."""

    def latest_due(self, now: datetime) -> datetime:
        """The last due time at or before `now` (aware), in UTC."""
        ...

    def next_due(self, now: datetime) -> datetime:
        """The first due time after `now` (aware), in UTC."""
        ...

    def describe(self) -> str:
        """The schedule as an operator would write it."""
        ...


@dataclass(frozen=True, slots=True)
class Cron:
    """A five-field cron expression (minute hour day-of-month month day-of-week) read in `zone`."""

    expression: str
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if len(self.expression.split()) != 5:
            raise ValueError(f"a cron schedule has five fields: {self.expression!r}")
        try:
            CronSim(self.expression, datetime.now(self.zone))
        except CronSimError as error:
            raise ValueError(f"not a cron expression: {self.expression!r}") from error

    def next_due(self, now: datetime) -> datetime:
        # cronsim works in whole seconds and yields the first match strictly after its start.
        return next(CronSim(self.expression, now.astimezone(self.zone))).astimezone(UTC)

    def latest_due(self, now: datetime) -> datetime:
        # Reverse steps back one second before matching; the second is added in UTC, since wall-clock
        # arithmetic in the zone would leap an hour at the autumn change.
        start = (now.astimezone(UTC).replace(microsecond=0) + _SECOND).astimezone(self.zone)
        latest = next(CronSim(self.expression, start, reverse=True)).astimezone(UTC)
        # Walking backwards can step over a time the forward walk yields (one moved out of a DST gap): the
        # forward walk defines the schedule, so follow it from there up to `now`.
        following = self.next_due(latest)
        while following <= now:
            latest, following = following, self.next_due(following)
        return latest

    def describe(self) -> str:
        return f"{self.expression} ({self.zone.key})"


@dataclass(frozen=True, slots=True)
class Every:
    """Every `seconds`, on a grid counted from the Unix epoch (so every 60 s falls on whole minutes)."""

    seconds: float

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError("an interval is a positive number of seconds")

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    def latest_due(self, now: datetime) -> datetime:
        return _EPOCH + (now - _EPOCH) // self.period * self.period

    def next_due(self, now: datetime) -> datetime:
        return self.latest_due(now) + self.period

    def describe(self) -> str:
        return f"every {self.seconds:g} s"
