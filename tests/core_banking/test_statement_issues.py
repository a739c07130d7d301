"""Statements are issued at month end once per account and month, each with one `statement.ready` event."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from audit.trail import units_of_work
from core_banking import jobs
from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import AccountStatus
from core_banking.ledger import service as ledger_service
from core_banking.ledger.periods import Month, bank_day
from core_banking.statements.errors import StatementMonthNotOver
from core_banking.statements.service import STATEMENT_READY, STATEMENTS_TOPIC
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from tests.core_banking.helpers import STAFF, new_account, new_customer

THIS_MONTH = Month.of(bank_day(datetime.now(UTC)))
AFTER_IT = THIS_MONTH.ends_at + timedelta(hours=3)


async def issues(platform: Platform) -> dict[uuid.UUID, tuple[str, int, str]]:
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(
            text("SELECT account_id, month, closing_balance_minor, currency FROM core_banking.statement_issues")
        )
        return {row.account_id: (row.month.strftime("%Y-%m"), row.closing_balance_minor, row.currency) for row in rows}


async def events(platform: Platform) -> list[dict[str, Any]]:
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(
            text("SELECT topic, key, payload FROM platform.outbox_events WHERE event_type = :type ORDER BY position"),
            {"type": STATEMENT_READY},
        )
        return [{"topic": row.topic, "key": row.key, **row.payload} for row in rows]


async def audited(platform: Platform) -> list[str]:
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(
            text("SELECT entity_id FROM audit.audit_records WHERE action = 'statement.issued' ORDER BY entity_id")
        )
        return [row.entity_id for row in rows]


@pytest.fixture
async def accounts(platform: Platform) -> list[uuid.UUID]:
    opened = []
    for funded in (12_345, 0, 700):
        customer = await new_customer(platform.sessions, platform.keyring)
        opened.append((await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=funded)).id)
    return opened


async def test_a_finished_months_statements_are_issued_once_each(platform: Platform, accounts: list[uuid.UUID]) -> None:
    first = await jobs.issue_monthly_statements(platform, THIS_MONTH, now=AFTER_IT)
    again = await jobs.issue_monthly_statements(platform, THIS_MONTH, now=AFTER_IT + timedelta(days=1))

    assert (first, again) == (3, 0)
    month = str(THIS_MONTH)
    assert await issues(platform) == {
        accounts[0]: (month, 12_345, "GBP"),
        accounts[1]: (month, 0, "GBP"),
        accounts[2]: (month, 700, "GBP"),
    }
    published = await events(platform)
    assert sorted(event["account_id"] for event in published) == sorted(str(account) for account in accounts)
    assert {event["topic"] for event in published} == {STATEMENTS_TOPIC}
    (funded,) = [event for event in published if event["account_id"] == str(accounts[0])]
    assert funded["key"] == str(accounts[0]) and funded["month"] == month
    assert (funded["opening_balance_minor"], funded["paid_in_minor"], funded["paid_out_minor"]) == (0, 12_345, 0)
    assert funded["closing_balance_minor"] == 12_345 and funded["currency"] == "GBP"
    assert await audited(platform) == sorted(str(account) for account in accounts)


async def test_concurrent_runs_issue_each_statement_once(platform: Platform, accounts: list[uuid.UUID]) -> None:
    issued = await asyncio.gather(
        *(jobs.issue_monthly_statements(platform, THIS_MONTH, now=AFTER_IT) for _ in range(3))
    )

    assert sum(issued) == len(accounts)
    assert len(await events(platform)) == len(accounts) == len(await issues(platform))


async def test_only_accounts_open_during_the_month_get_its_statement(
    platform: Platform, accounts: list[uuid.UUID]
) -> None:
    assert await jobs.issue_monthly_statements(platform, THIS_MONTH.previous(), now=AFTER_IT) == 0  # opened since

    await _close(platform, accounts[2])
    assert await jobs.issue_monthly_statements(platform, THIS_MONTH, now=AFTER_IT) == 3  # closed in the month: owed
    assert (await issues(platform))[accounts[2]] == (str(THIS_MONTH), 0, "GBP")


async def test_a_month_not_over_has_no_statements_yet(platform: Platform, accounts: list[uuid.UUID]) -> None:
    with pytest.raises(StatementMonthNotOver):
        await jobs.issue_monthly_statements(platform, THIS_MONTH, now=THIS_MONTH.ends_at - timedelta(seconds=1))
    assert await issues(platform) == {}


async def _close(platform: Platform, account_id: uuid.UUID) -> None:
    """Pay out the account's balance and close it."""
    async with units_of_work(platform.sessions, platform.keyring).begin(STAFF) as uow:
        record = await accounts_service.get_account(uow.session, account_id)
        await ledger_service.withdraw(uow, account_id, Money(record.booked_balance_minor, "GBP"), description="Closing")
        closed = await accounts_service.close_account(uow, account_id, "customer left")
    assert closed.status is AccountStatus.CLOSED
