"""Consumers apply each event at most once, even when deliveries race."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from obank.correlation import bind_correlation_id, current_correlation_id
from obank.outbox import Consumer, ConsumerRegistry, Event, apply_once, default_registry
from obank.outbox.consumers import DuplicateConsumerError
from obank.runtime import Platform
from tests.obank.outbox.scenario import (
    applications,
    consumed_count,
    create_applications_table,
    record_events,
    recording_consumer,
)


async def _noop(session: AsyncSession, event: Event) -> None:
    return None


def test_registry_finds_consumers_by_topic_and_refuses_a_second_consumer_of_the_same_name() -> None:
    registry = ConsumerRegistry()
    payments = registry.register(Consumer("fraud.score", ("payments", "transfers"), _noop))

    @registry.subscribe("notifications.webhooks", "payments")
    async def notify(session: AsyncSession, event: Event) -> None:
        return None

    assert [c.name for c in registry.subscribed_to("payments")] == ["fraud.score", "notifications.webhooks"]
    assert registry.subscribed_to("transfers") == [payments]
    assert registry.subscribed_to("consents") == []
    assert registry.topics() == {"payments", "transfers"}
    with pytest.raises(DuplicateConsumerError):
        registry.register(Consumer("fraud.score", ("consents",), _noop))
    with pytest.raises(ValueError, match="no topic"):
        registry.register(Consumer("idle", (), _noop))


def test_default_registry_starts_empty() -> None:
    assert len(default_registry()) == 0


async def test_concurrent_duplicate_deliveries_apply_once(platform: Platform) -> None:
    await create_applications_table(platform.sessions)
    [event] = await record_events(platform.sessions, "payments", ["acc-1"], per_key=1)
    # The handler lingers inside its transaction so every delivery reaches the ledger insert before
    # the first one commits: the primary key, not luck, must serialise them.
    consumer = recording_consumer("racer", "payments", delay=0.2)

    results = await asyncio.gather(*(apply_once(platform.sessions, consumer, event) for _ in range(8)))

    assert sorted(results) == [False] * 7 + [True]
    assert await applications(platform.sessions, "racer") == [(event.event_id, "acc-1", 0)]
    assert await consumed_count(platform.sessions, "racer") == 1


async def test_a_failed_handler_leaves_the_event_unconsumed_so_redelivery_applies_it(platform: Platform) -> None:
    await create_applications_table(platform.sessions)
    [event] = await record_events(platform.sessions, "payments", ["acc-1"], per_key=1)
    recording = recording_consumer("flaky", "payments")
    attempts = 0

    async def fails_first(session: AsyncSession, event: Event) -> None:
        nonlocal attempts
        attempts += 1
        await recording.handler(session, event)
        if attempts == 1:
            raise RuntimeError("downstream unavailable")

    flaky = Consumer("flaky", ("payments",), fails_first)
    with pytest.raises(RuntimeError):
        await apply_once(platform.sessions, flaky, event)
    assert await consumed_count(platform.sessions, "flaky") == 0
    assert await applications(platform.sessions, "flaky") == []

    assert await apply_once(platform.sessions, flaky, event) is True
    assert await apply_once(platform.sessions, flaky, event) is False
    assert await applications(platform.sessions, "flaky") == [(event.event_id, "acc-1", 0)]


async def test_the_same_event_is_applied_once_per_consumer(platform: Platform) -> None:
    await create_applications_table(platform.sessions)
    [event] = await record_events(platform.sessions, "payments", ["acc-1"], per_key=1)
    first, second = recording_consumer("first", "payments"), recording_consumer("second", "payments")

    assert await apply_once(platform.sessions, first, event) is True
    assert await apply_once(platform.sessions, second, event) is True
    assert await apply_once(platform.sessions, first, event) is False


async def test_handlers_run_under_the_event_correlation_id_without_leaking_it(platform: Platform) -> None:
    [event] = await record_events(platform.sessions, "payments", ["acc-1"], per_key=1)
    bind_correlation_id("11111111-1111-4111-8111-111111111111")
    seen: list[str] = []

    async def remember(session: AsyncSession, event: Event) -> None:
        seen.append(current_correlation_id())

    await apply_once(platform.sessions, Consumer("audit-trail", ("payments",), remember), event)

    assert seen == [event.correlation_id]
    assert current_correlation_id() == "11111111-1111-4111-8111-111111111111"
