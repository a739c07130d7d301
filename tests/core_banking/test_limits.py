"""Overdraft and daily/monthly outgoing limits, enforced under the account row lock even when concurrent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.models import AccountType
from core_banking.accounts.schemas import AccountRecord
from core_banking.errors import DomainError
from core_banking.ledger import service as ledger
from core_banking.ledger.errors import CurrencyMismatch, InsufficientFunds, InvalidAmount, LimitExceeded, SameAccount
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from tests.core_banking.helpers import account, ledger_problems, new_account, new_customer

# 23:30 in London on 30 November: the next bank day (and month) starts 30 minutes later.
LATE_EVENING = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)


async def test_overdraft_allows_going_negative_down_to_the_limit(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    payer = await new_account(
        platform.sessions, platform.keyring, customer.id, funded_minor=1_000, overdraft_limit_minor=500
    )
    payee = await new_account(platform.sessions, platform.keyring, customer.id)
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(InsufficientFunds):
            await ledger.post_transfer(session, payer.id, payee.id, Money(1_501, "GBP"), description="x")
    async with unit_of_work(platform.sessions) as session:
        await ledger.post_transfer(session, payer.id, payee.id, Money(1_500, "GBP"), description="x")
    balances = (await account(platform.sessions, payer.id)).balances
    assert (balances.booked.minor, balances.available.minor) == (-500, 0)
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(InsufficientFunds):
            await ledger.post_transfer(session, payer.id, payee.id, Money(1, "GBP"), description="x")


async def test_transfer_rules(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    payer = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=1_000)
    euros = await new_account(platform.sessions, platform.keyring, customer.id, currency="EUR")
    other_customer = await new_customer(platform.sessions, platform.keyring)
    refusals: list[tuple[type[DomainError], Callable[[AsyncSession], Awaitable[object]]]] = [
        (CurrencyMismatch, lambda s: ledger.post_transfer(s, payer.id, euros.id, Money(10, "GBP"), description="x")),
        (CurrencyMismatch, lambda s: ledger.post_transfer(s, payer.id, euros.id, Money(10, "EUR"), description="x")),
        (InvalidAmount, lambda s: ledger.post_transfer(s, payer.id, euros.id, Money(0, "GBP"), description="x")),
        (InvalidAmount, lambda s: ledger.post_transfer(s, payer.id, euros.id, Money(-5, "GBP"), description="x")),
        (SameAccount, lambda s: ledger.post_transfer(s, payer.id, payer.id, Money(5, "GBP"), description="x")),
    ]
    for error, attempt in refusals:
        async with unit_of_work(platform.sessions) as session:
            with pytest.raises(error):
                await attempt(session)
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(AccountNotFound):
            await ledger.post_transfer(
                session, payer.id, euros.id, Money(5, "GBP"), description="x", debtor_customer_id=other_customer.id
            )
    assert (await account(platform.sessions, payer.id)).booked_balance_minor == 1_000


async def test_daily_and_monthly_limits_count_per_bank_day_and_month(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    payer = await new_account(
        platform.sessions,
        platform.keyring,
        customer.id,
        funded_minor=100_000,
        daily_limit_minor=3_000,
        monthly_limit_minor=5_000,
    )
    payee = await new_account(platform.sessions, platform.keyring, customer.id, account_type=AccountType.SAVINGS)

    async def pay(amount: int, now: datetime) -> None:
        async with unit_of_work(platform.sessions) as session:
            await ledger.post_transfer(session, payer.id, payee.id, Money(amount, "GBP"), description="x", now=now)

    early = LATE_EVENING - timedelta(days=2)
    await pay(2_000, early)
    await pay(1_000, early)
    with pytest.raises(LimitExceeded) as daily:
        await pay(1, early)
    assert daily.value.period == "daily"
    await pay(1_500, early + timedelta(days=1))
    with pytest.raises(LimitExceeded) as monthly:
        await pay(501, LATE_EVENING)
    assert monthly.value.period == "monthly"
    # Midnight in London starts a new day and a new month.
    await pay(3_000, LATE_EVENING + timedelta(hours=1))
    # Moving money without counting it (e.g. between the customer's own accounts) skips the limits.
    async with unit_of_work(platform.sessions) as session:
        await ledger.post_transfer(
            session,
            payer.id,
            payee.id,
            Money(10_000, "GBP"),
            description="x",
            apply_limits=False,
            now=LATE_EVENING + timedelta(hours=1),
        )
    assert (await account(platform.sessions, payee.id)).booked_balance_minor == 17_500


async def test_concurrent_transfers_never_exceed_the_daily_limit_or_the_funds(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    payer = await new_account(
        platform.sessions, platform.keyring, customer.id, funded_minor=100_000, daily_limit_minor=4_000
    )
    poor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=2_500)
    payees = [await new_account(platform.sessions, platform.keyring, customer.id) for _ in range(3)]

    async def pay(source: AccountRecord, index: int) -> bool:
        try:
            async with unit_of_work(platform.sessions) as session:
                await ledger.post_transfer(
                    session,
                    source.id,
                    payees[index % 3].id,
                    Money(1_000, "GBP"),
                    description="race",
                )
        except (LimitExceeded, InsufficientFunds):
            return False
        return True

    outcomes = await asyncio.gather(*(pay(source, i) for i in range(10) for source in (payer, poor)))
    assert sum(outcomes[0::2]) == 4  # the daily limit admits exactly four of ten
    assert sum(outcomes[1::2]) == 2  # the funds admit exactly two of ten
    assert (await account(platform.sessions, payer.id)).booked_balance_minor == 96_000
    assert (await account(platform.sessions, poor.id)).booked_balance_minor == 500
    async with platform.engine.connect() as connection:
        assert await ledger_problems(connection) == []
