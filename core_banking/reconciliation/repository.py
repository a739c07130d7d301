"""The reconciliation checks as SQL: each query returns (subject, detail) for every violation it finds."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.reconciliation.models import ReconciliationRun

CHECKS: dict[str, str] = {
    # The cached balance is the sum of the account's postings.
    "balance_vs_postings": """
        SELECT a.id::text, format('cached %s, postings sum to %s', a.booked_balance_minor, coalesce(p.total, 0))
        FROM core_banking.accounts a
        LEFT JOIN (
            SELECT account_id, sum(amount_minor) AS total FROM core_banking.postings GROUP BY account_id
        ) p ON p.account_id = a.id
        WHERE a.booked_balance_minor <> coalesce(p.total, 0)
    """,
    # The running balance of the account's last posting (postings of an account are numbered under its
    # row lock) is the cached balance.
    "running_balance": """
        SELECT a.id::text, format('cached %s, last posting %s left %s', a.booked_balance_minor, last.id,
                                  last.balance_after_minor)
        FROM core_banking.accounts a
        JOIN LATERAL (
            SELECT id, balance_after_minor FROM core_banking.postings p WHERE p.account_id = a.id
            ORDER BY p.id DESC LIMIT 1
        ) last ON true
        WHERE last.balance_after_minor <> a.booked_balance_minor
    """,
    # Each posting's running balance is the previous one's plus its amount (nothing edited or removed).
    "running_balance_chain": """
        SELECT id::text, format('account %s: balance after %s - amount %s <> previous balance %s', account_id,
                                balance_after_minor, amount_minor, previous)
        FROM (
            SELECT id, account_id, amount_minor, balance_after_minor,
                   coalesce(lag(balance_after_minor) OVER (PARTITION BY account_id ORDER BY id), 0) AS previous
            FROM core_banking.postings
        ) chained
        WHERE balance_after_minor - amount_minor <> previous
    """,
    # Double entry: each entry's postings sum to zero in every currency.
    "entry_balances": """
        SELECT entry_id::text, format('%s postings sum to %s', currency, sum(amount_minor))
        FROM core_banking.postings GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0
    """,
    "entry_has_postings": """
        SELECT e.id::text, format('%s posting(s)', count(p.id))
        FROM core_banking.journal_entries e LEFT JOIN core_banking.postings p ON p.entry_id = e.id
        GROUP BY e.id HAVING count(p.id) < 2
    """,
    # Held funds (the pending balance) are the open holds' total.
    "held_vs_open_holds": """
        SELECT a.id::text, format('cached held %s, open holds total %s', a.held_minor, coalesce(h.total, 0))
        FROM core_banking.accounts a
        LEFT JOIN (
            SELECT account_id, sum(amount_minor) AS total FROM core_banking.holds WHERE status = 'OPEN'
            GROUP BY account_id
        ) h ON h.account_id = a.id
        WHERE a.held_minor <> coalesce(h.total, 0)
    """,
    # No customer's holds and debits exceed the funds guarding them: booked + overdraft - held >= 0.
    "within_overdraft": """
        SELECT id::text, format('booked %s + overdraft %s - held %s < 0', booked_balance_minor,
                                overdraft_limit_minor, held_minor)
        FROM core_banking.accounts
        WHERE kind = 'CUSTOMER' AND booked_balance_minor + overdraft_limit_minor - held_minor < 0
    """,
    # A captured hold booked exactly what it captured, no more than it held, from its own account.
    "hold_capture": """
        SELECT h.id::text, format('held %s, captured %s, capture entry debits %s', h.amount_minor,
                                  h.captured_minor, coalesce(-p.amount_minor, 0))
        FROM core_banking.holds h
        LEFT JOIN core_banking.postings p ON p.entry_id = h.capture_entry_id AND p.account_id = h.account_id
        WHERE h.status = 'CAPTURED'
          AND (h.captured_minor > h.amount_minor OR p.amount_minor IS NULL OR -p.amount_minor <> h.captured_minor)
    """,
    # Outgoing-limit counters: both periods set together, the day inside the month, the day's usage
    # part of the month's, neither in the future.
    "limit_counters": """
        SELECT id::text, format('day %s used %s, month from %s used %s', day_outgoing_date, day_outgoing_minor,
                                month_outgoing_start, month_outgoing_minor)
        FROM core_banking.accounts
        WHERE (day_outgoing_date IS NULL) <> (month_outgoing_start IS NULL)
           OR day_outgoing_minor < 0 OR month_outgoing_minor < 0
           OR (day_outgoing_date IS NOT NULL AND (
                date_trunc('month', day_outgoing_date)::date <> month_outgoing_start
                OR month_outgoing_minor < day_outgoing_minor
                OR day_outgoing_date > (now() AT TIME ZONE 'Europe/London')::date))
    """,
    # A transfer's entry moved exactly its amount from its source to its destination.
    "transfer_entry": """
        SELECT t.id::text, format('transfer of %s; entry debits source %s, credits destination %s', t.amount_minor,
                                  coalesce(-src.amount_minor, 0), coalesce(dst.amount_minor, 0))
        FROM core_banking.transfers t
        LEFT JOIN core_banking.postings src ON src.entry_id = t.entry_id AND src.account_id = t.source_account_id
        LEFT JOIN core_banking.postings dst ON dst.entry_id = t.entry_id AND dst.account_id = t.destination_account_id
        WHERE src.amount_minor IS DISTINCT FROM -t.amount_minor OR dst.amount_minor IS DISTINCT FROM t.amount_minor
    """,
    # An interest posting paid, in one entry, exactly what it claims (the table's checks keep the units exact).
    "interest_posting": """
        SELECT ip.account_id::text || ' ' || to_char(ip.month, 'YYYY-MM'),
               format('paid %s, entry %s credits %s', ip.paid_minor, ip.entry_id, coalesce(p.amount_minor, 0))
        FROM core_banking.interest_postings ip
        LEFT JOIN core_banking.postings p ON p.entry_id = ip.entry_id AND p.account_id = ip.account_id
        WHERE ip.paid_minor > 0 AND p.amount_minor IS DISTINCT FROM ip.paid_minor
    """,
}

_COUNTS = text(
    """
SELECT (SELECT count(*) FROM core_banking.accounts),
       (SELECT count(*) FROM core_banking.journal_entries),
       (SELECT count(*) FROM core_banking.holds)
"""
)
_STATEMENTS = {name: text(sql) for name, sql in CHECKS.items()}


async def violations(session: AsyncSession, check: str) -> list[tuple[str, str]]:
    """(subject, detail) of every violation of `check`."""
    return [(str(subject), str(detail)) for subject, detail in (await session.execute(_STATEMENTS[check])).all()]


async def counts(session: AsyncSession) -> tuple[int, int, int]:
    """How many accounts, journal entries and holds the checks covered."""
    accounts, entries, holds = (await session.execute(_COUNTS)).one()
    return int(accounts), int(entries), int(holds)


async def add_run(session: AsyncSession, run: ReconciliationRun) -> None:
    session.add(run)
    await session.flush()
