"""The book of record: balanced, immutable, and its cached balances equal to the sum of postings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from core_banking.accounts.models import AccountType
from core_banking.ledger import service as ledger
from core_banking.ledger.errors import EntryAlreadyReversed, EntryNotReversible, InsufficientFunds
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork
from tests.core_banking.helpers import STAFF, account, count, ledger_problems, new_account, new_customer


async def _two_funded_accounts(platform: Platform) -> tuple[uuid.UUID, uuid.UUID]:
    customer = await new_customer(platform.sessions, platform.keyring)
    first = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    second = await new_account(
        platform.sessions, platform.keyring, customer.id, account_type=AccountType.SAVINGS, funded_minor=5_000
    )
    return first.id, second.id


async def test_postings_balance_and_cached_balances_equal_their_sums(platform: Platform) -> None:
    first, second = await _two_funded_accounts(platform)
    async with unit_of_work(platform.sessions) as session:
        entry = await ledger.post_transfer(session, first, second, Money(2_500, "GBP"), description="To savings")
    assert [(p.account_id, p.amount_minor, p.balance_after_minor) for p in entry.postings] == [
        (first, -2_500, 7_500),
        (second, 2_500, 7_500),
    ]
    assert (await account(platform.sessions, first)).booked_balance_minor == 7_500
    assert (await account(platform.sessions, second)).booked_balance_minor == 7_500
    async with platform.engine.connect() as connection:
        assert await ledger_problems(connection) == []
        # Deposits came from the settlement account: the GBP postings across the bank sum to zero.
        settlement = await count(
            connection, "SELECT booked_balance_minor FROM core_banking.accounts WHERE internal_purpose = 'SETTLEMENT'"
        )
        assert settlement == -15_000
        assert (
            await count(connection, "SELECT count(*) FROM core_banking.postings WHERE entry_id = :e", e=entry.id) == 2
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_banking.postings SET amount_minor = amount_minor * 2",
        "DELETE FROM core_banking.postings",
        "TRUNCATE core_banking.postings CASCADE",
        "UPDATE core_banking.journal_entries SET description = 'rewritten'",
        "DELETE FROM core_banking.journal_entries",
    ],
)
async def test_database_refuses_to_change_the_ledger(platform: Platform, database_url: str, statement: str) -> None:
    await _two_funded_accounts(platform)
    with psycopg.connect(database_url) as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            connection.execute(statement)
        connection.rollback()
        assert connection.execute("SELECT count(*) FROM core_banking.postings").fetchone() == (4,)


def _insert_entry(
    connection: psycopg.Connection[tuple[object, ...]], postings: list[tuple[uuid.UUID, str, int]]
) -> None:
    entry_id = uuid.uuid4()
    now = datetime.now(UTC)
    connection.execute(
        "INSERT INTO core_banking.journal_entries (id, kind, description, booked_at) VALUES (%s, 'TEST', 'x', %s)",
        (entry_id, now),
    )
    for account_id, currency, amount in postings:
        connection.execute(
            "INSERT INTO core_banking.postings (entry_id, account_id, currency, amount_minor, balance_after_minor,"
            " booked_at) VALUES (%s, %s, %s, %s, 0, %s)",
            (entry_id, account_id, currency, amount, now),
        )


async def test_database_refuses_unbalanced_entries_at_commit(platform: Platform, database_url: str) -> None:
    first, second = await _two_funded_accounts(platform)
    with psycopg.connect(database_url) as connection:
        for postings in ([(first, "GBP", 100)], [(first, "GBP", 100), (second, "GBP", -99)], []):
            _insert_entry(connection, postings)
            with pytest.raises(psycopg.errors.CheckViolation, match=r"does not balance|fewer than two postings"):
                connection.commit()
        # A posting's currency must be its account's.
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            _insert_entry(connection, [(first, "EUR", 100), (second, "EUR", -100)])
        connection.rollback()
        # A balanced entry written by hand passes the database's own check (the service adds the rest).
        _insert_entry(connection, [(first, "GBP", 100), (second, "GBP", -100)])
        connection.commit()
        assert connection.execute("SELECT count(*) FROM core_banking.postings").fetchone() == (6,)


async def test_reversal_compensates_once_and_never_overdraws(platform: Platform, units: UnitsOfWork) -> None:
    first, second = await _two_funded_accounts(platform)
    async with unit_of_work(platform.sessions) as session:
        original = await ledger.post_transfer(session, first, second, Money(4_000, "GBP"), description="Rent")
    async with units.begin(STAFF) as uow:
        reversal = await ledger.reverse_entry(uow, original.id, reason="sent in error")
    assert reversal.reverses_entry_id == original.id
    assert [p.amount_minor for p in reversal.postings] == [4_000, -4_000]
    assert (await account(platform.sessions, first)).booked_balance_minor == 10_000
    async with units.begin(STAFF) as uow:
        with pytest.raises(EntryAlreadyReversed):
            await ledger.reverse_entry(uow, original.id, reason="again")
    async with units.begin(STAFF) as uow:
        with pytest.raises(EntryNotReversible):
            await ledger.reverse_entry(uow, reversal.id, reason="undo the undo")
    # Reversing a credit whose money has since been spent would overdraw the account: refused.
    async with unit_of_work(platform.sessions) as session:
        credit = await ledger.post_transfer(session, first, second, Money(1_000, "GBP"), description="Top up")
        await ledger.post_transfer(session, second, first, Money(6_000, "GBP"), description="Spend")
    async with units.begin(STAFF) as uow:
        with pytest.raises(InsufficientFunds):
            await ledger.reverse_entry(uow, credit.id, reason="late")
    async with platform.engine.connect() as connection:
        assert await ledger_problems(connection) == []
        reversed_events = await count(
            connection, "SELECT count(*) FROM platform.outbox_events WHERE event_type = 'entry.reversed'"
        )
        audited = await count(
            connection,
            "SELECT count(*) FROM audit.audit_records WHERE action = 'entry.reversed' AND entity_id = :e",
            e=str(original.id),
        )
        assert (reversed_events, audited) == (1, 1)
