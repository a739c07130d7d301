"""Due times in London across the clock changes and month ends, and intervals on their grid."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from obank.scheduler.schedules import Cron, Every

LONDON = ZoneInfo("Europe/London")


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    """A London wall-clock time (`fold=1`: its second occurrence in the autumn), in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON, fold=fold).astimezone(UTC)


def following(schedule: Cron | Every, start: datetime, count: int) -> list[datetime]:
    dues: list[datetime] = []
    for _ in range(count):
        start = schedule.next_due(start)
        dues.append(start)
    return dues


def test_a_daily_time_keeps_its_london_wall_clock_time_across_both_changes() -> None:
    accrual = Cron("15 0 * * *", LONDON)
    spring = following(accrual, london(2026, 3, 28, 12), 3)
    assert spring == [london(2026, 3, 29, 0, 15), london(2026, 3, 30, 0, 15), london(2026, 3, 31, 0, 15)]
    assert [due.hour for due in spring] == [0, 23, 23]  # GMT, then BST (the day before, in UTC)
    autumn = following(accrual, london(2026, 10, 24, 12), 2)
    assert autumn == [london(2026, 10, 25, 0, 15), london(2026, 10, 26, 0, 15)]
    assert [due.hour for due in autumn] == [23, 0]


def test_a_time_the_spring_change_skips_falls_due_when_the_clocks_resume() -> None:
    skipped = Cron("30 1 * * *", LONDON)  # 01:00-02:00 does not exist in London on 2026-03-29
    dues = following(skipped, london(2026, 3, 28, 12), 2)
    assert dues == [datetime(2026, 3, 29, 1, 0, tzinfo=UTC), london(2026, 3, 30, 1, 30)]
    assert dues[0].astimezone(LONDON).strftime("%H:%M %Z") == "02:00 BST"
    assert skipped.latest_due(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == dues[0]
    assert skipped.latest_due(datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)) == london(2026, 3, 28, 1, 30)


def test_a_time_the_autumn_change_repeats_falls_due_once() -> None:
    repeated = Cron("30 1 * * *", LONDON)  # 01:00-02:00 happens twice in London on 2026-10-25
    dues = following(repeated, london(2026, 10, 24, 12), 2)
    assert dues == [london(2026, 10, 25, 1, 30, fold=0), london(2026, 10, 26, 1, 30)]
    second_time = london(2026, 10, 25, 1, 45, fold=1)  # 01:45 GMT, after the clocks went back
    assert repeated.latest_due(second_time) == dues[0]
    assert repeated.next_due(second_time) == dues[1]


@pytest.mark.parametrize(
    ("now", "latest", "next_"),
    [
        (london(2026, 1, 31, 23, 59), london(2026, 1, 1, 1, 0), london(2026, 2, 1, 1, 0)),
        (london(2026, 2, 1, 1, 0), london(2026, 2, 1, 1, 0), london(2026, 3, 1, 1, 0)),  # exactly due
        (london(2026, 3, 31, 12), london(2026, 3, 1, 1, 0), london(2026, 4, 1, 1, 0)),  # March: GMT to BST
        (london(2026, 12, 31, 23, 0), london(2026, 12, 1, 1, 0), london(2027, 1, 1, 1, 0)),  # the year's end
    ],
)
def test_the_monthly_posting_falls_on_the_first_of_each_month(now: datetime, latest: datetime, next_: datetime) -> None:
    posting = Cron("0 1 1 * *", LONDON)
    assert posting.latest_due(now) == latest
    assert posting.next_due(now) == next_
    assert posting.latest_due(latest - timedelta(microseconds=1)) < latest


def test_latest_and_next_agree_with_the_walk_forward_through_both_changes() -> None:
    for expression in ("30 1 * * *", "0 * * * *", "*/7 * * * *", "15 0 * * *"):
        schedule = Cron(expression, LONDON)
        for start in (london(2026, 3, 28, 20), london(2026, 10, 24, 20)):
            dues = following(schedule, start, 400 if "*" in expression.split()[1] else 5)
            for before, after in itertools.pairwise(dues):
                for now in (before, before + (after - before) / 2, after - timedelta(microseconds=1)):
                    assert schedule.latest_due(now) == before, (expression, now)
                    assert schedule.next_due(now) == after, (expression, now)


def test_intervals_fall_on_their_grid_in_utc() -> None:
    every_minute = Every(60)
    now = datetime(2026, 3, 29, 0, 59, 59, 500_000, tzinfo=UTC)
    assert every_minute.latest_due(now) == datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert every_minute.next_due(now) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert every_minute.latest_due(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert Every(30).next_due(now) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert every_minute.describe() == "every 60 s"


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError, match="five fields"):
        Cron("0 1 * *", LONDON)
    with pytest.raises(ValueError, match="not a cron expression"):
        Cron("61 1 * * *", LONDON)
    with pytest.raises(ValueError, match="positive"):
        Every(0)
