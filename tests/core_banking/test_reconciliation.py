"""Reconciliation finds every kind of tampering with the book of record; the job records it, the CLI fails."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from audit.trail import platform_units
from core_banking import jobs
from core_banking.ledger import service as ledger
from core_banking.transfers import service as transfers_service
from core_banking.transfers.schemas import TransferCreate
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from obank.settings import Settings
from tests.core_banking.helpers import STAFF, count, new_account, new_customer


async def small_bank(platform: Platform) -> dict[str, uuid.UUID]:
    """A customer with two accounts, a transfer between them, and an open hold."""
    customer = await new_customer(platform.sessions, platform.keyring)
    payer = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    payee = await new_account(platform.sessions, platform.keyring, customer.id)
    async with platform_units(platform).begin(STAFF) as uow:
        await transfers_service.make_transfer(
            uow,
            customer.id,
            TransferCreate(
                source_account_id=payer.id,
                destination_account_id=payee.id,
                amount_minor=2_500,
                currency="GBP",
                description="Setup",
            ),
            idempotency_key="setup",
        )
        hold = await ledger.place_hold(
            uow.session,
            payer.id,
            Money(1_000, "GBP"),
            expires_at=datetime.now(UTC) + timedelta(days=1),
            description="Card",
        )
    return {"payer": payer.id, "payee": payee.id, "hold": hold.id}


def tamper(platform: Platform, *statements: str, **params: object) -> None:
    """Change rows behind the application's back, as a superuser (triggers off: the ledger is append-only)."""
    with psycopg.connect(platform.database_url, autocommit=False) as connection:
        connection.execute("SET session_replication_role = replica")
        for statement in statements:
            connection.execute(statement, params)
        connection.commit()


TAMPERINGS: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "cached balance": (
        ("UPDATE core_banking.accounts SET booked_balance_minor = booked_balance_minor + 1 WHERE id = %(payee)s",),
        {"balance_vs_postings", "running_balance"},
    ),
    "posting amount": (
        (
            "UPDATE core_banking.postings SET amount_minor = amount_minor + 7 "
            "WHERE id = (SELECT max(id) FROM core_banking.postings WHERE account_id = %(payee)s)",
        ),
        {"balance_vs_postings", "running_balance_chain", "entry_balances", "transfer_entry"},
    ),
    "deleted posting": (
        ("DELETE FROM core_banking.postings WHERE id = (SELECT max(id) FROM core_banking.postings)",),
        {"balance_vs_postings", "entry_balances", "entry_has_postings", "transfer_entry"},
    ),
    "posting removed mid-history": (
        (
            "DELETE FROM core_banking.postings WHERE id = (SELECT min(id) FROM core_banking.postings "
            "WHERE account_id = %(payer)s)",
        ),
        {"balance_vs_postings", "running_balance_chain", "entry_balances", "entry_has_postings"},
    ),
    "held amount": (
        ("UPDATE core_banking.accounts SET held_minor = 0 WHERE id = %(payer)s",),
        {"held_vs_open_holds"},
    ),
    "hold grown beyond the funds": (
        (
            # The table's own check refuses this: reconciliation is the second line, should it ever be lost.
            "ALTER TABLE core_banking.accounts DROP CONSTRAINT ck_accounts_within_overdraft",
            "UPDATE core_banking.holds SET amount_minor = 100000 WHERE id = %(hold)s",
            "UPDATE core_banking.accounts SET held_minor = 100000 WHERE id = %(payer)s",
        ),
        {"within_overdraft"},
    ),
    "limit counters": (
        ("UPDATE core_banking.accounts SET month_outgoing_minor = 0 WHERE id = %(payer)s",),
        {"limit_counters"},
    ),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
async def test_reconciliation_names_each_tampering(platform: Platform, name: str) -> None:
    ids = await small_bank(platform)
    clean = await jobs.run_daily_reconciliation(platform)
    assert clean.clean, clean.discrepancies
    assert (clean.accounts_checked, clean.holds_checked) == (3, 1)
    statements, expected = TAMPERINGS[name]
    tamper(platform, *statements, **ids)
    report = await jobs.run_daily_reconciliation(platform)
    assert {d.check for d in report.discrepancies} == expected
    async with platform.engine.connect() as connection:
        runs = "SELECT count(*) FROM core_banking.reconciliation_runs"
        assert await count(connection, runs) == 2
        flagged = "SELECT discrepancy_count FROM core_banking.reconciliation_runs WHERE id = :run"
        assert await count(connection, flagged, run=report.id) == len(report.discrepancies)
        # Only the run that found something raised the event.
        events = (
            "SELECT count(*) FROM platform.outbox_events "
            "WHERE topic = 'core_banking.reconciliation' AND event_type = 'reconciliation.discrepancies_found'"
        )
        assert await count(connection, events) == 1


def run_cli(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBANK_")}
    env.update(
        OBANK_ENV="test",
        OBANK_DATA_DIR=str(settings.data_dir),
        OBANK_DATABASE_URL=settings.database_url or "",
        OBANK_ENCRYPTION_KEYS=settings.encryption_keys or "",
        OBANK_ACTIVE_ENCRYPTION_KEY_ID=settings.active_encryption_key_id or "",
        COLUMNS="200",
    )
    return subprocess.run(
        [sys.executable, "-m", "core_banking.reconciliation.cli"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_cli_exits_non_zero_on_a_discrepancy(platform: Platform, settings: Settings) -> None:
    ids = await small_bank(platform)
    clean = run_cli(settings)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no discrepancies" in clean.stdout
    tamper(platform, *TAMPERINGS["cached balance"][0], **ids)
    broken = run_cli(settings)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "NOT reconciled" in broken.stdout and "balance_vs_postings" in broken.stdout
    assert str(ids["payee"]) in broken.stdout


async def test_the_hold_expiry_job_releases_every_expired_hold(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    payer = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    now = datetime.now(UTC)
    async with unit_of_work(platform.sessions) as session:
        for minutes in (1, 2, 3, 60):
            await ledger.place_hold(
                session, payer.id, Money(100, "GBP"), expires_at=now + timedelta(minutes=minutes), description="Card"
            )
    monkeypatch.setattr(jobs, "HOLD_EXPIRY_BATCH", 2)  # several batches, one transaction each
    assert await jobs.expire_holds(platform, now=now + timedelta(minutes=5)) == 3
    assert await jobs.expire_holds(platform, now=now + timedelta(minutes=5)) == 0
    report = await jobs.run_daily_reconciliation(platform)
    assert report.clean, report.discrepancies
    async with platform.engine.connect() as connection:
        assert await count(connection, "SELECT held_minor FROM core_banking.accounts WHERE id = :a", a=payer.id) == 100
