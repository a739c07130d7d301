"""Audit append throughput: 1 writer vs 8 concurrent writers vs a plain INSERT of the same row; batches.

Run: `.venv/bin/python -m bench.audit_append [--seconds 5] [--database-url URL]`. Without a URL it
starts a throw-away embedded PostgreSQL; a given URL must be a migrated database you can discard.
Every operation is one whole transaction (begin, write, commit), as a request would do it. Then
transactions of many records (as a group commit writes them): one `append_audit_record` call per
record against one `append_audit_records` call for all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.schemas import AuditEntry
from audit.verify import verify_chain
from audit.writer import append_audit_record, append_audit_records
from obank.actor import ActorKind
from obank.crypto import KeyRing, generate_key
from obank.database import create_engine, create_sessionmaker, unit_of_work
from obank.embedded_db import ensure_embedded_database, stop_embedded_database
from obank.migrate import upgrade_to_head

Operation = Callable[[AsyncSession], Awaitable[object]]
PLAIN_TABLE = "public.bench_plain_records"
BATCH_SIZES = (16, 64)  # 64: the group commit's largest batch


@dataclasses.dataclass
class Figures:
    name: str
    writers: int
    operations: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds

    def percentile_ms(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


def audit_entry() -> AuditEntry:
    return AuditEntry(
        actor_kind=ActorKind.CUSTOMER,
        actor_id="customer-0001",
        action="payment.initiated",
        entity_type="payment",
        entity_id=str(uuid.uuid4()),
        before=None,
        after={"amount_minor": 12_500, "currency": "GBP", "creditor": "GB33BUKB20201555555555"},
        client_id="tpp-demo",
        session_id="sess-1",
        ip_address="198.51.100.23",
    )


async def run(
    sessions: async_sessionmaker[AsyncSession], name: str, op: Operation, writers: int, seconds: float
) -> Figures:
    """Run `op` in back-to-back transactions from `writers` concurrent tasks for `seconds`."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def writer() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            async with unit_of_work(sessions) as session:
                await op(session)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return Figures(name, writers, len(latencies), time.perf_counter() - started, latencies)


async def measure(database_url: str, seconds: float) -> None:
    keyring = KeyRing({"bench": generate_key()}, "bench")
    engine = create_engine(database_url, pool_size=10)
    sessions = create_sessionmaker(engine)
    async with engine.begin() as conn:
        settings = {name: await conn.scalar(text(f"SHOW {name}")) for name in ("fsync", "synchronous_commit")}
        await conn.execute(text(f"DROP TABLE IF EXISTS {PLAIN_TABLE}"))
        # Same columns, keys and indexes as audit.audit_records; no chain, no encryption, no lock.
        await conn.execute(text(f"CREATE TABLE {PLAIN_TABLE} (LIKE audit.audit_records INCLUDING ALL)"))
    print(f"PostgreSQL fsync={settings['fsync']} synchronous_commit={settings['synchronous_commit']}")

    # A plain INSERT of a row shaped like a sealed audit record (values prepared once).
    async with unit_of_work(sessions) as session:
        await append_audit_record(session, keyring, audit_entry())
    async with engine.connect() as conn:
        template = dict((await conn.execute(text("SELECT * FROM audit.audit_records"))).mappings().one())
    plain_sequence = itertools.count(1)
    columns = ", ".join(template)
    values = ", ".join(f":{column}" for column in template)
    plain_insert = text(f"INSERT INTO {PLAIN_TABLE} ({columns}) VALUES ({values})")

    async def plain(session: AsyncSession) -> None:
        row = {**template, "sequence": next(plain_sequence), "record_id": uuid.uuid4()}
        await session.execute(plain_insert, row)

    async def audited(session: AsyncSession) -> None:
        await append_audit_record(session, keyring, audit_entry())

    results: list[Figures] = []
    for name, op in (("plain INSERT", plain), ("audit append", audited)):
        for writers in (1, 8):
            await run(sessions, name, op, writers, min(0.5, seconds))  # warm-up
            figures = await run(sessions, name, op, writers, seconds)
            results.append(figures)
            print(
                f"{name:13} {writers} writer(s): {figures.per_second:8.0f} tx/s   "
                f"p50 {figures.percentile_ms(50):6.2f} ms   p99 {figures.percentile_ms(99):6.2f} ms"
            )
    by = {(f.name, f.writers): f.per_second for f in results}
    print(f"audit/plain, 1 writer:   {by['audit append', 1] / by['plain INSERT', 1]:.2f}")
    print(f"audit/plain, 8 writers:  {by['audit append', 8] / by['plain INSERT', 8]:.2f}")
    print(f"audit 8 writers/1 writer: {by['audit append', 8] / by['audit append', 1]:.2f}")
    print(f"plain 8 writers/1 writer: {by['plain INSERT', 8] / by['plain INSERT', 1]:.2f}")

    for size in BATCH_SIZES:
        entries = [audit_entry() for _ in range(size)]

        async def one_by_one(session: AsyncSession, entries: list[AuditEntry] = entries) -> None:
            for entry in entries:
                await append_audit_record(session, keyring, entry)

        async def batched(session: AsyncSession, entries: list[AuditEntry] = entries) -> None:
            await append_audit_records(session, keyring, entries)

        rates = {}
        for name, op in ((f"{size} singly", one_by_one), (f"{size} batched", batched)):
            await run(sessions, name, op, 2, min(0.5, seconds))  # warm-up
            started_cpu = time.process_time()
            figures = await run(sessions, name, op, 2, seconds)
            cpu_us = (time.process_time() - started_cpu) / (figures.operations * size) * 1e6
            rates[name] = figures.per_second * size
            print(
                f"{name:13} 2 writers: {rates[name]:8.0f} records/s ({figures.per_second:5.0f} tx/s)   "
                f"p50 {figures.percentile_ms(50):6.2f} ms   p99 {figures.percentile_ms(99):6.2f} ms   "
                f"{cpu_us:5.0f} us CPU per record (this process)"
            )
        print(f"batched/singly, {size} per transaction: {rates[f'{size} batched'] / rates[f'{size} singly']:.2f}")

    async with unit_of_work(sessions) as session:
        started = time.perf_counter()
        report = await verify_chain(session, keyring)
        elapsed = time.perf_counter() - started
    assert report.problem is None, report.problem
    print(
        f"verify_chain: {report.records_checked} records in {elapsed:.2f} s "
        f"({report.records_checked / elapsed:.0f} records/s), intact"
    )
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE {PLAIN_TABLE}"))
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per workload")
    parser.add_argument("--database-url", help="a migrated, disposable database (default: embedded)")
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(measure(args.database_url, args.seconds))
        return
    with tempfile.TemporaryDirectory(prefix="obank-bench-") as scratch:
        pgdata = Path(scratch) / "pgdata"
        url = ensure_embedded_database(pgdata, database="bench")
        try:
            upgrade_to_head(url)
            asyncio.run(measure(url, args.seconds))
        finally:
            stop_embedded_database(pgdata)


if __name__ == "__main__":
    main()
