"""Opening accounts, status transitions and limits: each change audited and published in its transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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
from tests.core_banking.helpers import STAFF, account, count, ledger_problems, new_account, new_customer

Attempt = Callable[[AsyncSession], Awaitable[object]]


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


async def test_opening_needs_kyc_and_issues_valid_identifiers(platform: Platform) -> None:
    pending = await new_customer(platform.sessions, platform.keyring, verified=False)
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(CustomerNotVerified):
            await accounts.open_account(
                session,
                platform.keyring,
                STAFF,
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
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(InvalidInterestRate):
            await accounts.open_account(
                session,
                platform.keyring,
                STAFF,
                customer.id,
                AccountOpen(account_type=AccountType.CHECKING, currency="GBP", interest_rate_bps=100),
            )
        with pytest.raises(InvalidLimits):
            await accounts.open_account(
                session,
                platform.keyring,
                STAFF,
                customer.id,
                AccountOpen(
                    account_type=AccountType.CHECKING, currency="GBP", daily_limit_minor=10, monthly_limit_minor=5
                ),
            )
    async with platform.engine.connect() as connection:
        assert await _events(connection, savings.id) == ["account.opened"]
        assert await _audit_actions(connection, savings.id) == [("account.opened", "staff", "staff-test")]


async def test_frozen_account_refuses_debits_and_accepts_credits(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    frozen = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    other = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    async with unit_of_work(platform.sessions) as session:
        await accounts.freeze_account(session, platform.keyring, STAFF, frozen.id, "suspected fraud")
    debits: list[Attempt] = [
        lambda s: ledger.post_transfer(s, frozen.id, other.id, Money(100, "GBP"), description="out"),
        lambda s: ledger.withdraw(s, platform.keyring, STAFF, frozen.id, Money(100, "GBP"), description="cash"),
        lambda s: ledger.place_hold(
            s, frozen.id, Money(100, "GBP"), expires_at=datetime.now(UTC) + timedelta(days=1), description="card"
        ),
    ]
    for debit in debits:
        async with unit_of_work(platform.sessions) as session:
            with pytest.raises(AccountFrozen):
                await debit(session)
    async with unit_of_work(platform.sessions) as session:
        await ledger.post_transfer(session, other.id, frozen.id, Money(500, "GBP"), description="in")
        await ledger.deposit(session, platform.keyring, STAFF, frozen.id, Money(250, "GBP"), description="cash in")
    assert (await account(platform.sessions, frozen.id)).booked_balance_minor == 10_750
    async with unit_of_work(platform.sessions) as session:
        await accounts.unfreeze_account(session, platform.keyring, STAFF, frozen.id, "cleared")
        await ledger.post_transfer(session, frozen.id, other.id, Money(750, "GBP"), description="out again")
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


async def test_closing_needs_zero_balance_and_no_open_holds(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    closing = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=1_000)
    other = await new_account(platform.sessions, platform.keyring, customer.id)
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(AccountNotEmpty):
            await accounts.close_account(session, platform.keyring, STAFF, closing.id, "customer request")
    async with unit_of_work(platform.sessions) as session:
        hold = await ledger.place_hold(
            session, closing.id, Money(400, "GBP"), expires_at=datetime.now(UTC) + timedelta(days=1), description="card"
        )
        await ledger.post_transfer(session, closing.id, other.id, Money(600, "GBP"), description="sweep")
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(AccountNotEmpty):
            await accounts.close_account(session, platform.keyring, STAFF, closing.id, "customer request")
    async with unit_of_work(platform.sessions) as session:
        await ledger.void_hold(session, hold.id)
        await ledger.post_transfer(session, closing.id, other.id, Money(400, "GBP"), description="sweep")
        closed = await accounts.close_account(session, platform.keyring, STAFF, closing.id, "customer request")
    assert closed.status is AccountStatus.CLOSED and closed.closed_at is not None
    credits: list[Attempt] = [
        lambda s: ledger.post_transfer(s, other.id, closing.id, Money(1, "GBP"), description="in"),
        lambda s: ledger.deposit(s, platform.keyring, STAFF, closing.id, Money(1, "GBP"), description="in"),
    ]
    for attempt in credits:
        async with unit_of_work(platform.sessions) as session:
            with pytest.raises(AccountClosed):
                await attempt(session)
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(InvalidStatusTransition):
            await accounts.unfreeze_account(session, platform.keyring, STAFF, closing.id, "reopen")
        with pytest.raises(InvalidStatusTransition):
            await accounts.freeze_account(session, platform.keyring, STAFF, closing.id, "late")
    async with platform.engine.connect() as connection:
        assert (await _events(connection, closing.id))[-1] == "account.closed"
        assert await ledger_problems(connection) == []


async def test_limits_change_is_audited_and_overdraft_cannot_shrink_below_use(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    spender = await new_account(platform.sessions, platform.keyring, customer.id, overdraft_limit_minor=5_000)
    other = await new_account(platform.sessions, platform.keyring, customer.id)
    async with unit_of_work(platform.sessions) as session:
        await ledger.post_transfer(session, spender.id, other.id, Money(3_000, "GBP"), description="overdrawn")
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(OverdraftInUse):
            await accounts.change_limits(
                session, platform.keyring, STAFF, spender.id, LimitsChange(overdraft_limit_minor=2_999)
            )
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(InvalidLimits):
            await accounts.change_limits(
                session, platform.keyring, STAFF, spender.id, LimitsChange(daily_limit_minor=10**9)
            )
    async with unit_of_work(platform.sessions) as session:
        changed = await accounts.change_limits(
            session,
            platform.keyring,
            STAFF,
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
