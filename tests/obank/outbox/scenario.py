"""Shared pieces of the outbox tests: a scratch table the consumer writes, publishers that die mid-batch."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from obank.database import unit_of_work
from obank.outbox import Consumer, Event, Publisher, record_event
from obank.outbox.kafka import decode_event

# Scratch table in the test's own database: one row per application of an event by a consumer.
APPLICATIONS_DDL = """
CREATE TABLE IF NOT EXISTS public.applications (
    n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    key text NOT NULL,
    seq integer NOT NULL
)
"""


async def create_applications_table(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        await session.execute(text(APPLICATIONS_DDL))


def recording_consumer(name: str, topic: str, *, delay: float = 0.0) -> Consumer:
    """A consumer whose every application adds a row to `applications` in the handler's transaction."""

    async def handle(session: AsyncSession, event: Event) -> None:
        await session.execute(
            text(
                "INSERT INTO public.applications (consumer, event_id, key, seq) "
                "VALUES (:consumer, :event_id, :key, :seq)"
            ),
            {"consumer": name, "event_id": event.event_id, "key": event.key, "seq": event.payload["seq"]},
        )
        if delay:
            await asyncio.sleep(delay)

    return Consumer(name=name, topics=(topic,), handler=handle)


async def applications(sessions: async_sessionmaker[AsyncSession], consumer: str) -> list[tuple[uuid.UUID, str, int]]:
    """(event_id, key, seq) of every application by `consumer`, in the order they committed rows."""
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT event_id, key, seq FROM public.applications WHERE consumer = :c ORDER BY n"),
            {"c": consumer},
        )
        return [(row.event_id, row.key, row.seq) for row in rows]


async def record_events(
    sessions: async_sessionmaker[AsyncSession], topic: str, keys: Sequence[str], per_key: int
) -> list[Event]:
    """Commit `per_key` events for each key, interleaved, each carrying its sequence number per key."""
    events: list[Event] = []
    async with unit_of_work(sessions) as session:
        for seq in range(per_key):
            for key in keys:
                events.append(
                    await record_event(session, topic=topic, event_type="test.happened", key=key, payload={"seq": seq})
                )
    return events


async def unpublished_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        count = await session.scalar(text("SELECT count(*) FROM platform.outbox_events WHERE published_at IS NULL"))
        return int(count or 0)


async def consumed_count(sessions: async_sessionmaker[AsyncSession], consumer: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM platform.consumed_events WHERE consumer = :c"), {"c": consumer}
        )
        return int(count or 0)


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


class CountingPublisher:
    """Counts the events a transport accepted (the deliveries consumers will see, duplicates included)."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.delivered = 0

    async def publish(self, events: Sequence[Event]) -> None:
        await self.inner.publish(events)
        self.delivered += len(events)


class DiesMidBatch:
    """A relay's transport that delivers the first `after` events of a batch, then hangs until killed."""

    def __init__(self, inner: Publisher, after: int) -> None:
        self.inner = inner
        self.after = after
        self.reached = asyncio.Event()

    async def publish(self, events: Sequence[Event]) -> None:
        assert len(events) > self.after, "the batch must be larger than the delivered part"
        await self.inner.publish(events[: self.after])
        self.reached.set()
        await asyncio.Event().wait()


async def topic_partitions(bootstrap: str, topic: str) -> set[int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        await consumer.topics()  # refreshes the metadata holding the partition list
        return set(consumer.partitions_for_topic(topic) or ())
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str, *, idle: float = 0.5) -> dict[int, list[Event]]:
    """Every event the broker holds on `topic`, per partition in offset order (read until idle)."""
    # Tansu reports a high watermark of the last batch's base offset + 1, so end offsets cannot
    # count messages; reading them back does.
    partitions = await topic_partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        held: dict[int, list[Event]] = {p: [] for p in partitions}
        while batches := await consumer.getmany(timeout_ms=int(idle * 1000)):
            for tp, records in batches.items():
                held[tp.partition] += [decode_event(record.value) for record in records]
        return held
    finally:
        await consumer.stop()


async def message_count(bootstrap: str, topic: str) -> int:
    return sum(len(events) for events in (await read_topic(bootstrap, topic)).values())
