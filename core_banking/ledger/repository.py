"""Ledger persistence: locking account rows in id order and booking an entry in one statement."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import RowMapping, Table, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts.models import AccountKind, AccountStatus
from core_banking.ledger.models import Hold, HoldStatus, JournalEntry, Posting
from core_banking.ledger.schemas import HoldRecord, LedgerAccount, PostedEntry, PostingLine
from obank.database import Companion, DriverStatement, WithCompanions, json_rows

_holds = cast(Table, Hold.__table__)
_entries = cast(Table, JournalEntry.__table__)
_postings = cast(Table, Posting.__table__)
_HOLD_FIELDS = tuple(field.name for field in dataclasses.fields(HoldRecord))

# Plain SQL on the hottest path: it skips statement compilation and result processing per call.
_LOCK_ACCOUNTS = DriverStatement(
    text(
        """
SELECT id, kind, customer_id, currency, status, booked_balance_minor, held_minor, overdraft_limit_minor,
       daily_limit_minor, monthly_limit_minor, day_outgoing_date, day_outgoing_minor,
       month_outgoing_start, month_outgoing_minor
FROM core_banking.accounts WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE
"""
    )
)
# The new state of each locked account, written back in one statement. Rows travel as one JSON parameter
# (`json_rows`): psycopg binds an array element by element, which cost more CPU than the rest of a booking.
_ACCOUNT_STATE_UPDATE = """
UPDATE core_banking.accounts AS account SET
    booked_balance_minor = state.booked,
    held_minor = state.held,
    day_outgoing_date = state.day_date,
    day_outgoing_minor = state.day_used,
    month_outgoing_start = state.month_start,
    month_outgoing_minor = state.month_used,
    updated_at = :updated_at
FROM jsonb_to_recordset(CAST(:state AS jsonb))
    AS state(id uuid, booked bigint, held bigint, day_date date, day_used bigint, month_start date, month_used bigint)
WHERE account.id = state.id
"""
_SAVE_ACCOUNTS = text(_ACCOUNT_STATE_UPDATE)
# The entry, its postings and the accounts' new state: one statement, one round trip, which callers may extend
# with companions' writes (`Companion`). Foreign keys are checked at the end of the statement, when the entry
# row exists.
_BOOKING = WithCompanions(
    """
entry AS (
    INSERT INTO core_banking.journal_entries (id, kind, description, reference, reverses_entry_id, booked_at)
    VALUES (:entry_id, :kind, :description, :reference, :reverses_entry_id, :updated_at)
), legs AS (
    INSERT INTO core_banking.postings (entry_id, account_id, currency, amount_minor, balance_after_minor, booked_at)
    SELECT :entry_id, leg.account_id, leg.currency, leg.amount_minor, leg.balance_after_minor, :updated_at
    FROM ROWS FROM (
        jsonb_to_recordset(CAST(:legs AS jsonb))
        AS (account_id uuid, currency text, amount_minor bigint, balance_after_minor bigint)
    ) WITH ORDINALITY AS leg(account_id, currency, amount_minor, balance_after_minor, position)
    ORDER BY leg.position
)""",
    _ACCOUNT_STATE_UPDATE,
)


def _ledger_account(values: Mapping[str, Any]) -> LedgerAccount:
    return LedgerAccount(
        id=values["id"],
        kind=AccountKind(values["kind"]),
        customer_id=values["customer_id"],
        currency=values["currency"],
        status=AccountStatus(values["status"]),
        booked_minor=values["booked_balance_minor"],
        held_minor=values["held_minor"],
        overdraft_limit_minor=values["overdraft_limit_minor"],
        daily_limit_minor=values["daily_limit_minor"],
        monthly_limit_minor=values["monthly_limit_minor"],
        day_outgoing_date=values["day_outgoing_date"],
        day_outgoing_minor=values["day_outgoing_minor"],
        month_outgoing_start=values["month_outgoing_start"],
        month_outgoing_minor=values["month_outgoing_minor"],
    )


async def lock_accounts(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> list[LedgerAccount]:
    """Lock the accounts' rows in account-id order, the one order every writer uses (no deadlocks)."""
    # An array literal of the ids' canonical text (hex digits and hyphens only): psycopg binds a list element by
    # element, five times the cost.
    ids = "{" + ",".join(str(account_id) for account_id in account_ids) + "}"
    return [_ledger_account(row) for row in await _LOCK_ACCOUNTS.mappings(session, {"ids": ids})]


def _state_parameters(accounts: Sequence[LedgerAccount], updated_at: datetime) -> dict[str, object]:
    state = [
        {
            "id": a.id,
            "booked": a.booked_minor,
            "held": a.held_minor,
            "day_date": a.day_outgoing_date,
            "day_used": a.day_outgoing_minor,
            "month_start": a.month_outgoing_start,
            "month_used": a.month_outgoing_minor,
        }
        for a in accounts
    ]
    return {"state": json_rows(state), "updated_at": updated_at}


async def save_accounts(session: AsyncSession, accounts: Sequence[LedgerAccount], updated_at: datetime) -> None:
    """Write back balances, holds and usage counters of accounts locked by `lock_accounts`."""
    await session.execute(_SAVE_ACCOUNTS, _state_parameters(accounts, updated_at))


async def book_entry(
    session: AsyncSession,
    entry: PostedEntry,
    accounts: Sequence[LedgerAccount],
    companions: Sequence[Companion] = (),
) -> None:
    """Insert the entry and its postings, make the companions' writes, write back the accounts' state: one statement."""
    parameters = {
        "entry_id": entry.id,
        "kind": entry.kind,
        "description": entry.description,
        "reference": entry.reference,
        "reverses_entry_id": entry.reverses_entry_id,
        "legs": json_rows(
            [
                {
                    "account_id": line.account_id,
                    "currency": line.currency,
                    "amount_minor": line.amount_minor,
                    "balance_after_minor": line.balance_after_minor,
                }
                for line in entry.postings
            ]
        ),
        **_state_parameters(accounts, entry.booked_at),
    }
    await _BOOKING.statement(companions).rowcount(session, _BOOKING.parameters(companions, parameters))


def _hold_record(values: RowMapping) -> HoldRecord:
    return HoldRecord(**{name: values[name] for name in _HOLD_FIELDS})


async def insert_hold(session: AsyncSession, hold: HoldRecord) -> None:
    await session.execute(_holds.insert().values(**{name: getattr(hold, name) for name in _HOLD_FIELDS}))


async def get_hold(session: AsyncSession, hold_id: uuid.UUID, *, for_update: bool = False) -> HoldRecord | None:
    statement = select(_holds).where(_holds.c.id == hold_id)
    if for_update:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).mappings().first()
    return None if row is None else _hold_record(row)


async def lock_holds(session: AsyncSession, hold_ids: Sequence[uuid.UUID]) -> list[HoldRecord]:
    statement = select(_holds).where(_holds.c.id.in_(hold_ids)).order_by(_holds.c.id).with_for_update()
    return [_hold_record(row) for row in (await session.execute(statement)).mappings().all()]


async def settle_hold(
    session: AsyncSession,
    hold_id: uuid.UUID,
    status: HoldStatus,
    closed_at: datetime,
    *,
    captured_minor: int | None = None,
    capture_entry_id: uuid.UUID | None = None,
) -> None:
    """Close an open hold: captured (with the amount and entry), voided or expired."""
    await session.execute(
        update(_holds)
        .where(_holds.c.id == hold_id)
        .values(status=status, closed_at=closed_at, captured_minor=captured_minor, capture_entry_id=capture_entry_id)
    )


async def expire_holds(session: AsyncSession, hold_ids: Sequence[uuid.UUID], closed_at: datetime) -> None:
    await session.execute(
        update(_holds).where(_holds.c.id.in_(hold_ids)).values(status=HoldStatus.EXPIRED, closed_at=closed_at)
    )


async def expired_open_holds(session: AsyncSession, now: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(hold id, account id) of open holds past their expiry, oldest expiry first."""
    statement = (
        select(_holds.c.id, _holds.c.account_id)
        .where(_holds.c.status == HoldStatus.OPEN, _holds.c.expires_at <= now)
        .order_by(_holds.c.expires_at)
        .limit(limit)
    )
    return [(row.id, row.account_id) for row in (await session.execute(statement)).all()]


async def get_entry(session: AsyncSession, entry_id: uuid.UUID) -> PostedEntry | None:
    """The entry with its postings in booking order."""
    entries, postings = _entries, _postings
    entry = (await session.execute(select(entries).where(entries.c.id == entry_id))).first()
    if entry is None:
        return None
    lines = (
        await session.execute(
            select(postings.c.account_id, postings.c.currency, postings.c.amount_minor, postings.c.balance_after_minor)
            .where(postings.c.entry_id == entry_id)
            .order_by(postings.c.id)
        )
    ).all()
    return PostedEntry(
        id=entry.id,
        kind=entry.kind,
        description=entry.description,
        reference=entry.reference,
        reverses_entry_id=entry.reverses_entry_id,
        booked_at=entry.booked_at,
        postings=tuple(
            PostingLine(line.account_id, line.currency, line.amount_minor, line.balance_after_minor) for line in lines
        ),
    )


async def reversal_of(session: AsyncSession, entry_id: uuid.UUID) -> uuid.UUID | None:
    """The id of the entry reversing `entry_id`, if there is one."""
    entries = _entries
    reversal: uuid.UUID | None = await session.scalar(
        select(entries.c.id).where(entries.c.reverses_entry_id == entry_id)
    )
    return reversal
