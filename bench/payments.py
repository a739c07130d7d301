"""Payment saga throughput and latency, submission to final status, against the plain-SQL transfer baseline.

Run: `.venv/bin/python -m bench.payments [--payments 150] [--concurrency 8] [--customers 20]
[--poll-interval 0.01] [--baseline-seconds 3] [--loop uvloop]`. It starts a throw-away embedded PostgreSQL
(its own `bench` database, as `bench.transfers` does) and runs in one process, as `obank serve` without Kafka
does: the outbox relay with every consumer (saga, bank, scheme), the simulated Faster Payments scheme's
dispatcher and the payment chase run as tasks beside the workload.
- baseline: `bench.transfers.plain_sql_transfers` (psycopg: lock two rows, two updates, one insert, commit)
  from `--concurrency` loops over the same accounts, before the rails start;
- internal: `payments.service.submit_payment` to another customer's account (sort code 040075 + number),
  screened and captured to the payee by the saga: PDNG → ACSC;
- external: the same to Alan Turing, 40-05-15 76262352: screened, sent to the scheme as a pacs.008, cleared,
  answered by a pacs.002 the scheme's dispatcher delivers, captured to the settlement account: PDNG → ACSP → ACSC.
At most `--concurrency` payments are in flight: a loop submits its next payment once its last one is final.
Latency runs from just before the submitting transaction opens to the COMMIT of the transaction that makes
the payment final in `core_banking.payments`, seen by an ORM commit hook in this process (no polling
query); payments/s is `--payments` over first submission to last final commit. The cpu figures are this
process's CPU time (workload, relay, consumers, scheme, pollers) per payment.

Read the figures knowing how the saga moves. The relay polls the outbox every `outbox_poll_interval_s`
(0.5 s by default; `--poll-interval`, 0.01 s, here, for the scheme's dispatcher too) and, with no broker,
applies events one at a time, each consumer's `apply_once` in a transaction of its own, sleeping a whole
interval after each round that is not a full batch. An internal payment waits for two relay rounds
(`payment.submitted`, `payment.screened`), an external one for four and a dispatcher poll. So latency is
mostly the relay's polling: one payment in flight, on this 2-core machine with other test suites running,
p50 was ~1.1 s internal and ~2.2 s external at 0.5 s, ~180 ms and ~380 ms at 0.05 s, ~70 ms and ~170 ms at
0.01 s (where the saga's four to eight transactions run back to back make up the rest). With several
payments in flight, latency is mostly queueing behind the one relay that applies every step serially:
throughput is bounded by that relay, not by the database. Polling this often costs CPU even when idle
(printed as "idle rails": ~230 ms CPU/s at 0.01 s against ~12 ms at 0.5 s), counted in the cpu figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvloop
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from audit.trail import platform_units
from bank.jobs import consumer_registry
from bench import bench_settings
from bench.transfers import Figures, open_accounts, pair_pickers, plain_sql_transfers, report, run
from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.jobs import run_payment_chase
from core_banking.payments import service as payments_service
from core_banking.payments.models import Payment
from core_banking.payments.schemas import PaymentInitiation, PaymentStatus
from faster_payments.dispatcher import run_dispatcher
from faster_payments.registry import ensure_registry
from obank.actor import Actor
from obank.database import unit_of_work
from obank.embedded_db import ensure_embedded_database, stop_embedded_database
from obank.migrate import upgrade_to_head
from obank.money import Money
from obank.outbox.worker import run_worker
from obank.principal import Principal
from obank.runtime import Platform, build_platform
from obank.unit_of_work import UnitOfWork

ALAN_TURING = CreditorAccount(
    name="Alan Turing", scheme=CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, identification="40051576262352"
)
_FINAL_KEY = "bench.payments.final"
Watched = tuple[uuid.UUID, "asyncio.Future[tuple[PaymentStatus, float]]"]
FINAL_TIMEOUT_S = 60.0
IDLE_SECONDS = 2.0


@dataclass(frozen=True)
class Payer:
    customer_id: uuid.UUID
    account_id: uuid.UUID
    actor: Actor
    payee: CreditorAccount  # this customer's account, as another customer names it


@dataclass
class PaymentFigures:
    name: str
    payments: int
    seconds: float
    cpu_seconds: float
    latencies: list[float]
    rejected: int

    @property
    def per_second(self) -> float:
        return self.payments / self.seconds

    def percentile_ms(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


class FinalCommits:
    """Resolves a payment's future when the transaction that makes it final commits, with that instant.

    The saga runs in this process, so an ORM hook sees it: after a flush, the payments waited for that are now
    ACSC or RJCT are noted on the session; after its COMMIT (the status visible in `core_banking.payments`),
    their futures get the status and `time.perf_counter()`. No polling query: measuring costs the run nothing.
    """

    def __init__(self) -> None:
        self.waiting: dict[uuid.UUID, asyncio.Future[tuple[PaymentStatus, float]]] = {}

    def watch(self, payment_id: uuid.UUID) -> asyncio.Future[tuple[PaymentStatus, float]]:
        future: asyncio.Future[tuple[PaymentStatus, float]] = asyncio.get_running_loop().create_future()
        self.waiting[payment_id] = future
        return future

    def _after_flush(self, session: Session, _flush: object) -> None:
        for instance in session.dirty:
            if isinstance(instance, Payment) and instance.status.final and instance.id in self.waiting:
                session.info.setdefault(_FINAL_KEY, []).append((instance.id, instance.status))

    def _after_commit(self, session: Session) -> None:
        committed = time.perf_counter()
        for payment_id, status in session.info.pop(_FINAL_KEY, ()):
            future = self.waiting.pop(payment_id, None)
            if future is not None and not future.done():
                future.set_result((status, committed))

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(_FINAL_KEY, None)

    def __enter__(self) -> FinalCommits:
        event.listen(Session, "after_flush", self._after_flush)
        event.listen(Session, "after_commit", self._after_commit)
        event.listen(Session, "after_rollback", self._after_rollback)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(Session, "after_flush", self._after_flush)
        event.remove(Session, "after_commit", self._after_commit)
        event.remove(Session, "after_rollback", self._after_rollback)


async def open_payers(platform: Platform, customers: int) -> list[Payer]:
    """`customers` verified customers, each with one richly funded account (`bench.transfers.open_accounts`)."""
    opened = [await open_accounts(platform, 1) for _ in range(customers)]
    payers = []
    async with platform.engine.connect() as connection:
        for customer_id, (account_id,) in opened:
            row = (
                await connection.execute(
                    text("SELECT sort_code, account_number FROM core_banking.accounts WHERE id = :id"),
                    {"id": account_id},
                )
            ).one()
            actor = Actor.from_principal(Principal(subject=str(customer_id), kind="customer", interaction_id="bench"))
            payee = CreditorAccount(
                name="Bench Mark",
                scheme=CreditorScheme.SORT_CODE_ACCOUNT_NUMBER,
                identification=f"{row.sort_code}{row.account_number}",
            )
            payers.append(Payer(customer_id, account_id, actor, payee))
    return payers


async def pay(
    name: str,
    platform: Platform,
    finals: FinalCommits,
    payers: list[Payer],
    payee_for: Callable[[Payer, random.Random], CreditorAccount],
    count: int,
    concurrency: int,
    seed: int,
) -> PaymentFigures:
    """`count` payments from `concurrency` loops, each submitting its next payment once its last one is final."""
    units = platform_units(platform)
    rng = random.Random(seed)
    remaining = iter(range(count))
    latencies: list[float] = []
    submitted: list[float] = []
    finished: list[float] = []
    rejected = 0

    async def loop() -> None:
        nonlocal rejected
        for _ in remaining:
            payer = rng.choice(payers)
            initiation = PaymentInitiation(
                customer_id=payer.customer_id,
                debtor_account_id=payer.account_id,
                amount=Money(1, "GBP"),
                creditor=payee_for(payer, rng),
                reference="Bench",
            )

            async def submit(uow: UnitOfWork, initiation: PaymentInitiation = initiation) -> Watched:
                record = await payments_service.submit_payment(uow, initiation)
                return record.id, finals.watch(record.id)  # before COMMIT, so before any later step commits

            started = time.perf_counter()
            payment_id, final = await units.retry(payer.actor, submit)
            try:
                status, done = await asyncio.wait_for(final, FINAL_TIMEOUT_S)
            except TimeoutError:
                raise RuntimeError(f"payment {payment_id} was not final after {FINAL_TIMEOUT_S:.0f} s") from None
            rejected += status is PaymentStatus.REJECTED
            submitted.append(started)
            finished.append(done)
            latencies.append(done - started)

    cpu_started = time.process_time()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    cpu = time.process_time() - cpu_started
    return PaymentFigures(name, len(latencies), max(finished) - min(submitted), cpu, latencies, rejected)


def report_payments(figures: PaymentFigures, baseline: Figures) -> None:
    print(
        f"{figures.name:35} {figures.per_second:6.1f} payments/s  p50 {figures.percentile_ms(50):6.2f} ms"
        f"   p99 {figures.percentile_ms(99):7.2f} ms   cpu {figures.cpu_seconds / figures.payments * 1000:5.2f}"
        f" ms/payment   {figures.per_second / baseline.per_second:5.3f} x baseline"
        f"   ({figures.payments} payments, {figures.rejected} rejected)",
        flush=True,
    )


async def measure(database_url: str, data_dir: Path, args: argparse.Namespace) -> None:
    settings = bench_settings(database_url, data_dir, outbox_poll_interval_s=args.poll_interval)
    platform = build_platform(settings)
    async with platform.engine.connect() as connection:
        server = {name: await connection.scalar(text(f"SHOW {name}")) for name in ("fsync", "synchronous_commit")}
    print(
        f"PostgreSQL fsync={server['fsync']} synchronous_commit={server['synchronous_commit']}; "
        f"{args.concurrency} concurrent loops, {args.customers} customers, {args.payments} payments per kind; "
        f"outbox relay and scheme dispatcher poll every {args.poll_interval * 1000:.0f} ms "
        f"(outbox_poll_interval_s={args.poll_interval}; 0.5 s by default), in-process consumers, no Kafka",
        flush=True,
    )
    async with unit_of_work(platform.sessions) as session:
        await ensure_registry(session)
    payers = await open_payers(platform, args.customers)
    account_ids = [payer.account_id for payer in payers]

    # The baseline first, with nothing else running in the process.
    plain, close_plain = await plain_sql_transfers(database_url, account_ids, args.concurrency)
    uniform = pair_pickers(account_ids, seed=7)["uniform"]
    await run("plain SQL transfer (baseline)", plain, uniform, args.concurrency, min(1.0, args.baseline_seconds))
    baseline = await run("plain SQL transfer (baseline)", plain, uniform, args.concurrency, args.baseline_seconds)
    await close_plain()
    report(baseline, None)

    def internal(payer: Payer, rng: random.Random) -> CreditorAccount:
        while (other := rng.choice(payers)) is payer:
            pass
        return other.payee

    def external(_payer: Payer, _rng: random.Random) -> CreditorAccount:
        return ALAN_TURING

    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(run_worker(platform, consumer_registry(platform), stop=stop, handle_signals=False)),
        asyncio.create_task(run_dispatcher(platform.sessions, stop, interval_s=args.poll_interval)),
        asyncio.create_task(run_payment_chase(platform, stop)),
    ]
    results: list[PaymentFigures] = []
    try:
        await asyncio.sleep(0.5)  # the relay's first rounds
        idle_started, idle_cpu_started = time.perf_counter(), time.process_time()
        await asyncio.sleep(IDLE_SECONDS)
        idle_cpu = (time.process_time() - idle_cpu_started) / (time.perf_counter() - idle_started)
        print(
            f"idle rails (relay, scheme dispatcher, chase polling; no payment): {idle_cpu * 1000:.0f} ms CPU/s"
            " of this process, counted in every cpu figure below",
            flush=True,
        )
        with FinalCommits() as finals:
            for name, payee_for in (
                ("internal payee (PDNG→ACSC)", internal),
                ("external payee (PDNG→ACSP→ACSC)", external),
            ):
                warm_up = max(args.concurrency, args.payments // 10)
                await pay(name, platform, finals, payers, payee_for, warm_up, args.concurrency, seed=1)
                figures = await pay(name, platform, finals, payers, payee_for, args.payments, args.concurrency, 2)
                report_payments(figures, baseline)
                results.append(figures)
    finally:
        stop.set()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
    async with platform.engine.begin() as connection:
        await connection.execute(text("DROP TABLE public.bench_postings, public.bench_accounts"))
    await platform.close()
    internal_figures, external_figures = results
    print(
        f"payments/baseline: internal {internal_figures.per_second / baseline.per_second:.3f}, "
        f"external {external_figures.per_second / baseline.per_second:.3f}; "
        f"external/internal {external_figures.per_second / internal_figures.per_second:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--payments", type=int, default=150, help="measured payments per kind (internal, external)")
    parser.add_argument("--concurrency", type=int, default=8, help="payments in flight (and baseline loops)")
    parser.add_argument("--customers", type=int, default=20, help="customers, one funded account each")
    parser.add_argument("--baseline-seconds", type=float, default=3.0, help="measured seconds of the baseline")
    parser.add_argument(
        "--poll-interval", type=float, default=0.01, help="outbox relay and scheme dispatcher poll interval (s)"
    )
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop", help="event loop")
    args = parser.parse_args()
    if args.customers < 2:
        parser.error("--customers must be at least 2 (internal payments go to another customer)")
    with tempfile.TemporaryDirectory(prefix="obank-bench-") as scratch:
        pgdata = Path(scratch) / "pgdata"
        url = ensure_embedded_database(pgdata, database="bench")
        try:
            upgrade_to_head(url)
            loop_factory = uvloop.new_event_loop if args.loop == "uvloop" else asyncio.new_event_loop
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(measure(url, Path(scratch) / "var", args))
        finally:
            stop_embedded_database(pgdata)


if __name__ == "__main__":
    main()
