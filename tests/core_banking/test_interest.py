"""Savings interest: exact daily accruals, one monthly entry per account, never paid twice, even concurrently."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from core_banking import jobs
from core_banking.accounts.models import AccountType, InternalPurpose
from core_banking.interest.errors import DayNotOver, MonthNotOver
from core_banking.interest.models import UNITS_PER_MINOR
from core_banking.ledger.periods import Month
from core_banking.reconciliation.service import reconcile
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.settings import Settings
from tests.core_banking.conftest import CustomerHeadersFor
from tests.core_banking.helpers import account, count, new_account, new_customer
from tests.core_banking.test_history import at, deposit

SEPTEMBER, OCTOBER = Month(2026, 9), Month(2026, 10)


async def savings(platform: Platform, customer_id: uuid.UUID, balance: int, rate_bps: int = 150) -> uuid.UUID:
    """A savings account holding `balance` since the last day of August."""
    opened = await new_account(
        platform.sessions, platform.keyring, customer_id, account_type=AccountType.SAVINGS, interest_rate_bps=rate_bps
    )
    if balance:
        await deposit(platform, opened.id, balance, at(8, 31, 12), "Savings")
    return opened.id


async def interest_expense_balance(platform: Platform) -> int:
    async with platform.engine.connect() as connection:
        return await count(
            connection,
            "SELECT booked_balance_minor FROM core_banking.accounts WHERE internal_purpose = :purpose",
            purpose=InternalPurpose.INTEREST_EXPENSE.value,
        )


async def test_interest_is_exact_paid_monthly_with_the_remainder_carried(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    saver = await savings(platform, customer.id, 1_000_000)
    await savings(platform, customer.id, 0)
    checking = await new_account(platform.sessions, platform.keyring, customer.id)
    await deposit(platform, checking.id, 1_000_000, at(8, 31, 12), "Salary")

    september = await jobs.post_monthly_interest(platform, SEPTEMBER, now=at(10, 1, 9))
    # 30 days x 1 000 000 x 150 bp / (10 000 x 365) = 1232.876... minor units: 1232 paid, 0.876... carried.
    assert [(r.account_id, r.paid_minor, r.carried_out_units) for r in september] == [(saver, 1_232, 3_200_000)]
    assert 1_232 * UNITS_PER_MINOR + 3_200_000 == 30 * 1_000_000 * 150
    assert await jobs.post_monthly_interest(platform, SEPTEMBER, now=at(10, 1, 10)) == []

    october = await jobs.post_monthly_interest(platform, OCTOBER, now=at(11, 1, 9))
    # October's balance includes September's interest; the carried remainder joins October's accruals.
    assert 1_276 * UNITS_PER_MINOR + 1_528_800 == 31 * 1_001_232 * 150 + 3_200_000
    assert [(r.carried_in_units, r.paid_minor, r.carried_out_units) for r in october] == [(3_200_000, 1_276, 1_528_800)]
    assert (await account(platform.sessions, saver)).booked_balance_minor == 1_000_000 + 1_232 + 1_276
    assert (await account(platform.sessions, checking.id)).booked_balance_minor == 1_000_000
    assert await interest_expense_balance(platform) == -(1_232 + 1_276)
    async with platform.engine.connect() as connection:
        # Nothing is lost to rounding: every unit accrued is paid or carried.
        accrued = await count(connection, "SELECT sum(interest_units) FROM core_banking.interest_accruals")
        assert accrued == (1_232 + 1_276) * UNITS_PER_MINOR + 1_528_800
        assert await count(connection, "SELECT count(*) FROM core_banking.interest_accruals") == 61
        posted = "SELECT count(*) FROM platform.outbox_events WHERE event_type = 'interest.posted'"
        assert await count(connection, posted) == 2

    statement = await client.get(f"/api/v1/accounts/{saver}/statements/2026-10", headers=customer_headers(customer.id))
    lines = [(t["kind"], t["description"], t["amount_minor"]) for t in statement.json()["transactions"]]
    assert lines == [("INTEREST", "Interest paid for September 2026", 1_232)]
    async with unit_of_work(platform.sessions) as session:
        report = await reconcile(session, trigger="test")
    assert report.clean, report.discrepancies


async def test_a_day_or_month_not_over_is_refused(platform: Platform) -> None:
    with pytest.raises(DayNotOver):
        await jobs.accrue_interest_for_day(platform, date(2026, 10, 1), now=at(10, 1, 22))  # 23:00 in London
    with pytest.raises(MonthNotOver):
        await jobs.post_monthly_interest(platform, OCTOBER, now=at(10, 31, 22))
    # Default: yesterday, and last month.
    run = await jobs.accrue_interest_for_day(platform, now=at(10, 1, 23, 30))  # 00:30 on 2 October in London
    assert run.day == date(2026, 10, 1)


async def test_a_missed_month_is_paid_before_the_next_one(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    saver = await savings(platform, customer.id, 2_000_000, rate_bps=275)
    for day in SEPTEMBER.days():  # the daily job ran, the monthly one did not
        await jobs.accrue_interest_for_day(platform, day, now=at(10, 1, 1))
    posted = await jobs.post_monthly_interest(platform, OCTOBER, now=at(11, 1, 9))
    assert [r.month for r in posted] == [SEPTEMBER, OCTOBER]
    assert posted[1].carried_in_units == posted[0].carried_out_units
    total_units = 61 * 2_000_000 * 275
    assert sum(r.paid_minor for r in posted) * UNITS_PER_MINOR + posted[1].carried_out_units == total_units
    assert (await account(platform.sessions, saver)).booked_balance_minor == 2_000_000 + sum(
        r.paid_minor for r in posted
    )


async def test_concurrent_runs_accrue_and_pay_once(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    savers = [await savings(platform, customer.id, 100_000 * (n + 1)) for n in range(5)]
    day = SEPTEMBER.first_day + timedelta(days=4)
    runs = await asyncio.gather(*(jobs.accrue_interest_for_day(platform, day, now=at(10, 1, 9)) for _ in range(4)))
    assert sorted(run.accounts for run in runs) == [0, 0, 0, 5]
    batches = await asyncio.gather(
        *(jobs.post_monthly_interest(platform, SEPTEMBER, now=at(10, 1, 9)) for _ in range(3))
    )
    paid = sorted((record.account_id, record.paid_minor) for batch in batches for record in batch)
    assert [account_id for account_id, _ in paid] == sorted(savers)
    async with platform.engine.connect() as connection:
        assert await count(connection, "SELECT count(*) FROM core_banking.interest_accruals") == 5 * 30
        assert await count(connection, "SELECT count(*) FROM core_banking.journal_entries WHERE kind = 'INTEREST'") == 5
    for account_id, minor in paid:
        assert (await account(platform.sessions, account_id)).booked_balance_minor - minor in {
            100_000 * (n + 1) for n in range(5)
        }
    assert await interest_expense_balance(platform) == -sum(minor for _, minor in paid)
    async with unit_of_work(platform.sessions) as session:
        report = await reconcile(session, trigger="test")
    assert report.clean, report.discrepancies


def interest_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBANK_")}
    env.update(
        OBANK_ENV="test",
        OBANK_DATA_DIR=str(settings.data_dir),
        OBANK_DATABASE_URL=settings.database_url or "",
        OBANK_ENCRYPTION_KEYS=settings.encryption_keys or "",
        OBANK_ACTIVE_ENCRYPTION_KEY_ID=settings.active_encryption_key_id or "",
        COLUMNS="200",
    )
    command = [sys.executable, "-m", "core_banking.interest.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


async def test_the_cli_pays_a_month_and_refuses_one_not_over(platform: Platform, settings: Settings) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    saver = await savings(platform, customer.id, 1_000_000)
    paid = interest_cli(settings, "post", "--month", "2026-09")
    assert paid.returncode == 0, paid.stdout + paid.stderr
    assert str(saver) in paid.stdout and "1232" in paid.stdout
    assert (await account(platform.sessions, saver)).booked_balance_minor == 1_001_232
    today = interest_cli(settings, "accrue", "--day", datetime.now(UTC).date().isoformat())
    assert today.returncode == 2 and "not over" in today.stdout
