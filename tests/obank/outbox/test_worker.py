"""`obank worker`: relay plus consumers, in-process or through Kafka, stopped by a signal."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import uuid

import pytest
from aiokafka.errors import KafkaConnectionError

from obank.outbox import ConsumerRegistry
from obank.outbox.worker import run_worker
from obank.runtime import Platform
from tests.obank.outbox.scenario import (
    applications,
    consumed_count,
    create_applications_table,
    record_events,
    recording_consumer,
    wait_until,
)
from tests.services import free_port


def with_settings(platform: Platform, **changes: object) -> Platform:
    return dataclasses.replace(platform, settings=platform.settings.model_copy(update=changes))


async def test_without_kafka_the_worker_dispatches_in_process_and_stops_on_sigterm(platform: Platform) -> None:
    await create_applications_table(platform.sessions)
    registry = ConsumerRegistry()
    registry.register(recording_consumer("notifications", "payments"))
    worker = asyncio.create_task(run_worker(with_settings(platform, outbox_poll_interval_s=0.05), registry))
    events = await record_events(platform.sessions, "payments", ["acc-1", "acc-2"], per_key=5)

    async def all_applied() -> bool:
        return await consumed_count(platform.sessions, "notifications") == 10

    await wait_until(all_applied, 10, "the worker to dispatch every event")
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(worker, 5)

    assert [event_id for event_id, _, _ in await applications(platform.sessions, "notifications")] == [
        e.event_id for e in events
    ]
    # The worker gave the signals back: SIGTERM would otherwise be swallowed after it returned.
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


async def test_with_kafka_the_worker_publishes_and_consumes_through_the_broker(
    platform: Platform, kafka_bootstrap: str
) -> None:
    await create_applications_table(platform.sessions)
    name = f"fraud-{uuid.uuid4().hex[:8]}"
    registry = ConsumerRegistry()
    registry.register(recording_consumer(name, "payments"))
    configured = with_settings(
        platform,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=f"worker.{uuid.uuid4().hex[:8]}.",
        kafka_idempotent_producer=False,  # Tansu's memory engine: see test_kafka.py
        outbox_poll_interval_s=0.05,
    )
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(configured, registry, stop=stop))
    events = await record_events(platform.sessions, "payments", ["acc-1", "acc-2"], per_key=5)

    async def all_applied() -> bool:
        return await consumed_count(platform.sessions, name) == 10

    await wait_until(all_applied, 15, "the worker to relay and consume every event")
    stop.set()
    await asyncio.wait_for(worker, 10)

    applied = await applications(platform.sessions, name)
    for key in ("acc-1", "acc-2"):
        assert [seq for _, k, seq in applied if k == key] == list(range(5))
    assert {event_id for event_id, _, _ in applied} == {e.event_id for e in events}


async def test_the_worker_fails_when_kafka_is_unreachable_and_releases_the_signals(platform: Platform) -> None:
    unreachable = with_settings(platform, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")

    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(run_worker(unreachable, ConsumerRegistry()), 10)

    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


async def test_a_committed_event_wakes_an_idle_relay_at_once_rather_than_at_its_next_poll(platform: Platform) -> None:
    await create_applications_table(platform.sessions)
    registry = ConsumerRegistry()
    registry.register(recording_consumer("wakeful", "payments"))
    # A poll every minute: only the outbox's notification can deliver the event within the test's wait.
    worker = asyncio.create_task(run_worker(with_settings(platform, outbox_poll_interval_s=60.0), registry))
    try:
        await asyncio.sleep(1.0)  # the first round has run and found nothing; the relay is idle
        await record_events(platform.sessions, "payments", ["acc-1"], per_key=1)

        async def applied() -> bool:
            return await consumed_count(platform.sessions, "wakeful") == 1

        await wait_until(applied, 5, "the notification to wake the relay")
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
