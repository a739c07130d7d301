"""The dispatcher publishes each due message to the bank's topic exactly once, however many run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from faster_payments import repository
from faster_payments.dispatcher import dispatch_due, run_dispatcher
from faster_payments.messages import PACS_002, decode
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.faster_payments.conftest import bank_event, bank_payment, deliver, outbox_to_bank, scheduled


async def _schedule(platform: Platform, count: int, *, due_in: timedelta = timedelta(0)) -> None:
    now = datetime.now(UTC)
    async with unit_of_work(platform.sessions) as session:
        await repository.schedule_messages(
            session,
            [
                {
                    "deliver_at": now + due_in,
                    "definition": PACS_002,
                    "xml": f"<x n='{n}'/>",
                    "key": f"TX{n}",
                    "correlation_id": f"c{n}",
                }
                for n in range(count)
            ],
        )


async def test_due_answers_are_published_once_with_their_definition_key_and_xml(scheme: Platform) -> None:
    payment = bank_payment()
    sent_by_bank = bank_event(payment)
    await deliver(scheme, sent_by_bank)
    (row,) = await scheduled(scheme.sessions, payment.transaction_id)

    assert await dispatch_due(scheme.sessions) == 1
    assert await dispatch_due(scheme.sessions) == 0

    (event,) = await outbox_to_bank(scheme.sessions)
    assert (event.event_type, event.key, event.payload) == (PACS_002, payment.transaction_id, {"xml": row.xml})
    assert event.correlation_id == sent_by_bank.correlation_id  # one trace across both parties
    assert decode(event.event_type, event.payload["xml"]).original_transaction_id == payment.transaction_id  # type: ignore[union-attr]
    (sent,) = await scheduled(scheme.sessions, payment.transaction_id)
    assert sent.sent_at is not None


async def test_messages_not_yet_due_wait(platform: Platform) -> None:
    await _schedule(platform, 3, due_in=timedelta(seconds=30))
    assert await dispatch_due(platform.sessions) == 0
    assert await dispatch_due(platform.sessions, now=datetime.now(UTC) + timedelta(seconds=31)) == 3
    assert len(await outbox_to_bank(platform.sessions)) == 3


async def test_concurrent_dispatchers_publish_each_message_exactly_once(platform: Platform) -> None:
    await _schedule(platform, 300)

    async def drain() -> int:
        published = 0
        while sent := await dispatch_due(platform.sessions, batch_size=7):
            published += sent
            await asyncio.sleep(0)
        return published

    counts = await asyncio.gather(*(drain() for _ in range(4)))

    assert sum(counts) == 300
    assert sum(1 for count in counts if count) > 1, "the dispatchers shared the work"
    events = await outbox_to_bank(platform.sessions)
    assert sorted((event.key, event.correlation_id) for event in events) == sorted(
        (f"TX{n}", f"c{n}") for n in range(300)
    )
    assert all(row.sent_at is not None for row in await scheduled(platform.sessions))


async def test_run_dispatcher_delivers_until_stopped(platform: Platform) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_dispatcher(platform, stop, interval_s=0.01))
    await _schedule(platform, 2)
    for _ in range(200):
        if len(await outbox_to_bank(platform.sessions)) == 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert len(await outbox_to_bank(platform.sessions)) == 2


async def test_run_dispatcher_survives_a_failing_round(platform: Platform) -> None:
    failing = True
    real_sessions = platform.sessions

    def sessions() -> object:
        if failing:
            raise ConnectionError("database away")
        return real_sessions()

    stop = asyncio.Event()
    task = asyncio.create_task(run_dispatcher(sessions, stop, interval_s=0.01))  # type: ignore[arg-type]
    await _schedule(platform, 1)
    await asyncio.sleep(0.05)
    assert not task.done()
    failing = False
    for _ in range(200):
        if await outbox_to_bank(platform.sessions):
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert len(await outbox_to_bank(platform.sessions)) == 1
