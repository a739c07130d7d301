"""Two months of standing orders on a controlled clock, hour by hour, across Easter, the clock change and a 31st;
and two runner processes racing over the same due occurrences."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from audit.trail import platform_units
from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.jobs import run_due_payment_orders
from core_banking.ledger.periods import BANK_TIMEZONE, bank_day
from core_banking.payment_orders import service
from core_banking.payment_orders.models import OrderKind, OrderStatus, RunOutcome
from core_banking.payment_orders.schedule import Frequency, execution_moment
from core_banking.payment_orders.schemas import OrderRecord, OrderRequest
from obank.actor import Actor, ActorKind
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from obank.settings import Settings
from tests.core_banking.helpers import new_account, new_customer

ALAN = CreditorAccount("Alan Turing", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "40051576262352")
SET_UP = datetime(2027, 2, 26, 12, tzinfo=UTC)


def gbp(minor: int) -> Money:
    return Money(minor, "GBP")


@pytest.fixture
async def payer(platform: Platform) -> tuple[uuid.UUID, uuid.UUID]:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=1_000_000)
    return customer.id, debtor.id


async def order(platform: Platform, customer_id: uuid.UUID, now: datetime = SET_UP, **fields: Any) -> OrderRecord:
    async with platform_units(platform).begin(Actor(ActorKind.CUSTOMER, str(customer_id))) as uow:
        return await service.create_order(
            uow, OrderRequest(customer_id=customer_id, creditor=ALAN, kind=OrderKind.STANDING_ORDER, **fields), now=now
        )


async def test_two_months_hour_by_hour_pay_each_occurrence_once_on_its_business_day_at_six_london(
    platform: Platform, payer: tuple[uuid.UUID, uuid.UUID]
) -> None:
    customer_id, debtor = payer
    weekly = await order(
        platform,
        customer_id,
        debtor_account_id=debtor,
        first=gbp(100),
        frequency=Frequency.WEEKLY,
        first_date=date(2027, 3, 5),
        payments_total=6,
    )
    on_31st = await order(
        platform, customer_id, debtor_account_id=debtor, first=gbp(200), frequency=Frequency.MONTHLY,
        first_date=date(2027, 3, 31),
    )  # fmt: skip
    month_end = await order(
        platform,
        customer_id,
        debtor_account_id=debtor,
        first=gbp(300),
        frequency=Frequency.MONTHLY,
        first_date=date(2027, 3, 10),
        on_month_end=True,
        final_date=date(2027, 4, 30),
    )
    clock = datetime(2027, 3, 1, tzinfo=UTC)
    ran_at: dict[tuple[uuid.UUID, int], datetime] = {}
    while clock < datetime(2027, 5, 3, tzinfo=UTC):
        if await run_due_payment_orders(platform, now=clock):
            async with unit_of_work(platform.sessions) as session:
                rows = (
                    await session.execute(
                        text("SELECT order_id, sequence FROM core_banking.payment_order_runs WHERE ran_at = :t"),
                        {"t": clock},
                    )
                ).all()
            ran_at.update({(row.order_id, row.sequence): clock for row in rows})
        clock += timedelta(hours=1)

    def moments(record: OrderRecord) -> list[datetime]:
        return [
            ran_at[(record.id, sequence)] for sequence in range(1, len(ran_at) + 1) if (record.id, sequence) in ran_at
        ]

    london = [
        datetime(2027, m, d, 6, tzinfo=BANK_TIMEZONE) for m, d in ((3, 5), (3, 12), (3, 19), (3, 30), (4, 2), (4, 9))
    ]
    # Good Friday (26 March) and Easter Monday (29 March) are bank holidays; the clocks went forward on the 28th.
    assert moments(weekly) == london
    assert [moment.astimezone(UTC).hour for moment in moments(weekly)] == [6, 6, 6, 5, 5, 5]
    assert moments(on_31st) == [
        datetime(2027, 3, 31, 6, tzinfo=BANK_TIMEZONE),
        datetime(2027, 4, 30, 6, tzinfo=BANK_TIMEZONE),
    ]
    assert moments(month_end) == moments(on_31st)
    finished = {record.id: await read(platform, record.id) for record in (weekly, on_31st, month_end)}
    assert finished[weekly.id].status is OrderStatus.COMPLETED
    assert finished[month_end.id].status is OrderStatus.COMPLETED
    assert [run.due_date for run in finished[on_31st.id].runs] == [date(2027, 3, 31), date(2027, 4, 30)]
    # May's 31st is a Monday, after the bank holiday of the 31st: the next run waits for 1 June.
    assert finished[on_31st.id].next_payment_at == datetime(2027, 6, 1, 6, tzinfo=BANK_TIMEZONE)
    async with unit_of_work(platform.sessions) as session:
        payments = (await session.execute(text("SELECT amount_minor FROM core_banking.payments"))).scalars().all()
    assert sorted(payments) == sorted([100] * 6 + [200] * 2 + [300] * 2)


async def read(platform: Platform, order_id: uuid.UUID) -> OrderRecord:
    async with unit_of_work(platform.sessions) as session:
        return await service.get_order(session, platform.keyring, order_id)


async def test_two_runner_processes_racing_pay_each_occurrence_exactly_once(
    platform: Platform, settings: Settings, payer: tuple[uuid.UUID, uuid.UUID]
) -> None:
    customer_id, debtor = payer
    first_date = bank_day(datetime.now(UTC)) + timedelta(days=2)
    now = datetime.now(UTC)
    orders = [
        await order(
            platform,
            customer_id,
            now=now,
            debtor_account_id=debtor,
            first=gbp(10 + index),
            frequency=Frequency.WEEKLY,
            first_date=first_date,
        )
        for index in range(60)
    ]
    later = execution_moment(first_date) + timedelta(minutes=1)
    runners = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.core_banking.payments.orders_process",
            "--settings",
            settings.model_dump_json(),
            "--now",
            later.isoformat(),
            "--until-idle",
            cwd=Path(__file__).resolve().parents[3],
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for runner in runners:  # both started and connected before either runs anything
        assert runner.stdout is not None
        assert (await asyncio.wait_for(runner.stdout.readline(), 60)).strip() == b"running"
    outputs = await asyncio.wait_for(asyncio.gather(*(runner.communicate(b"go\n") for runner in runners)), 120)
    assert [runner.returncode for runner in runners] == [0, 0]
    counts = [int(stdout.split()[-1]) for stdout, _ in outputs]
    assert sum(counts) == len(orders) and all(counts), counts  # both ran some; none ran one twice
    async with unit_of_work(platform.sessions) as session:
        paid = (
            await session.execute(
                text(
                    "SELECT r.order_id, count(*) FROM core_banking.payment_order_runs r"
                    " JOIN core_banking.payments p ON p.id = r.payment_id WHERE r.outcome = :paid GROUP BY r.order_id"
                ),
                {"paid": RunOutcome.PAID.value},
            )
        ).all()
    assert len(paid) == len(orders) and all(count == 1 for _, count in paid)
