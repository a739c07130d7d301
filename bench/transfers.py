"""Transfer throughput and latency: service layer and HTTP against the same transfer as plain SQL.

Run: `.venv/bin/python -m bench.transfers [--seconds 5] [--workers 8] [--accounts 20] [--loop uvloop]`.
It starts a throw-away embedded PostgreSQL and runs on uvloop, as `obank serve` does. Every transfer
is one whole transaction, started and committed by the workload itself, from `--workers` tasks:
- plain SQL (baseline): psycopg, lock two rows in id order, two updates, one insert, commit;
- ledger primitive: `ledger.post_transfer` alone (no idempotency key, transfer row, event or audit),
  and with an audit record appended (whose chain-head lock is held until commit: audited transactions
  commit one at a time);
- service layer: `transfers.service.make_transfer` as the route runs it (idempotency key, ledger,
  transfer row, outbox event, audit record), on the platform's engine and on a second engine of the
  same settings (pool_pre_ping off in both since obank.database dropped it: a same-run noise check);
- HTTP: `POST /api/v1/transfers` into the core_banking app, in-process (no sockets, TLS or gateway hop),
  with a signed principal assertion and a fresh Idempotency-Key, from a lean ASGI client (`bench.asgi`,
  whose CPU per request is printed next to httpx's ASGI transport's: it is charged to the route).
Each runs over uniformly random pairs of accounts, and over a hot account on one side of every transfer.
Then balance reads: plain SQL (baseline: psycopg, the accounts-row query the API runs, in a transaction of
its own) against `GET /api/v1/accounts/{id}/balances` in-process. Transfers and reads also run through the
stack's floor (`bench.core_floor`: plain SQL's work behind a bare FastAPI route that checks the principal
assertion), which the final line gives as `floor=`, a ratio to plain SQL like obank's own. The RSS of this
process (which serves the app) is printed idle and at its peak under the HTTP transfer load; `--profile DIR`
records py-spy profiles of the HTTP workloads. The last line sums the run up for comparison between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from audit.trail import platform_units, units_of_work
from bench import bench_settings
from bench.asgi import AsgiClient, client_cost
from bench.core_floor import TRANSFER_PATH, balance_path, floor_app
from bench.profiles import RssSampler, mib, recording
from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import AccountType
from core_banking.accounts.schemas import AccountOpen
from core_banking.app import create_app
from core_banking.customers import service as customers_service
from core_banking.customers.models import KycStatus
from core_banking.customers.schemas import Address, CustomerCreate
from core_banking.ledger import service as ledger_service
from core_banking.transfers import service as transfers_service
from core_banking.transfers.schemas import TransferCreate
from obank.actor import Actor
from obank.database import async_url, create_sessionmaker
from obank.embedded_db import ensure_embedded_database, stop_embedded_database
from obank.migrate import upgrade_to_head
from obank.money import Money
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform, build_platform
from obank.server import settle_heap
from obank.unit_of_work import UnitOfWork

Pair = tuple[uuid.UUID, uuid.UUID]
Transfer = Callable[[Pair], Awaitable[object]]
FUNDING_MINOR = 10**12
BENCH_ACTOR = Actor.system("bench")


@dataclass
class Figures:
    name: str
    transfers: int
    seconds: float
    cpu_seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.transfers / self.seconds

    @property
    def cpu_ms_per_transfer(self) -> float:
        """This process's CPU time (every worker, the event loop, the driver) per transfer."""
        return self.cpu_seconds / self.transfers * 1000

    def percentile_ms(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


async def run(name: str, transfer: Transfer, pairs: Callable[[], Pair], workers: int, seconds: float) -> Figures:
    """`transfer` back to back from `workers` tasks for `seconds`."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            pair = pairs()
            started = time.perf_counter()
            await transfer(pair)
            latencies.append(time.perf_counter() - started)

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(workers)))
    cpu = time.process_time() - cpu_started
    return Figures(name, len(latencies), time.perf_counter() - started, cpu, latencies)


async def open_accounts(platform: Platform, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """One verified customer with `count` richly funded accounts and limits out of the way."""
    async with platform_units(platform).begin(BENCH_ACTOR) as uow:
        customer = await customers_service.create_customer(
            uow,
            CustomerCreate(
                full_name="Bench Mark",
                email=f"bench.{uuid.uuid4().hex[:8]}@example.com",
                phone="+447700900999",
                date_of_birth=date(1990, 1, 1),
                address=Address(lines=["1 Load Lane"], city="London", postcode="E1 6AN", country="GB"),
                national_id="QQ000000B",
            ),
        )
        await customers_service.set_kyc_status(uow, customer.id, KycStatus.VERIFIED)
        ids = []
        for _ in range(count):
            account = await accounts_service.open_account(
                uow,
                customer.id,
                AccountOpen(
                    account_type=AccountType.BUSINESS,
                    currency="GBP",
                    daily_limit_minor=10**15,
                    monthly_limit_minor=10**15,
                ),
            )
            await ledger_service.deposit(uow, account.id, Money(FUNDING_MINOR, "GBP"), description="Bench")
            ids.append(account.id)
    return customer.id, ids


def pair_pickers(ids: list[uuid.UUID], seed: int) -> dict[str, Callable[[], Pair]]:
    rng = random.Random(seed)
    hot, others = ids[0], ids[1:]

    def uniform() -> Pair:
        source, destination = rng.sample(ids, 2)
        return source, destination

    def hot_account() -> Pair:
        other = rng.choice(others)
        return (hot, other) if rng.random() < 0.5 else (other, hot)

    return {"uniform": uniform, "hot": hot_account}


async def plain_sql_transfers(
    database_url: str, ids: list[uuid.UUID], workers: int
) -> tuple[Transfer, Callable[[], Awaitable[None]]]:
    """The baseline: the same transfer with no framework, on tables of its own in the same database."""
    setup = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    await setup.execute("DROP TABLE IF EXISTS public.bench_postings, public.bench_accounts")
    await setup.execute("CREATE TABLE public.bench_accounts (id uuid PRIMARY KEY, balance bigint NOT NULL)")
    await setup.execute(
        "CREATE TABLE public.bench_postings (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, source uuid NOT NULL,"
        " destination uuid NOT NULL, amount bigint NOT NULL, booked_at timestamptz NOT NULL DEFAULT now())"
    )
    for account_id in ids:
        await setup.execute("INSERT INTO public.bench_accounts VALUES (%s, %s)", (account_id, FUNDING_MINOR))
    await setup.close()
    pool: asyncio.Queue[psycopg.AsyncConnection[tuple[object, ...]]] = asyncio.Queue()
    for _ in range(workers):
        pool.put_nowait(await psycopg.AsyncConnection.connect(database_url))

    async def transfer(pair: Pair) -> None:
        source, destination = pair
        connection = await pool.get()
        try:
            async with connection.transaction():
                await connection.execute(
                    "SELECT id, balance FROM public.bench_accounts WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                    ([source, destination],),
                )
                await connection.execute(
                    "UPDATE public.bench_accounts SET balance = balance - 1 WHERE id = %s", (source,)
                )
                await connection.execute(
                    "UPDATE public.bench_accounts SET balance = balance + 1 WHERE id = %s", (destination,)
                )
                await connection.execute(
                    "INSERT INTO public.bench_postings (source, destination, amount) VALUES (%s, %s, 1)",
                    (source, destination),
                )
        finally:
            pool.put_nowait(connection)

    async def close() -> None:
        while not pool.empty():
            await pool.get_nowait().close()

    return transfer, close


def service_transfers(
    sessions: async_sessionmaker[AsyncSession], platform: Platform, customer_id: uuid.UUID
) -> Transfer:
    actor = Actor.from_principal(Principal(subject=str(customer_id), kind="customer", interaction_id="bench"))
    units = units_of_work(sessions, platform.keyring)

    async def transfer(pair: Pair) -> None:
        request = TransferCreate(
            source_account_id=pair[0],
            destination_account_id=pair[1],
            amount_minor=1,
            currency="GBP",
            description="Bench",
        )

        async def work(uow: UnitOfWork) -> None:
            outcome = await transfers_service.make_transfer(
                uow, customer_id, request, idempotency_key=str(uuid.uuid4())
            )
            assert outcome.status == 201, outcome.body

        await units.retry(actor, work)

    return transfer


def ledger_transfers(platform: Platform, *, audited: bool) -> Transfer:
    """The ledger primitive alone, or with an audit record appended in its transaction."""
    units = platform_units(platform)

    async def transfer(pair: Pair) -> None:
        async with units.begin(BENCH_ACTOR) as uow:
            entry = await ledger_service.post_transfer(
                uow.session, pair[0], pair[1], Money(1, "GBP"), description="Bench"
            )
            if audited:
                uow.audit(
                    action="transfer.completed",
                    entity_type="transfer",
                    entity_id=str(entry.id),
                    after={"amount_minor": 1},
                )

    return transfer


def http_transfers(client: AsgiClient, headers: dict[str, str]) -> Transfer:
    async def transfer(pair: Pair) -> None:
        body = {
            "source_account_id": str(pair[0]),
            "destination_account_id": str(pair[1]),
            "amount_minor": 1,
            "currency": "GBP",
            "description": "Bench",
        }
        response = await client.post(
            "/api/v1/transfers", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
        )
        assert response.status_code == 201, response.text

    return transfer


async def plain_sql_balances(
    database_url: str, customer_id: uuid.UUID, workers: int
) -> tuple[Transfer, Callable[[], Awaitable[None]]]:
    """The balance-read baseline: the accounts-row query the API runs, one transaction per read, no framework."""
    pool: asyncio.Queue[psycopg.AsyncConnection[tuple[object, ...]]] = asyncio.Queue()
    for _ in range(workers):
        pool.put_nowait(await psycopg.AsyncConnection.connect(database_url))

    async def read(pair: Pair) -> None:
        connection = await pool.get()
        try:
            async with connection.transaction():
                cursor = await connection.execute(
                    "SELECT customer_id, currency, booked_balance_minor, held_minor, overdraft_limit_minor"
                    " FROM core_banking.accounts WHERE id = %s",
                    (pair[0],),
                )
                row = await cursor.fetchone()
            assert row is not None and row[0] == customer_id
        finally:
            pool.put_nowait(connection)

    async def close() -> None:
        while not pool.empty():
            await pool.get_nowait().close()

    return read, close


def floor_transfers(client: AsgiClient, headers: dict[str, str]) -> Transfer:
    async def transfer(pair: Pair) -> None:
        body = {"source_account_id": str(pair[0]), "destination_account_id": str(pair[1]), "amount_minor": 1}
        response = await client.post(TRANSFER_PATH, json=body, headers=headers)
        assert response.status_code == 201, response.text

    return transfer


def floor_balances(client: AsgiClient, headers: dict[str, str]) -> Transfer:
    async def read(pair: Pair) -> None:
        response = await client.get(balance_path(pair[0]), headers=headers)
        assert response.status_code == 200, response.text

    return read


def http_balances(client: AsgiClient, headers: dict[str, str]) -> Transfer:
    async def read(pair: Pair) -> None:
        response = await client.get(f"/api/v1/accounts/{pair[0]}/balances", headers=headers)
        assert response.status_code == 200, response.text

    return read


def final_line(by_name: dict[str, Figures], idle_rss: int, load_rss: int) -> str:
    """The one line runs compare (uniform accounts): rates, ratios to plain SQL, p50/p99 over HTTP, RSS."""
    plain, http = by_name["plain SQL (baseline)"], by_name["HTTP (in-process ASGI)"]
    plain_read, http_read = by_name["plain SQL balance read (baseline)"], by_name["HTTP balance read (in-process ASGI)"]
    floor, floor_read = by_name["HTTP floor (bench.core_floor)"], by_name["HTTP floor balance read"]
    return (
        f"transfers: plain={plain.per_second:.0f}/s http={http.per_second:.0f}/s"
        f" ratio={http.per_second / plain.per_second:.2f} floor={floor.per_second / plain.per_second:.2f}"
        f" p50={http.percentile_ms(50):.1f}ms p99={http.percentile_ms(99):.1f}ms"
        f" balance: plain={plain_read.per_second:.0f}/s http={http_read.per_second:.0f}/s"
        f" ratio={http_read.per_second / plain_read.per_second:.2f}"
        f" floor={floor_read.per_second / plain_read.per_second:.2f}"
        f" rss idle={idle_rss // 2**20}MiB load={load_rss // 2**20}MiB"
    )


def report(figures: Figures, baseline: Figures | None, unit: str = "transfer") -> None:
    ratio = "" if baseline is None else f"   {figures.per_second / baseline.per_second:5.2f} x baseline"
    print(
        f"{figures.name:35} {figures.per_second:6.0f} {unit}s/s   p50 {figures.percentile_ms(50):6.2f} ms"
        f"   p99 {figures.percentile_ms(99):7.2f} ms   cpu {figures.cpu_ms_per_transfer:5.2f} ms/{unit}{ratio}",
        flush=True,
    )


async def measure(
    database_url: str, data_dir: Path, seconds: float, workers: int, accounts: int, profile: Path | None = None
) -> None:
    settings = bench_settings(database_url, data_dir)
    platform = build_platform(settings)
    # A second engine configured like the platform's (no health-check round trip per checkout).
    no_ping = create_async_engine(async_url(database_url), pool_size=10, max_overflow=20, pool_pre_ping=False)
    no_ping_sessions = create_sessionmaker(no_ping)
    async with platform.engine.connect() as connection:
        server = {name: await connection.scalar(text(f"SHOW {name}")) for name in ("fsync", "synchronous_commit")}
    print(
        f"PostgreSQL fsync={server['fsync']} synchronous_commit={server['synchronous_commit']}; "
        f"{workers} concurrent workers, {accounts} accounts, {seconds:.0f} s per workload",
        flush=True,
    )
    customer_id, ids = await open_accounts(platform, accounts)
    app = create_app(platform)
    principal = Principal(
        subject=str(customer_id),
        kind="customer",
        interaction_id="bench",
        scopes=frozenset({"payments", "accounts"}),
    )
    headers = {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}
    settle_heap()  # as `obank serve` does once its app is built (obank.server.run_server)
    plain, close_plain = await plain_sql_transfers(database_url, ids, workers)
    plain_reads, close_plain_reads = await plain_sql_balances(database_url, customer_id, workers)
    rss = RssSampler([os.getpid()])  # the app is served in this process
    idle_rss = rss.rss()
    load_rss = idle_rss
    uniform: dict[str, Figures] = {}
    lean_cost, httpx_cost = await client_cost()
    print(
        f"in-process client: {lean_cost * 1e6:.0f} us CPU per request"
        f" (httpx's ASGI transport: {httpx_cost * 1e6:.0f} us)",
        flush=True,
    )
    client = AsgiClient(app, host="core-banking")
    floor = AsgiClient(floor_app(platform, app.state.internal_assertions), host="core-banking")
    workloads: list[tuple[str, Transfer]] = [
        ("plain SQL (baseline)", plain),
        ("ledger.post_transfer only", ledger_transfers(platform, audited=False)),
        ("ledger.post_transfer + audit record", ledger_transfers(platform, audited=True)),
        ("service layer", service_transfers(platform.sessions, platform, customer_id)),
        ("service layer, no pool_pre_ping", service_transfers(no_ping_sessions, platform, customer_id)),
        ("HTTP (in-process ASGI)", http_transfers(client, headers)),
        ("HTTP floor (bench.core_floor)", floor_transfers(floor, headers)),
    ]
    for variant, pairs in pair_pickers(ids, seed=7).items():
        print(f"-- {variant} accounts", flush=True)
        baseline: Figures | None = None
        for name, transfer in workloads:
            # The assertion lives 60 s: re-sign it for every workload.
            headers[PRINCIPAL_HEADER] = app.state.internal_assertions.sign(principal, "core_banking")
            await run(name, transfer, pairs, workers, min(1.0, seconds))  # warm-up
            http = name.startswith("HTTP")
            if http:
                rss.start()
            figures = await run(name, transfer, pairs, workers, seconds)
            if http:
                load_rss = max(load_rss, rss.stop())
            if http and profile:  # a run of its own: sampling slows the process, the figures stay unprofiled
                with recording(os.getpid(), profile, f"transfers-{variant}"):
                    await run(name, transfer, pairs, workers, seconds)
            baseline = baseline or figures
            report(figures, None if figures is baseline else baseline)
            if variant == "uniform":
                uniform[name] = figures
    print("-- balance reads, uniform accounts", flush=True)
    reads: list[tuple[str, Transfer]] = [
        ("plain SQL balance read (baseline)", plain_reads),
        ("HTTP balance read (in-process ASGI)", http_balances(client, headers)),
        ("HTTP floor balance read", floor_balances(floor, headers)),
    ]
    read_baseline: Figures | None = None
    for name, read in reads:
        headers[PRINCIPAL_HEADER] = app.state.internal_assertions.sign(principal, "core_banking")
        pairs = pair_pickers(ids, seed=7)["uniform"]
        await run(name, read, pairs, workers, min(1.0, seconds))
        figures = await run(name, read, pairs, workers, seconds)
        read_baseline = read_baseline or figures
        report(figures, None if figures is read_baseline else read_baseline, unit="read")
        uniform[name] = figures
    print(
        f"RSS of this process (it serves the app): idle {mib(idle_rss)}, under the HTTP transfer load {mib(load_rss)}"
    )
    print(final_line(uniform, idle_rss, load_rss))
    await close_plain_reads()
    await close_plain()
    async with platform.engine.begin() as connection:
        await connection.execute(text("DROP TABLE public.bench_postings, public.bench_accounts"))
    await no_ping.dispose()
    await platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per workload")
    parser.add_argument("--workers", type=int, default=8, help="concurrent transfer loops")
    parser.add_argument("--accounts", type=int, default=20, help="accounts transfers pick from")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop", help="event loop (both sides)")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the HTTP workloads into DIR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="obank-bench-") as scratch:
        pgdata = Path(scratch) / "pgdata"
        url = ensure_embedded_database(pgdata, database="bench")
        try:
            upgrade_to_head(url)
            # The event loop `obank serve` runs on (uvicorn picks uvloop when installed), unless told otherwise.
            loop_factory = uvloop.new_event_loop if args.loop == "uvloop" else asyncio.new_event_loop
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(measure(url, Path(scratch) / "var", args.seconds, args.workers, args.accounts, args.profile))
        finally:
            stop_embedded_database(pgdata)


if __name__ == "__main__":
    main()
