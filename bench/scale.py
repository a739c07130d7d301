"""How reads and transfers scale with the ledger's size: 10^4, 10^5 and 10^6 postings over 10^3 to 10^5 accounts.

Run: `.venv/bin/python -m bench.scale [--quick] [--seconds 3] [--workers 4]`.
It starts a throw-away embedded PostgreSQL and, for each size, opens one customer's account through the
service and copies it into the case's accounts, then bulk-loads transfers between them with
`generate_series` through the real tables (journal entries, then their postings with running balances, so
the append-only and double-entry triggers check every row at commit) and sets each account's booked balance
from its postings (checked afterwards). One account is hot: a tenth of all transfers touch it, so its
history grows with the ledger. Against that account, through the core_banking app in-process (httpx's ASGI
transport, a signed principal assertion), it measures the first history page, a page 90% deep by cursor,
balances, the last full month's statement, and transfers out of it; then prints p50/p99 per case and the
ratio of each p50 to the smallest case's (aim: within 2x). The month's statement is measured twice: of a
typical account, whose month holds about as many lines in every case (the aim applies), and of the hot
account, whose month grows with the ledger (a tenth of all transfers): that row prints its cost per line
instead, which stays flat when the statement scales with its own lines, not with the ledger.
`--quick` loads 10^4 and 10^5 postings only; 10^6 takes about a minute to load.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import text

from audit.trail import platform_units
from bench import bench_settings
from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import AccountType
from core_banking.accounts.schemas import AccountOpen
from core_banking.app import create_app
from core_banking.customers import service as customers_service
from core_banking.customers.models import KycStatus
from core_banking.customers.schemas import Address, CustomerCreate
from obank.actor import Actor
from obank.embedded_db import ensure_embedded_database, stop_embedded_database
from obank.migrate import upgrade_to_head
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform, build_platform

HOT_SHARE = 0.1  # of transfers with the hot account on one side
OVERDRAFT_MINOR = 10**12  # every loaded account may go this far below zero: the load never breaks a limit
HISTORY_DAYS = 180
CASES = ((10**4, 10**3), (10**5, 10**4), (10**6, 10**5))  # (postings, accounts)
AIM = 2.0
OPERATIONS = ("history first page", "history deep page", "balances", "statement (month)", "transfer")
HOT_STATEMENT = "statement (hot)"  # its lines grow with the ledger: reported per line, outside the aim


@dataclass(frozen=True)
class Case:
    """One ledger size: its postings and accounts, the customer owning them, and the hot account."""

    postings: int
    accounts: int
    customer_id: uuid.UUID
    hot: uuid.UUID
    other: uuid.UUID
    hot_lines: int
    load_seconds: float
    hot_month_lines: int = 0
    other_month_lines: int = 0

    @property
    def label(self) -> str:
        return f"{self.postings:.0e} postings / {self.accounts:.0e} accounts".replace("+0", "")


@dataclass
class Timings:
    """Latencies of one operation in one case."""

    latencies: list[float] = field(default_factory=list)

    def percentile_ms(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000 if len(self.latencies) > 1 else 0.0


def entry_sql(entries: int, accounts: int) -> str:
    """Transfers numbered 1..entries between accounts numbered 1..accounts (1 is hot), one direction each."""
    return f"""
        CREATE TEMP TABLE scale_entries AS
        WITH picks AS (
            SELECT g AS n,
                   CASE WHEN random() < {HOT_SHARE} THEN 1 ELSE 1 + floor(random() * {accounts})::int END AS a,
                   floor(random() * {accounts - 1})::int AS offset_to_b,
                   random() < 0.5 AS flip
            FROM generate_series(1, {entries}) AS g
        )
        SELECT n,
               gen_random_uuid() AS entry_id,
               CASE WHEN flip THEN 1 + (a + offset_to_b) % {accounts} ELSE a END AS source,
               CASE WHEN flip THEN a ELSE 1 + (a + offset_to_b) % {accounts} END AS destination,
               1 + floor(random() * 10000)::bigint AS amount,
               now() - interval '{HISTORY_DAYS} days' + (n::float8 / {entries}) * interval '{HISTORY_DAYS - 1} days'
                   AS booked_at
        FROM picks
    """


async def open_case(platform: Platform, postings: int, accounts: int) -> Case:
    """A customer with `accounts` accounts and `postings` postings between them, balances consistent."""
    started = time.perf_counter()
    async with platform_units(platform).begin(Actor.system("bench")) as uow:
        customer = await customers_service.create_customer(
            uow,
            CustomerCreate(
                full_name="Scale Bench",
                email=f"scale.{uuid.uuid4().hex[:8]}@example.com",
                phone="+447700900998",
                date_of_birth=date(1990, 1, 1),
                address=Address(lines=["1 Ledger Lane"], city="London", postcode="E1 6AN", country="GB"),
                national_id="QQ000000C",
            ),
        )
        await customers_service.set_kyc_status(uow, customer.id, KycStatus.VERIFIED)
        template = await accounts_service.open_account(
            uow,
            customer.id,
            AccountOpen(
                account_type=AccountType.BUSINESS,
                currency="GBP",
                overdraft_limit_minor=OVERDRAFT_MINOR,
                daily_limit_minor=10**15,
                monthly_limit_minor=10**15,
            ),
        )
    async with platform.engine.begin() as connection:
        await connection.execute(text("SET LOCAL synchronous_commit = off"))
        # Copies of the service's account; numbers from a range no other account of this run uses.
        base = await connection.scalar(text("SELECT count(*) FROM core_banking.accounts"))
        await connection.execute(
            text(
                """
                INSERT INTO core_banking.accounts
                SELECT gen_random_uuid(), kind, customer_id, account_type, internal_purpose, name, currency,
                       sort_code, 'S' || lpad((:base + g)::text, 7, '0'),
                       'GB00SCAL' || sort_code || 'S' || lpad((:base + g)::text, 7, '0'), status,
                       overdraft_limit_minor, daily_limit_minor, monthly_limit_minor, interest_rate_bps,
                       booked_balance_minor, held_minor, day_outgoing_date, day_outgoing_minor,
                       month_outgoing_start, month_outgoing_minor, opened_at, updated_at, closed_at
                FROM core_banking.accounts, generate_series(1, :copies) AS g
                WHERE id = :template
                """
            ),
            {"base": base, "copies": accounts - 1, "template": template.id},
        )
        await connection.execute(
            text(
                "CREATE TEMP TABLE scale_accounts ON COMMIT DROP AS SELECT row_number() OVER"
                " (ORDER BY id = :template DESC, id) AS n, id FROM core_banking.accounts WHERE customer_id = :customer"
            ),
            {"template": template.id, "customer": customer.id},
        )
        await connection.execute(text(entry_sql(postings // 2, accounts)))
        await connection.execute(
            text(
                "INSERT INTO core_banking.journal_entries (id, kind, description, booked_at)"
                " SELECT entry_id, 'TRANSFER', 'Scale bench', booked_at FROM scale_entries ORDER BY n"
            )
        )
        # Legs in entry order, so posting ids follow booking order and each running balance is the sum so far.
        await connection.execute(
            text(
                """
                INSERT INTO core_banking.postings
                    (entry_id, account_id, currency, amount_minor, balance_after_minor, booked_at)
                SELECT leg.entry_id, account.id, 'GBP', leg.amount,
                       sum(leg.amount) OVER (PARTITION BY leg.account ORDER BY leg.n, leg.side), leg.booked_at
                FROM (
                    SELECT n, entry_id, booked_at, source AS account, -amount AS amount, 0 AS side FROM scale_entries
                    UNION ALL
                    SELECT n, entry_id, booked_at, destination, amount, 1 FROM scale_entries
                ) AS leg
                JOIN scale_accounts AS account ON account.n = leg.account
                ORDER BY leg.n, leg.side
                """
            )
        )
        await connection.execute(
            text(
                """
                UPDATE core_banking.accounts AS account SET booked_balance_minor = total.balance
                FROM (SELECT account_id, sum(amount_minor) AS balance FROM core_banking.postings
                      WHERE account_id IN (SELECT id FROM scale_accounts) GROUP BY account_id) AS total
                WHERE account.id = total.account_id
                """
            )
        )
        hot, other = (
            await connection.execute(text("SELECT id FROM scale_accounts WHERE n IN (1, 2) ORDER BY n"))
        ).all()
        await connection.execute(text("DROP TABLE scale_entries"))
    async with platform.engine.connect() as connection:
        await connection.execute(text("ANALYZE core_banking.postings"))
        await connection.execute(text("ANALYZE core_banking.journal_entries"))
        await connection.execute(text("ANALYZE core_banking.accounts"))
        inconsistent = await connection.scalar(
            text(
                """
                SELECT count(*) FROM core_banking.accounts AS account
                LEFT JOIN LATERAL (SELECT balance_after_minor FROM core_banking.postings
                                   WHERE account_id = account.id ORDER BY id DESC LIMIT 1) AS last ON true
                WHERE account.customer_id = :customer
                  AND account.booked_balance_minor <> coalesce(last.balance_after_minor, 0)
                """
            ),
            {"customer": customer.id},
        )
        hot_lines = await connection.scalar(
            text("SELECT count(*) FROM core_banking.postings WHERE account_id = :hot"), {"hot": hot[0]}
        )
    if inconsistent:
        raise RuntimeError(f"{inconsistent} accounts' balances disagree with their postings")
    month_start = date.fromisoformat(last_full_month(datetime.now(UTC).date()) + "-01")
    next_month = date(month_start.year + month_start.month // 12, month_start.month % 12 + 1, 1)
    month_lines = text(
        "SELECT count(*) FROM core_banking.postings WHERE account_id = :account"
        " AND booked_at >= CAST(:start AS date) AND booked_at < CAST(:end AS date)"
    )
    async with platform.engine.connect() as connection:
        hot_month = await connection.scalar(month_lines, {"account": hot[0], "start": month_start, "end": next_month})
        other_month = await connection.scalar(
            month_lines, {"account": other[0], "start": month_start, "end": next_month}
        )
    return Case(
        postings,
        accounts,
        customer.id,
        hot[0],
        other[0],
        int(hot_lines or 0),
        time.perf_counter() - started,
        hot_month_lines=int(hot_month or 0),
        other_month_lines=int(other_month or 0),
    )


def last_full_month(today: date) -> str:
    """The month before `today`'s, as YYYY-MM."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


async def deep_cursor(client: httpx.AsyncClient, headers: dict[str, str], case: Case, depth: float) -> str:
    """The cursor of the page `depth` of the way into the hot account's history, by following next_cursor."""
    url = f"/api/v1/accounts/{case.hot}/transactions"
    cursor: str | None = None
    for _ in range(max(1, int(case.hot_lines * depth / 200))):
        response = await client.get(
            url, params={"limit": 200, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        response.raise_for_status()
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    if cursor is None:
        raise RuntimeError("the history ended before the deep page")
    return cursor


async def timed(call: Callable[[], Awaitable[None]], workers: int, seconds: float) -> Timings:
    """`call` back to back from `workers` tasks for `seconds` (after a short warm-up)."""
    timings = Timings()
    for warm_up in (True, False):
        deadline = time.perf_counter() + (min(0.5, seconds) if warm_up else seconds)

        async def worker(record: bool = not warm_up, until: float = deadline) -> None:
            while time.perf_counter() < until:
                started = time.perf_counter()
                await call()
                if record:
                    timings.latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(workers)))
    return timings


async def measure_case(platform: Platform, case: Case, workers: int, seconds: float) -> dict[str, Timings]:
    app = create_app(platform)
    principal = Principal(
        subject=str(case.customer_id),
        kind="customer",
        interaction_id="bench",
        scopes=frozenset({"accounts", "payments"}),
    )
    headers = {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}
    month = last_full_month(datetime.now(UTC).date())
    history = f"/api/v1/accounts/{case.hot}/transactions"

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking") as client:
        cursor = await deep_cursor(client, headers, case, 0.9)

        def getter(url: str, params: dict[str, str | int] | None = None) -> Callable[[], Awaitable[None]]:
            async def get() -> None:
                response = await client.get(url, params=params, headers=headers)
                assert response.status_code == 200, response.text

            return get

        async def transfer() -> None:
            body = {
                "source_account_id": str(case.hot),
                "destination_account_id": str(case.other),
                "amount_minor": 1,
                "currency": "GBP",
                "description": "Scale bench",
            }
            response = await client.post(
                "/api/v1/transfers", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
            )
            assert response.status_code == 201, response.text

        calls: dict[str, Callable[[], Awaitable[None]]] = {
            "history first page": getter(history, {"limit": 50}),
            "history deep page": getter(history, {"limit": 50, "cursor": cursor}),
            "balances": getter(f"/api/v1/accounts/{case.hot}/balances"),
            "statement (month)": getter(f"/api/v1/accounts/{case.other}/statements/{month}", {"format": "json"}),
            HOT_STATEMENT: getter(f"/api/v1/accounts/{case.hot}/statements/{month}", {"format": "json"}),
            "transfer": transfer,
        }
        results: dict[str, Timings] = {}
        for name, call in calls.items():
            # The assertion lives 60 s: re-sign it for every operation.
            headers[PRINCIPAL_HEADER] = app.state.internal_assertions.sign(principal, "core_banking")
            results[name] = await timed(call, workers, seconds)
    return results


def table(cases: list[Case], results: list[dict[str, Timings]]) -> list[str]:
    """p50/p99 per operation and case, and each p50's ratio to the smallest case's, with the verdict."""
    width = 34
    lines = [f"{'operation':<20}" + "".join(f"{case.label:>{width}}" for case in cases)]
    worst = 0.0
    for operation in OPERATIONS:
        smallest = results[0][operation].percentile_ms(50)
        cells = []
        for result in results:
            timings = result[operation]
            ratio = timings.percentile_ms(50) / smallest if smallest else 0.0
            worst = max(worst, ratio)
            cells.append(f"p50 {timings.percentile_ms(50):6.1f} p99 {timings.percentile_ms(99):6.1f} x{ratio:4.2f}")
        lines.append(f"{operation:<20}" + "".join(f"{cell:>{width}}" for cell in cells))
    cells = []
    for case, result in zip(cases, results, strict=True):
        timings = result[HOT_STATEMENT]
        per_line = timings.percentile_ms(50) * 1000 / max(case.hot_month_lines, 1)
        cells.append(f"p50 {timings.percentile_ms(50):6.1f} {case.hot_month_lines:5d} ln {per_line:5.0f} us/ln")
    lines.append(f"{HOT_STATEMENT:<20}" + "".join(f"{cell:>{width}}" for cell in cells))
    lines.append(
        f"(typical account's month: {', '.join(str(case.other_month_lines) for case in cases)} lines; "
        "the hot account's statement grows with its lines, so it is reported per line and left out of the aim)"
    )
    verdict = "meets" if worst <= AIM else "misses"
    lines.append(f"scale: worst p50 ratio to the smallest case x{worst:.2f} ({verdict} the aim of {AIM:.0f}x)")
    return lines


async def measure(database_url: str, data_dir: Path, args: argparse.Namespace) -> None:
    settings = bench_settings(database_url, data_dir, log_level="WARNING")
    platform = build_platform(settings)
    cases: list[Case] = []
    results: list[dict[str, Timings]] = []
    try:
        for postings, accounts in CASES[:2] if args.quick else CASES:
            case = await open_case(platform, postings, accounts)
            print(
                f"loaded {case.label} in {case.load_seconds:.1f} s; the hot account has {case.hot_lines} lines",
                flush=True,
            )
            cases.append(case)
            results.append(await measure_case(platform, case, args.workers, args.seconds))
    finally:
        await platform.close()
    print(f"\n{args.workers} concurrent loops, {args.seconds:.0f} s per operation; latencies in ms, x = p50 / smallest")
    for line in table(cases, results):
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per operation and case")
    parser.add_argument("--workers", type=int, default=4, help="concurrent request loops")
    parser.add_argument("--quick", action="store_true", help="10^4 and 10^5 postings only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="obank-bench-scale-") as scratch:
        pgdata = Path(scratch) / "pgdata"
        url = ensure_embedded_database(pgdata, database="bench")
        try:
            upgrade_to_head(url)
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(measure(url, Path(scratch) / "var", args))
        finally:
            stop_embedded_database(pgdata)


if __name__ == "__main__":
    main()
