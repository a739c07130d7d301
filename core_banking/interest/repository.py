"""Interest persistence: a day's accruals in one statement, monthly claims and their entries."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.interest.schemas import PostingCandidate

# Every earning savings account's closing balance of the day, from its last posting booked before the
# day ended; the primary key turns a repeated (or concurrent) run into no-ops.
_ACCRUE_DAY = text(
    """
INSERT INTO core_banking.interest_accruals
    (account_id, accrual_date, balance_minor, rate_bps, interest_units, accrued_at)
SELECT account.id, :day, closing.balance_after_minor, account.interest_rate_bps,
       closing.balance_after_minor::numeric * account.interest_rate_bps, :now
FROM core_banking.accounts AS account
CROSS JOIN LATERAL (
    SELECT posting.balance_after_minor FROM core_banking.postings AS posting
    WHERE posting.account_id = account.id AND posting.booked_at < :day_ends_at
    ORDER BY posting.booked_at DESC, posting.id DESC
    LIMIT 1
) AS closing
WHERE account.kind = 'CUSTOMER' AND account.account_type = 'SAVINGS' AND account.interest_rate_bps > 0
  AND account.status <> 'CLOSED' AND closing.balance_after_minor > 0
-- One order for every run, so concurrent runs wait on each other's keys instead of deadlocking.
ORDER BY account.id
ON CONFLICT (account_id, accrual_date) DO NOTHING
RETURNING interest_units
"""
)
_CANDIDATES = text(
    """
SELECT accrued.account_id, account.currency, accrued.units, coalesce(previous.carried_out_units, 0) AS carried
FROM (
    SELECT account_id, sum(interest_units) AS units FROM core_banking.interest_accruals
    WHERE accrual_date >= :month_start AND accrual_date < :next_month_start
    GROUP BY account_id
) AS accrued
JOIN core_banking.accounts AS account ON account.id = accrued.account_id AND account.status <> 'CLOSED'
LEFT JOIN LATERAL (
    SELECT carried_out_units FROM core_banking.interest_postings AS posted
    WHERE posted.account_id = accrued.account_id AND posted.month < :month_start
    ORDER BY posted.month DESC
    LIMIT 1
) AS previous ON true
WHERE NOT EXISTS (
    SELECT 1 FROM core_banking.interest_postings AS posted
    WHERE posted.account_id = accrued.account_id AND posted.month = :month_start
)
ORDER BY accrued.account_id
"""
)
_EARLIEST_UNPOSTED = text(
    """
SELECT min(accrual.accrual_date) FROM core_banking.interest_accruals AS accrual
WHERE accrual.accrual_date < :before AND NOT EXISTS (
    SELECT 1 FROM core_banking.interest_postings AS posted
    WHERE posted.account_id = accrual.account_id
      AND posted.month = CAST(date_trunc('month', accrual.accrual_date) AS date)
)
"""
)
# Claims the month for the account: a concurrent claim waits on the primary key, then inserts nothing.
_CLAIM = text(
    """
INSERT INTO core_banking.interest_postings
    (account_id, month, accrued_units, carried_in_units, paid_minor, carried_out_units, posted_at)
VALUES (:account_id, :month, :accrued_units, :carried_in_units, :paid_minor, :carried_out_units, :now)
ON CONFLICT (account_id, month) DO NOTHING
RETURNING account_id
"""
)
_SET_ENTRY = text(
    "UPDATE core_banking.interest_postings SET entry_id = :entry_id WHERE account_id = :account_id AND month = :month"
)


async def accrue_day(session: AsyncSession, day: date, day_ends_at: datetime, now: datetime) -> list[int]:
    """Accrue `day` for every earning account not yet accrued for it; the interest units of each new accrual."""
    result = await session.execute(_ACCRUE_DAY, {"day": day, "day_ends_at": day_ends_at, "now": now})
    return [int(units) for (units,) in result.all()]


async def posting_candidates(
    session: AsyncSession, month_start: date, next_month_start: date
) -> list[PostingCandidate]:
    result = await session.execute(_CANDIDATES, {"month_start": month_start, "next_month_start": next_month_start})
    return [
        PostingCandidate(
            account_id=row.account_id,
            currency=row.currency,
            accrued_units=int(row.units),
            carried_in_units=int(row.carried),
        )
        for row in result.all()
    ]


async def earliest_unposted_accrual(session: AsyncSession, before: date) -> date | None:
    day: date | None = await session.scalar(_EARLIEST_UNPOSTED, {"before": before})
    return day


async def claim_posting(
    session: AsyncSession,
    account_id: uuid.UUID,
    month_start: date,
    *,
    accrued_units: int,
    carried_in_units: int,
    paid_minor: int,
    carried_out_units: int,
    now: datetime,
) -> bool:
    """Claim the account's month; False when it was paid already (or is being paid by a concurrent run)."""
    values = {
        "account_id": account_id,
        "month": month_start,
        "accrued_units": accrued_units,
        "carried_in_units": carried_in_units,
        "paid_minor": paid_minor,
        "carried_out_units": carried_out_units,
        "now": now,
    }
    return (await session.execute(_CLAIM, values)).first() is not None


async def set_entry(session: AsyncSession, account_id: uuid.UUID, month_start: date, entry_id: uuid.UUID) -> None:
    await session.execute(_SET_ENTRY, {"account_id": account_id, "month": month_start, "entry_id": entry_id})
