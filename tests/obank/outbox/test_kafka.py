"""Through a real Kafka-protocol broker (Tansu): keyed order, at-least-once relay, deduplicating groups."""

# Tansu's memory engine cannot initialise an idempotent producer (aiokafka sends InitProducerId v0,
# which that engine leaves unimplemented), so these tests publish with `enable_idempotence=False`;
# production keeps the default (`OBANK_KAFKA_IDEMPOTENT_PRODUCER=true`).

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiokafka.partitioner import murmur2
from sqlalchemy.ext.asyncio import AsyncSession

from obank.outbox import Consumer, ConsumerRegistry, Event, OutboxRelay
from obank.outbox.kafka import (
    KafkaConsumerRunner,
    KafkaPublisher,
    UndecodableEventError,
    decode_event,
    encode_event,
    ensure_topics,
)
from obank.runtime import Platform
from tests.obank.outbox.scenario import (
    DiesMidBatch,
    applications,
    consumed_count,
    create_applications_table,
    message_count,
    read_topic,
    record_events,
    recording_consumer,
    topic_partitions,
    unpublished_count,
    wait_until,
)

PARTITIONS = 3


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def publisher(bootstrap: str, topic_prefix: str) -> KafkaPublisher:
    return KafkaPublisher(bootstrap, topic_prefix, partitions=PARTITIONS, enable_idempotence=False)


def keys_on_distinct_partitions(count: int) -> list[str]:
    """Aggregate ids that the default partitioner spreads over `count` different partitions."""
    chosen: dict[int, str] = {}
    index = 0
    while len(chosen) < count:
        key = f"acc-{index}"
        chosen.setdefault((murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS, key)
        index += 1
    return list(chosen.values())


@asynccontextmanager
async def consuming(
    bootstrap: str, topic_prefix: str, registry: ConsumerRegistry, platform: Platform
) -> AsyncIterator[KafkaConsumerRunner]:
    # A short session timeout only makes Tansu form the group faster; behaviour is the same.
    runner = KafkaConsumerRunner(
        bootstrap, topic_prefix, registry, platform.sessions,
        partitions=PARTITIONS, session_timeout_ms=2_000, heartbeat_interval_ms=300,
        poll_timeout_ms=100, retry_delay_s=0.1,
    )  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield runner
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def drain(relay: OutboxRelay, platform: Platform) -> None:
    async def done() -> bool:
        await relay.run_once()
        return await unpublished_count(platform.sessions) == 0

    await wait_until(done, 10, "the relay to publish every event")


def test_event_round_trips_through_the_record_format_and_foreign_records_are_refused() -> None:
    event = Event(
        event_id=uuid.uuid4(), topic="payments", event_type="payment.settled", key="acc-9",
        payload={"amount_minor": 1250, "currency": "GBP"}, correlation_id=str(uuid.uuid4()),
        occurred_at=datetime(2026, 11, 22, 10, 30, tzinfo=UTC),
    )  # fmt: skip
    key, value, headers = encode_event(event)

    assert key == b"acc-9"
    assert decode_event(value) == event
    assert dict(headers) == {
        "event-id": str(event.event_id).encode(),
        "event-type": b"payment.settled",
        "correlation-id": event.correlation_id.encode(),
    }
    for foreign in (None, b"not json", b'{"event_id": "x"}', b"[1, 2]"):
        with pytest.raises(UndecodableEventError):
            decode_event(foreign)


async def test_topics_are_created_with_the_configured_partitions_and_creation_is_idempotent(
    kafka_bootstrap: str,
) -> None:
    topic = unique("ensure.")
    await ensure_topics(kafka_bootstrap, [topic], partitions=PARTITIONS, replication_factor=1)
    await ensure_topics(kafka_bootstrap, [topic], partitions=PARTITIONS, replication_factor=1)

    assert await topic_partitions(kafka_bootstrap, topic) == {0, 1, 2}


async def test_order_per_key_holds_through_kafka(platform: Platform, kafka_bootstrap: str) -> None:
    await create_applications_table(platform.sessions)
    prefix, name = unique("order.") + ".", unique("orders-")
    keys = keys_on_distinct_partitions(2)
    events = await record_events(platform.sessions, "payments", keys, per_key=100)
    registry = ConsumerRegistry()
    registry.register(recording_consumer(name, "payments"))

    async with publisher(kafka_bootstrap, prefix) as kafka, consuming(kafka_bootstrap, prefix, registry, platform):
        await drain(OutboxRelay(platform.sessions, kafka, batch_size=30), platform)
        await wait_until(lambda: _consumed(platform, name, 200), 15, "every event to be applied")

    held = await read_topic(kafka_bootstrap, f"{prefix}payments")
    assert sorted(len(partition) for partition in held.values()) == [0, 100, 100]  # a partition per key
    for partition in (held_events for held_events in held.values() if held_events):
        key = partition[0].key
        assert [(e.key, e.payload["seq"]) for e in partition] == [(key, seq) for seq in range(100)]
    applied = await applications(platform.sessions, name)
    for key in keys:
        assert [seq for _, k, seq in applied if k == key] == list(range(100))
    assert {event_id for event_id, _, _ in applied} == {e.event_id for e in events}


async def _consumed(platform: Platform, consumer: str, count: int) -> bool:
    return await consumed_count(platform.sessions, consumer) >= count


async def test_a_relay_killed_mid_batch_republishes_through_kafka_and_the_group_applies_once(
    platform: Platform, kafka_bootstrap: str
) -> None:
    await create_applications_table(platform.sessions)
    prefix, name = unique("crash.") + ".", unique("projection-")
    events = await record_events(platform.sessions, "payments", keys_on_distinct_partitions(3), per_key=10)

    async with publisher(kafka_bootstrap, prefix) as kafka:
        dying = DiesMidBatch(kafka, after=12)
        batch = asyncio.create_task(OutboxRelay(platform.sessions, dying, batch_size=25).run_once())
        await asyncio.wait_for(dying.reached.wait(), 10)
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch
    assert await message_count(kafka_bootstrap, f"{prefix}payments") == 12
    assert await unpublished_count(platform.sessions) == 30

    await _restart_and_check_exactly_once(platform, kafka_bootstrap, prefix, name, events, duplicates=12)


async def test_a_relay_process_sigkilled_mid_batch_is_recovered_through_kafka(
    platform: Platform, kafka_bootstrap: str, database_url: str
) -> None:
    await create_applications_table(platform.sessions)
    prefix, name = unique("sigkill.") + ".", unique("projection-")
    events = await record_events(platform.sessions, "payments", keys_on_distinct_partitions(2), per_key=10)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.obank.outbox.relay_process",
        "--database-url", database_url, "--topic", "payments", "--crash-after", "9", "--batch-size", "15",
        "--kafka", kafka_bootstrap, "--topic-prefix", prefix,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 15) == b"delivered 9\n"
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    assert await message_count(kafka_bootstrap, f"{prefix}payments") == 9
    assert await unpublished_count(platform.sessions) == 20

    await _restart_and_check_exactly_once(platform, kafka_bootstrap, prefix, name, events, duplicates=9)


async def _restart_and_check_exactly_once(
    platform: Platform, bootstrap: str, prefix: str, name: str, events: list[Event], *, duplicates: int
) -> None:
    registry = ConsumerRegistry()
    registry.register(recording_consumer(name, "payments"))
    total = len(events) + duplicates
    async with (
        publisher(bootstrap, prefix) as kafka,
        consuming(bootstrap, prefix, registry, platform) as runner,
    ):
        await drain(OutboxRelay(platform.sessions, kafka, batch_size=25), platform)
        stats = runner.stats[name]

        async def every_delivery_handled() -> bool:
            return stats.delivered >= total

        await wait_until(every_delivery_handled, 15, "every delivery to be handled")

    assert await message_count(bootstrap, f"{prefix}payments") == total
    assert (stats.delivered, stats.applied, stats.duplicates) == (total, len(events), duplicates)
    applied = await applications(platform.sessions, name)
    assert sorted(str(event_id) for event_id, _, _ in applied) == sorted(str(e.event_id) for e in events)
    assert await consumed_count(platform.sessions, name) == len(events)


async def test_a_failing_handler_is_retried_without_letting_later_events_of_its_key_overtake(
    platform: Platform, kafka_bootstrap: str
) -> None:
    await create_applications_table(platform.sessions)
    prefix, name = unique("retry.") + ".", unique("settlement-")
    [key] = keys_on_distinct_partitions(1)
    events = await record_events(platform.sessions, "payments", [key], per_key=6)
    recording = recording_consumer(name, "payments")
    failures = 0

    async def fails_twice_on_the_third(session: AsyncSession, event: Event) -> None:
        nonlocal failures
        if event.payload["seq"] == 2 and failures < 2:
            failures += 1
            raise RuntimeError("core banking is briefly unavailable")
        await recording.handler(session, event)

    registry = ConsumerRegistry()
    registry.register(Consumer(name, ("payments",), fails_twice_on_the_third))
    async with publisher(kafka_bootstrap, prefix) as kafka, consuming(kafka_bootstrap, prefix, registry, platform):
        await drain(OutboxRelay(platform.sessions, kafka), platform)
        await wait_until(lambda: _consumed(platform, name, 6), 15, "every event to be applied")

    assert failures == 2
    assert [seq for _, _, seq in await applications(platform.sessions, name)] == list(range(6))
    assert {event_id for event_id, _, _ in await applications(platform.sessions, name)} == {e.event_id for e in events}
