"""Scheduled payments and standing orders: each occurrence pays once, on its (business) day, at 06:00 London."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from audit.trail import platform_units
from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.jobs import run_due_payment_orders
from core_banking.ledger.periods import BANK_TIMEZONE, bank_day
from core_banking.payment_orders import service
from core_banking.payment_orders.errors import InvalidPaymentOrder
from core_banking.payment_orders.models import OrderKind, OrderStatus, RunOutcome
from core_banking.payment_orders.schedule import Frequency, execution_moment
from core_banking.payment_orders.schemas import OrderRecord, OrderRequest
from obank.actor import Actor, ActorKind
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from obank.settings import Settings
from tests.core_banking.helpers import account, new_account, new_customer
from tests.core_banking.payments.test_payment_saga import final

ALAN = CreditorAccount("Alan Turing", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "40051576262352")


def gbp(minor: int) -> Money:
    return Money(minor, "GBP")


async def create(platform: Platform, customer_id: uuid.UUID, **fields: Any) -> OrderRecord:
    async with platform_units(platform).begin(Actor(ActorKind.CUSTOMER, str(customer_id))) as uow:
        return await service.create_order(uow, OrderRequest(customer_id=customer_id, **fields))


async def read(platform: Platform, order_id: uuid.UUID) -> OrderRecord:
    async with unit_of_work(platform.sessions) as session:
        return await service.get_order(session, platform.keyring, order_id)


@pytest.fixture
async def payer(platform: Platform) -> tuple[uuid.UUID, uuid.UUID]:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=100_000)
    return customer.id, debtor.id


@pytest.mark.usefixtures("rails")
async def test_a_scheduled_payment_is_paid_on_its_date_through_the_saga(platform: Platform, payer: Any) -> None:
    customer_id, debtor = payer
    today = bank_day(datetime.now(UTC))
    order = await create(
        platform,
        customer_id,
        kind=OrderKind.SCHEDULED,
        debtor_account_id=debtor,
        creditor=ALAN,
        first=gbp(4_200),
        first_date=today + timedelta(days=3),
        reference="Deposit",
    )
    assert order.status is OrderStatus.ACTIVE and order.next_amount == gbp(4_200)
    due = order.next_payment_at
    assert due is not None and due.astimezone(BANK_TIMEZONE).hour == 6

    assert await run_due_payment_orders(platform, now=due - timedelta(seconds=1)) == 0
    assert await run_due_payment_orders(platform, now=due) == 1
    ran = await read(platform, order.id)
    assert ran.status is OrderStatus.COMPLETED and ran.next_payment_at is None
    (run,) = ran.runs
    assert (run.outcome, run.sequence) == (RunOutcome.PAID, 1) and run.payment_id is not None
    row = await final(platform, str(run.payment_id))
    assert row["status"] == "ACSC" and row["amount_minor"] == 4_200
    assert (await account(platform.sessions, debtor)).balances.booked.minor == 95_800
    assert await run_due_payment_orders(platform, now=due + timedelta(days=400)) == 0


async def test_a_monthly_order_on_the_31st_pays_on_each_months_last_business_day_at_six_london_time(
    platform: Platform, payer: Any
) -> None:
    customer_id, debtor = payer
    first_date = date(bank_day(datetime.now(UTC)).year + 1, 1, 31)
    order = await create(
        platform,
        customer_id,
        kind=OrderKind.STANDING_ORDER,
        debtor_account_id=debtor,
        creditor=ALAN,
        first=gbp(1_000),
        recurring=gbp(500),
        final=gbp(250),
        frequency=Frequency.MONTHLY,
        first_date=first_date,
        payments_total=4,
    )
    moments = []
    current = order
    while current.status is OrderStatus.ACTIVE:
        assert current.next_payment_at is not None
        moments.append(current.next_payment_at.astimezone(BANK_TIMEZONE))
        assert await run_due_payment_orders(platform, now=current.next_payment_at) == 1
        current = await read(platform, order.id)
    assert current.status is OrderStatus.COMPLETED
    assert [run.sequence for run in current.runs] == [1, 2, 3, 4]
    assert [run.due_date.day for run in current.runs] == [31, 28 if first_date.year % 4 else 29, 31, 30]
    assert all(moment.hour == 6 and moment.weekday() < 5 for moment in moments)
    assert [moment.date() >= run.due_date for moment, run in zip(moments, current.runs, strict=True)] == [True] * 4
    async with unit_of_work(platform.sessions) as session:
        amounts = (
            (
                await session.execute(
                    text("SELECT amount_minor FROM core_banking.payments WHERE customer_id = :c ORDER BY created_at"),
                    {"c": customer_id},
                )
            )
            .scalars()
            .all()
        )
    assert amounts == [1_000, 500, 500, 250]


async def test_two_runners_racing_pay_each_occurrence_once(platform: Platform, payer: Any) -> None:
    customer_id, debtor = payer
    today = bank_day(datetime.now(UTC))
    orders = [
        await create(
            platform,
            customer_id,
            kind=OrderKind.STANDING_ORDER,
            debtor_account_id=debtor,
            creditor=ALAN,
            first=gbp(100),
            frequency=Frequency.WEEKLY,
            first_date=today + timedelta(days=1),
        )
        for _ in range(6)
    ]
    later = max(order.next_payment_at for order in orders if order.next_payment_at) + timedelta(minutes=1)
    counts = await asyncio.gather(*(run_due_payment_orders(platform, now=later) for _ in range(4)))
    assert sum(counts) == 6
    async with unit_of_work(platform.sessions) as session:
        payments = await session.scalar(text("SELECT count(*) FROM core_banking.payments"))
        runs = await session.scalar(text("SELECT count(*) FROM core_banking.payment_order_runs"))
    assert (payments, runs) == (6, 6)
    for order in orders:
        assert [run.sequence for run in (await read(platform, order.id)).runs] == [1]


async def test_an_occurrence_short_of_funds_is_retried_at_the_days_times_then_failed_and_the_order_goes_on(
    platform: Platform, payer: Any
) -> None:
    customer_id, debtor = payer
    first_date = bank_day(datetime.now(UTC)) + timedelta(days=7)
    order = await create(
        platform,
        customer_id,
        kind=OrderKind.STANDING_ORDER,
        debtor_account_id=debtor,
        creditor=ALAN,
        first=gbp(150_000),  # more than the account holds
        recurring=gbp(10_000),
        frequency=Frequency.WEEKLY,
        first_date=first_date,
        payments_total=2,
    )
    due = order.next_payment_at
    assert due is not None
    day = due.astimezone(BANK_TIMEZONE).date()
    retries = [datetime.combine(day, time(hour), BANK_TIMEZONE) for hour in (10, 14, 18)]  # the default times
    assert await run_due_payment_orders(platform, now=due) == 1  # the first attempt, at 06:00
    for attempt, retry_at in enumerate(retries, start=2):
        retrying = await read(platform, order.id)
        assert retrying.runs == () and retrying.next_payment_at == retry_at, attempt
        assert await run_due_payment_orders(platform, now=retry_at - timedelta(seconds=1)) == 0
        assert await run_due_payment_orders(platform, now=retry_at) == 1
    failed = await read(platform, order.id)
    assert [(run.outcome, run.reason, run.attempts) for run in failed.runs] == [
        (RunOutcome.FAILED, "insufficient_funds", 4)
    ]
    assert failed.status is OrderStatus.ACTIVE and failed.next_amount == gbp(10_000)
    assert failed.next_payment_at is not None
    await run_due_payment_orders(platform, now=failed.next_payment_at)
    done = await read(platform, order.id)
    assert [run.outcome for run in done.runs] == [RunOutcome.FAILED, RunOutcome.PAID]
    assert done.status is OrderStatus.COMPLETED
    assert (await account(platform.sessions, debtor)).balances.available.minor == 90_000


async def test_a_cancelled_order_pays_no_more(platform: Platform, payer: Any) -> None:
    customer_id, debtor = payer
    order = await create(
        platform,
        customer_id,
        kind=OrderKind.STANDING_ORDER,
        debtor_account_id=debtor,
        creditor=ALAN,
        first=gbp(100),
        frequency=Frequency.DAILY,
        first_date=bank_day(datetime.now(UTC)) + timedelta(days=1),
    )
    async with platform_units(platform).begin(Actor(ActorKind.CUSTOMER, str(customer_id))) as uow:
        cancelled = await service.cancel_order(uow, order.id, customer_id=customer_id)
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.next_payment_at is None
    assert await run_due_payment_orders(platform, now=datetime.now(UTC) + timedelta(days=30)) == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"first_date": date(2020, 1, 1)}, "RequestedExecutionDateTime"),
        ({"first": gbp(0)}, "InstructedAmount.Amount"),
        ({"frequency": Frequency.DAILY}, "Data.Initiation"),
    ],
)
async def test_bad_orders_are_refused_naming_the_field(
    platform: Platform, payer: Any, fields: dict[str, Any], field: str
) -> None:
    customer_id, debtor = payer
    values: dict[str, Any] = {
        "kind": OrderKind.SCHEDULED,
        "debtor_account_id": debtor,
        "creditor": ALAN,
        "first": gbp(100),
        "first_date": bank_day(datetime.now(UTC)) + timedelta(days=1),
        **fields,
    }
    with pytest.raises(InvalidPaymentOrder) as refused:
        await create(platform, customer_id, **values)
    assert field in (refused.value.field or "")
    async with unit_of_work(platform.sessions) as session:
        assert await session.scalar(text("SELECT count(*) FROM core_banking.payment_orders")) == 0


def test_execution_moments_stay_at_six_across_the_clock_change() -> None:
    assert execution_moment(date(2027, 3, 19)).utcoffset() == timedelta(0)  # GMT
    assert execution_moment(date(2027, 3, 31)).utcoffset() == timedelta(hours=1)  # BST
    assert execution_moment(date(2027, 3, 29)).date() == date(2027, 3, 30)  # Easter Monday rolls forward
    assert execution_moment(date(2026, 12, 26)).date() == date(2026, 12, 29)  # Saturday, then the holidays


async def test_a_runner_killed_mid_way_leaves_each_occurrence_paid_exactly_once(
    platform: Platform, settings: Settings, payer: Any
) -> None:
    customer_id, debtor = payer
    first_date = bank_day(datetime.now(UTC)) + timedelta(days=2)
    orders = [
        await create(
            platform,
            customer_id,
            kind=OrderKind.SCHEDULED,
            debtor_account_id=debtor,
            creditor=ALAN,
            first=gbp(100 + index),
            first_date=first_date,
        )
        for index in range(40)
    ]
    later = execution_moment(first_date) + timedelta(minutes=1)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.core_banking.payments.orders_process",
        "--settings",
        settings.model_dump_json(),
        "--now",
        later.isoformat(),
        cwd=Path(__file__).resolve().parents[3],
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 30)).strip() == b"running"
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while await runs(platform) < 5:  # some occurrences ran; others wait
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert await runs(platform) < len(orders)

    await run_due_payment_orders(platform, now=later)  # the next runner carries on
    async with unit_of_work(platform.sessions) as session:
        paid = (
            await session.execute(
                text(
                    "SELECT r.order_id, count(*), count(DISTINCT p.id), min(p.amount_minor)"
                    " FROM core_banking.payment_order_runs r JOIN core_banking.payments p ON p.id = r.payment_id"
                    " GROUP BY r.order_id"
                )
            )
        ).all()
        payments = await session.scalar(text("SELECT count(*) FROM core_banking.payments"))
    assert len(paid) == len(orders) == payments
    assert all(count == 1 and distinct == 1 for _, count, distinct, _ in paid)
    assert sorted(amount for *_, amount in paid) == [100 + index for index in range(40)]
    held = (await account(platform.sessions, debtor)).balances.pending.minor
    assert held == sum(100 + index for index in range(40))


async def runs(platform: Platform) -> int:
    async with unit_of_work(platform.sessions) as session:
        return int(await session.scalar(text("SELECT count(*) FROM core_banking.payment_order_runs")) or 0)


async def test_a_refusal_that_cannot_clear_today_fails_at_once(platform: Platform, payer: Any) -> None:
    customer_id, debtor = payer
    order = await create(
        platform,
        customer_id,
        kind=OrderKind.SCHEDULED,
        debtor_account_id=debtor,
        creditor=ALAN,
        first=gbp(100),
        first_date=bank_day(datetime.now(UTC)) + timedelta(days=3),
    )
    async with unit_of_work(platform.sessions) as session:
        await session.execute(text("UPDATE core_banking.accounts SET status = 'FROZEN' WHERE id = :id"), {"id": debtor})
    assert order.next_payment_at is not None
    assert await run_due_payment_orders(platform, now=order.next_payment_at) == 1
    failed = await read(platform, order.id)
    assert [(run.outcome, run.reason, run.attempts) for run in failed.runs] == [
        (RunOutcome.FAILED, "account_frozen", 1)
    ]
    assert failed.status is OrderStatus.COMPLETED


def test_the_retry_times_left_are_those_of_the_same_bank_day() -> None:
    policy = service.RetryPolicy(times=(time(14, 0), time(9, 30)))
    morning = datetime(2027, 3, 30, 6, tzinfo=BANK_TIMEZONE)
    assert policy.next_attempt(morning) == datetime(2027, 3, 30, 9, 30, tzinfo=BANK_TIMEZONE)
    assert policy.next_attempt(datetime(2027, 3, 30, 9, 30, tzinfo=BANK_TIMEZONE)) == datetime(
        2027, 3, 30, 14, tzinfo=BANK_TIMEZONE
    )
    assert policy.next_attempt(datetime(2027, 3, 30, 14, tzinfo=BANK_TIMEZONE)) is None
    assert service.RetryPolicy(times=()).next_attempt(morning) is None
