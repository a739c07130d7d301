"""The relay publishes committed events in order, once at a time, and survives dying mid-batch."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence

import pytest
from sqlalchemy import text

from obank.database import create_engine, create_sessionmaker, unit_of_work
from obank.outbox import ConsumerRegistry, Event, InProcessPublisher, OutboxRelay, PublishError, record_event
from obank.runtime import Platform
from tests.obank.outbox.scenario import (
    CountingPublisher,
    DiesMidBatch,
    applications,
    consumed_count,
    create_applications_table,
    record_events,
    recording_consumer,
    unpublished_count,
    wait_until,
)


class RecordingPublisher:
    """The outside world's edge: remembers what was published, optionally slowly or failing at one event."""

    def __init__(self, *, delay: float = 0.0, fail_at: Event | None = None) -> None:
        self.published: list[Event] = []
        self.delay = delay
        self.fail_at = fail_at
        self.in_flight = 0
        self.max_in_flight = 0

    async def publish(self, events: Sequence[Event]) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for index, event in enumerate(events):
                if event == self.fail_at:
                    raise PublishError(index, event)
                await asyncio.sleep(self.delay)
                self.published.append(event)
        finally:
            self.in_flight -= 1


async def test_only_committed_events_are_published(platform: Platform) -> None:
    async def failing_business_change() -> None:
        async with unit_of_work(platform.sessions) as session:
            await record_event(session, topic="payments", event_type="rolled.back", key="acc-1", payload={})
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        await failing_business_change()
    [committed] = await record_events(platform.sessions, "payments", ["acc-1"], per_key=1)
    publisher = RecordingPublisher()
    relay = OutboxRelay(platform.sessions, publisher)

    # An event whose transaction is still open is invisible to the relay until it commits.
    async with unit_of_work(platform.sessions) as open_session:
        in_flight = await record_event(open_session, topic="payments", event_type="late", key="acc-2", payload={})
        assert await relay.run_once() == 1
    assert await relay.run_once() == 1
    assert await relay.run_once() == 0

    assert [e.event_id for e in publisher.published] == [committed.event_id, in_flight.event_id]
    assert publisher.published[0] == committed
    async with platform.sessions() as session:
        types = await session.scalars(text("SELECT event_type FROM platform.outbox_events ORDER BY position"))
        assert list(types) == ["test.happened", "late"]
    assert await unpublished_count(platform.sessions) == 0


async def test_events_are_published_in_position_order_in_batches(platform: Platform) -> None:
    events = await record_events(platform.sessions, "payments", ["acc-1", "acc-2", "acc-3"], per_key=10)
    publisher = RecordingPublisher()
    relay = OutboxRelay(platform.sessions, publisher, batch_size=7)

    counts = [await relay.run_once() for _ in range(6)]

    assert counts == [7, 7, 7, 7, 2, 0]
    assert publisher.published == events


async def test_a_publish_failure_stops_the_batch_and_the_rest_waits_for_the_next_round(platform: Platform) -> None:
    events = await record_events(platform.sessions, "payments", ["acc-1", "acc-2"], per_key=5)
    publisher = RecordingPublisher(fail_at=events[4])
    relay = OutboxRelay(platform.sessions, publisher, batch_size=100)

    with pytest.raises(PublishError) as failure:
        await relay.run_once()
    assert failure.value.delivered == 4
    assert await unpublished_count(platform.sessions) == 6

    publisher.fail_at = None
    assert await relay.run_once() == 6
    assert publisher.published == events


async def test_a_relay_killed_mid_batch_republishes_and_the_consumer_applies_each_event_once(
    platform: Platform,
) -> None:
    await create_applications_table(platform.sessions)
    events = await record_events(platform.sessions, "payments", ["acc-1", "acc-2"], per_key=15)
    registry = ConsumerRegistry()
    registry.register(recording_consumer("ledger-projection", "payments"))
    dispatcher = CountingPublisher(InProcessPublisher(registry, platform.sessions))

    dying = DiesMidBatch(dispatcher, after=12)
    batch = asyncio.create_task(OutboxRelay(platform.sessions, dying, batch_size=20).run_once())
    await asyncio.wait_for(dying.reached.wait(), 10)
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch
    # Twelve events reached the consumer, yet none was marked published: all are due again.
    assert len(await applications(platform.sessions, "ledger-projection")) == 12
    assert await unpublished_count(platform.sessions) == 30

    restarted = OutboxRelay(platform.sessions, dispatcher, batch_size=20)
    assert await restarted.run_once() == 20
    assert await restarted.run_once() == 10

    assert dispatcher.delivered == 42  # 12 duplicates really were delivered
    applied = await applications(platform.sessions, "ledger-projection")
    assert [event_id for event_id, _, _ in applied] == [e.event_id for e in events]
    assert await consumed_count(platform.sessions, "ledger-projection") == 30


async def test_a_relay_process_sigkilled_mid_batch_is_recovered_by_the_next_relay(
    platform: Platform, database_url: str
) -> None:
    await create_applications_table(platform.sessions)
    events = await record_events(platform.sessions, "payments", ["acc-1", "acc-2"], per_key=10)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.obank.outbox.relay_process",
        "--database-url", database_url, "--topic", "payments", "--consumer", "statement-projection",
        "--crash-after", "8", "--batch-size", "15",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 15)
        assert line == b"delivered 8\n"
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    assert len(await applications(platform.sessions, "statement-projection")) == 8
    assert await unpublished_count(platform.sessions) == 20

    registry = ConsumerRegistry()
    registry.register(recording_consumer("statement-projection", "payments"))
    dispatcher = CountingPublisher(InProcessPublisher(registry, platform.sessions))
    relay = OutboxRelay(platform.sessions, dispatcher, batch_size=15)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run_forever(stop, poll_interval=0.05))
    # The dead process's transaction (and its advisory lock) ends once PostgreSQL sees the socket close.
    await wait_until(lambda: _none_unpublished(platform), 10, "the restarted relay to publish everything")
    stop.set()
    await running

    assert dispatcher.delivered == 20  # 8 of which the consumer had already applied
    applied = await applications(platform.sessions, "statement-projection")
    assert [event_id for event_id, _, _ in applied] == [e.event_id for e in events]


async def _none_unpublished(platform: Platform) -> bool:
    return await unpublished_count(platform.sessions) == 0


async def test_a_second_relay_publishes_nothing_while_the_first_holds_the_lock(
    platform: Platform, database_url: str
) -> None:
    await record_events(platform.sessions, "payments", ["acc-1"], per_key=5)
    gate = asyncio.Event()

    class Blocking(RecordingPublisher):
        async def publish(self, events: Sequence[Event]) -> None:
            await gate.wait()
            await super().publish(events)

    other_engine = create_engine(database_url, pool_size=2)
    try:
        first, second = Blocking(), RecordingPublisher()
        holding = asyncio.create_task(OutboxRelay(platform.sessions, first).run_once())
        await wait_until(lambda: _lock_held(platform), 5, "the first relay to take the lock")
        # It neither publishes nor queues behind the first relay's row locks.
        assert await asyncio.wait_for(OutboxRelay(create_sessionmaker(other_engine), second).run_once(), 5) == 0
        gate.set()
        assert await holding == 5
        assert second.published == []
    finally:
        await other_engine.dispose()


async def _lock_held(platform: Platform) -> bool:
    async with platform.sessions() as session:
        held = await session.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"))
        return bool(held)


async def test_concurrent_relays_publish_every_event_once_in_order(platform: Platform, database_url: str) -> None:
    engines = [create_engine(database_url, pool_size=2) for _ in range(3)]
    publisher = RecordingPublisher(delay=0.001)  # shared: it sees every publish of every relay
    relays = [OutboxRelay(create_sessionmaker(engine), publisher, batch_size=16) for engine in engines]
    stop = asyncio.Event()
    try:
        running = [asyncio.create_task(relay.run_forever(stop, poll_interval=0.01)) for relay in relays]
        recorded: list[Event] = []
        for _ in range(12):  # producers keep committing while the relays compete
            recorded += await record_events(platform.sessions, "payments", ["acc-1", "acc-2", "acc-3"], per_key=5)
            await asyncio.sleep(0.01)
        await wait_until(lambda: _all_published(publisher, len(recorded)), 15, "every event to be published")
        stop.set()
        await asyncio.gather(*running)
    finally:
        for engine in engines:
            await engine.dispose()

    assert publisher.max_in_flight == 1
    assert publisher.published == recorded


async def _all_published(publisher: RecordingPublisher, count: int) -> bool:
    return len(publisher.published) >= count
