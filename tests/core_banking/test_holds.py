"""Holds: place, capture in full or in part (the rest released), void, expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core_banking.accounts.schemas import AccountRecord
from core_banking.ledger import service as ledger
from core_banking.ledger.errors import CaptureExceedsHold, HoldExpired, HoldNotOpen, InsufficientFunds
from core_banking.ledger.models import HoldStatus
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork
from tests.core_banking.helpers import account, count, ledger_problems, new_account, new_customer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=7)


async def _setup(platform: Platform) -> tuple[AccountRecord, AccountRecord]:
    customer = await new_customer(platform.sessions, platform.keyring)
    payer = await new_account(
        platform.sessions, platform.keyring, customer.id, funded_minor=10_000, overdraft_limit_minor=1_000
    )
    payee = await new_account(platform.sessions, platform.keyring, customer.id)
    return payer, payee


async def test_hold_reduces_available_and_full_capture_books_it(platform: Platform) -> None:
    payer, payee = await _setup(platform)
    async with unit_of_work(platform.sessions) as session:
        hold = await ledger.place_hold(
            session, payer.id, Money(4_000, "GBP"), expires_at=LATER, description="card", now=NOW
        )
    balances = (await account(platform.sessions, payer.id)).balances
    assert (balances.booked.minor, balances.available.minor, balances.pending.minor) == (10_000, 7_000, 4_000)
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(InsufficientFunds):
            await ledger.place_hold(
                session, payer.id, Money(7_001, "GBP"), expires_at=LATER, description="too much", now=NOW
            )
    async with unit_of_work(platform.sessions) as session:
        result = await ledger.capture_hold(session, hold.id, payee.id, description="settled", now=NOW)
    assert result.hold.status is HoldStatus.CAPTURED and result.hold.captured_minor == 4_000
    assert result.hold.capture_entry_id == result.entry.id
    balances = (await account(platform.sessions, payer.id)).balances
    assert (balances.booked.minor, balances.available.minor, balances.pending.minor) == (6_000, 7_000, 0)
    assert (await account(platform.sessions, payee.id)).booked_balance_minor == 4_000
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(HoldNotOpen):
            await ledger.capture_hold(session, hold.id, payee.id, description="twice", now=NOW)
        with pytest.raises(HoldNotOpen):
            await ledger.void_hold(session, hold.id, now=NOW)
    async with platform.engine.connect() as connection:
        assert await ledger_problems(connection) == []


async def test_partial_capture_releases_the_remainder(platform: Platform) -> None:
    payer, payee = await _setup(platform)
    async with unit_of_work(platform.sessions) as session:
        hold = await ledger.place_hold(
            session, payer.id, Money(5_000, "GBP"), expires_at=LATER, description="hotel", now=NOW
        )
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(CaptureExceedsHold):
            await ledger.capture_hold(session, hold.id, payee.id, Money(5_001, "GBP"), description="x", now=NOW)
    async with unit_of_work(platform.sessions) as session:
        result = await ledger.capture_hold(
            session, hold.id, payee.id, Money(3_200, "GBP"), description="hotel", now=NOW
        )
    assert result.hold.captured_minor == 3_200
    balances = (await account(platform.sessions, payer.id)).balances
    assert (balances.booked.minor, balances.available.minor, balances.pending.minor) == (6_800, 7_800, 0)
    # The released 1 800 also comes back to the day's outgoing allowance: only the captured part counts.
    async with platform.engine.connect() as connection:
        used = await count(connection, "SELECT day_outgoing_minor FROM core_banking.accounts WHERE id = :a", a=payer.id)
        assert used == 3_200
        assert await ledger_problems(connection) == []


async def test_void_and_expiry_release_the_hold(platform: Platform, units: UnitsOfWork) -> None:
    payer, payee = await _setup(platform)
    async with unit_of_work(platform.sessions) as session:
        voided = await ledger.place_hold(
            session, payer.id, Money(1_000, "GBP"), expires_at=LATER, description="a", now=NOW
        )
        expiring = await ledger.place_hold(
            session, payer.id, Money(2_000, "GBP"), expires_at=NOW + timedelta(hours=1), description="b", now=NOW
        )
        lasting = await ledger.place_hold(
            session, payer.id, Money(3_000, "GBP"), expires_at=LATER, description="c", now=NOW
        )
    async with unit_of_work(platform.sessions) as session:
        assert (await ledger.void_hold(session, voided.id, now=NOW)).status is HoldStatus.VOIDED
    async with units.begin(ledger.HOLD_EXPIRY_ACTOR) as uow:
        assert await ledger.expire_holds(uow, NOW + timedelta(minutes=59)) == []
    async with units.begin(ledger.HOLD_EXPIRY_ACTOR) as uow:
        expired = await ledger.expire_holds(uow, NOW + timedelta(hours=2))
    assert [(hold.id, hold.status) for hold in expired] == [(expiring.id, HoldStatus.EXPIRED)]
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(HoldNotOpen):
            await ledger.capture_hold(session, expiring.id, payee.id, description="late", now=NOW + timedelta(hours=3))
    # A hold past its expiry that the job has not swept yet cannot be captured either.
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(HoldExpired):
            await ledger.capture_hold(session, lasting.id, payee.id, description="late", now=LATER)
    balances = (await account(platform.sessions, payer.id)).balances
    assert (balances.booked.minor, balances.available.minor, balances.pending.minor) == (10_000, 8_000, 3_000)
    async with platform.engine.connect() as connection:
        assert await ledger_problems(connection) == []
        assert (
            await count(
                connection,
                "SELECT count(*) FROM platform.outbox_events"
                " WHERE event_type = 'hold.expired' AND payload->>'hold_id' = :h",
                h=str(expiring.id),
            )
            == 1
        )
        assert (
            await count(
                connection,
                "SELECT count(*) FROM audit.audit_records WHERE action = 'hold.expired' AND actor_kind = 'system'"
                " AND entity_id = :h",
                h=str(expiring.id),
            )
            == 1
        )
