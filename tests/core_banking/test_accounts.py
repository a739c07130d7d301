"""Opening accounts, status transitions and limits: each change audited and published in its transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from core_banking.accounts import service as accounts
from core_banking.accounts.errors import (
    AccountClosed,
    AccountFrozen,
    AccountNotEmpty,
    InvalidInterestRate,
    InvalidLimits,
    InvalidStatusTransition,
    OverdraftInUse,
)
from core_banking.accounts.identifiers import account_number_is_valid, iban_is_valid
from core_banking.accounts.models import AccountStatus, AccountType
from core_banking.accounts.schemas import AccountOpen, LimitsChange
from core_banking.customers.errors import CustomerNotVerified
from core_banking.ledger import service as ledger
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from obank.unit_of_work import UnitOfWork, UnitsOfWork
from tests.core_banking.helpers import STAFF, account, count, ledger_problems, new_account, new_customer

Attempt = Callable[[UnitOfWork], Awaitable[object]]


async def _events(connection: AsyncConnection, key: uuid.UUID) -> list[str]:
    rows = await connection.execute(
        text(
            "SELECT event_type FROM platform.outbox_events"
            " WHERE key = :k AND topic = 'core_banking.accounts' ORDER BY position"
        ),
        {"k": str(key)},
    )
    return [row[0] for row in rows]


async def _audit_actions(connection: AsyncConnection, entity_id: uuid.UUID) -> list[tuple[str, str, str]]:
    rows = await connection.execute(
        text(
            "SELECT action, actor_kind, actor_id FROM audit.audit_records"
            " WHERE entity_type = 'account' AND entity_id = :e ORDER BY sequence"
        ),
        {"e": str(entity_id)},
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def test_opening_needs_kyc_and_issues_valid_identifiers(platform: Platform, units: UnitsOfWork) -> None:
    pending = await new_customer(platform.sessions, platform.keyring, verified=False)
    async with units.begin(STAFF) as uow:
        with pytest.raises(CustomerNotVerified):
            await accounts.open_account(
                uow,
                pending.id,
                AccountOpen(account_type=AccountType.CHECKING, currency="GBP"),
            )
    customer = await new_customer(platform.sessions, platform.keyring)
    savings = await new_account(platform.sessions, platform.keyring, customer.id, account_type=AccountType.SAVINGS)
    checking = await new_account(platform.sessions, platform.keyring, customer.id, currency="EUR")
    for opened in (savings, checking):
        assert account_number_is_valid(opened.account_number)
        assert iban_is_valid(opened.iban)
        assert opened.status is AccountStatus.ACTIVE
    assert savings.account_number != checking.account_number
    assert savings.interest_rate_bps == 150 and checking.interest_rate_bps == 0
    # Limits default per type, in the account currency's minor units.
    assert (checking.daily_limit_minor, checking.monthly_limit_minor) == (1_000_000, 5_000_000)
    async with units.begin(STAFF) as uow:
        with pytest.raises(InvalidInterestRate):
            await accounts.open_account(
                uow,
                customer.id,
                AccountOpen(account_type=AccountType.CHECKING, currency="GBP", interest_rate_bps=100),
            )
        with pytest.raises(InvalidLimits):
            await accounts.open_account(
                uow,
                customer.id,
                AccountOpen(
                    account_type=AccountType.CHECKING, currency="GBP", daily_limit_minor=10, monthly_limit_minor=5
                ),
            )
    async with platform.engine.connect() as connection:
        assert await _events(connection, savings.id) == ["account.opened"]
        assert await _audit_actions(connection, savings.id) == [("account.opened", "staff", "staff-test")]


async def test_frozen_account_refuses_debits_and_accepts_credits(platform: Platform, units: UnitsOfWork) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    frozen = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    other = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    async with units.begin(STAFF) as uow:
        await accounts.freeze_account(uow, frozen.id, "suspected fraud")
    debits: list[Attempt] = [
        lambda u: ledger.post_transfer(u.session, frozen.id, other.id, Money(100, "GBP"), description="out"),
        lambda u: ledger.withdraw(u, frozen.id, Money(100, "GBP"), description="cash"),
        lambda u: ledger.place_hold(
            u.session,
            frozen.id,
            Money(100, "GBP"),
            expires_at=datetime.now(UTC) + timedelta(days=1),
            description="card",
        ),
    ]
    for debit in debits:
        async with units.begin(STAFF) as uow:
            with pytest.raises(AccountFrozen):
                await debit(uow)
    async with units.begin(STAFF) as uow:
        await ledger.post_transfer(uow.session, other.id, frozen.id, Money(500, "GBP"), description="in")
        await ledger.deposit(uow, frozen.id, Money(250, "GBP"), description="cash in")
    assert (await account(platform.sessions, frozen.id)).booked_balance_minor == 10_750
    async with units.begin(STAFF) as uow:
        await accounts.unfreeze_account(uow, frozen.id, "cleared")
        await ledger.post_transfer(uow.session, frozen.id, other.id, Money(750, "GBP"), description="out again")
    async with platform.engine.connect() as connection:
        assert await _events(connection, frozen.id) == ["account.opened", "account.frozen", "account.unfrozen"]
        assert [action for action, _, _ in await _audit_actions(connection, frozen.id)] == [
            "account.opened",
            "account.deposit",
            "account.frozen",
            "account.deposit",
            "account.unfrozen",
        ]
        assert await ledger_problems(connection) == []


async def test_closing_needs_zero_balance_and_no_open_holds(platform: Platform, units: UnitsOfWork) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    closing = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=1_000)
    other = await new_account(platform.sessions, platform.keyring, customer.id)
    async with units.begin(STAFF) as uow:
        with pytest.raises(AccountNotEmpty):
            await accounts.close_account(uow, closing.id, "customer request")
    async with unit_of_work(platform.sessions) as session:
        hold = await ledger.place_hold(
            session, closing.id, Money(400, "GBP"), expires_at=datetime.now(UTC) + timedelta(days=1), description="card"
        )
        await ledger.post_transfer(session, closing.id, other.id, Money(600, "GBP"), description="sweep")
    async with units.begin(STAFF) as uow:
        with pytest.raises(AccountNotEmpty):
            await accounts.close_account(uow, closing.id, "customer request")
    async with units.begin(STAFF) as uow:
        await ledger.void_hold(uow.session, hold.id)
        await ledger.post_transfer(uow.session, closing.id, other.id, Money(400, "GBP"), description="sweep")
        closed = await accounts.close_account(uow, closing.id, "customer request")
    assert closed.status is AccountStatus.CLOSED and closed.closed_at is not None
    credits: list[Attempt] = [
        lambda u: ledger.post_transfer(u.session, other.id, closing.id, Money(1, "GBP"), description="in"),
        lambda u: ledger.deposit(u, closing.id, Money(1, "GBP"), description="in"),
    ]
    for attempt in credits:
        async with units.begin(STAFF) as uow:
            with pytest.raises(AccountClosed):
                await attempt(uow)
    async with units.begin(STAFF) as uow:
        with pytest.raises(InvalidStatusTransition):
            await accounts.unfreeze_account(uow, closing.id, "reopen")
        with pytest.raises(InvalidStatusTransition):
            await accounts.freeze_account(uow, closing.id, "late")
    async with platform.engine.connect() as connection:
        assert (await _events(connection, closing.id))[-1] == "account.closed"
        assert await ledger_problems(connection) == []


async def test_limits_change_is_audited_and_overdraft_cannot_shrink_below_use(
    platform: Platform, units: UnitsOfWork
) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    spender = await new_account(platform.sessions, platform.keyring, customer.id, overdraft_limit_minor=5_000)
    other = await new_account(platform.sessions, platform.keyring, customer.id)
    async with unit_of_work(platform.sessions) as session:
        await ledger.post_transfer(session, spender.id, other.id, Money(3_000, "GBP"), description="overdrawn")
    async with units.begin(STAFF) as uow:
        with pytest.raises(OverdraftInUse):
            await accounts.change_limits(uow, spender.id, LimitsChange(overdraft_limit_minor=2_999))
    async with units.begin(STAFF) as uow:
        with pytest.raises(InvalidLimits):
            await accounts.change_limits(uow, spender.id, LimitsChange(daily_limit_minor=10**9))
    async with units.begin(STAFF) as uow:
        changed = await accounts.change_limits(
            uow,
            spender.id,
            LimitsChange(overdraft_limit_minor=3_000, daily_limit_minor=20_000),
        )
    assert (changed.overdraft_limit_minor, changed.daily_limit_minor, changed.monthly_limit_minor) == (
        3_000,
        20_000,
        spender.monthly_limit_minor,
    )
    assert changed.balances.available.minor == 0
    async with platform.engine.connect() as connection:
        assert (await _events(connection, spender.id))[-1] == "account.details_updated"
        assert (
            await count(
                connection,
                "SELECT count(*) FROM audit.audit_records WHERE action = 'account.details_updated' AND entity_id = :e",
                e=str(spender.id),
            )
            == 1
        )
