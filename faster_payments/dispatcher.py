"""Publishes the scheme's scheduled messages to the bank when they fall due, through the outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from faster_payments import repository
from obank.database import unit_of_work
from obank.log import get_logger
from obank.outbox.record import NewEvent, record_events
from obank.outbox.relay import sleep_unless_stopped
from obank.runtime import Platform
from obank.topics import FPS_TO_BANK_TOPIC

DISPATCH_BATCH = 100
_log = get_logger("faster_payments.dispatcher")


async def dispatch_due(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime | None = None, batch_size: int = DISPATCH_BATCH
) -> int:
    """Move one batch of due messages to the outbox, each exactly once; how many were moved.

    The rows are claimed with SKIP LOCKED, so dispatchers running at once share the work without waiting on
    each other, and a message's outbox event commits with its `sent_at`.
    """
    now = now or datetime.now(UTC)
    async with unit_of_work(sessions) as session:
        due = await repository.claim_due_messages(session, now, batch_size)
        if not due:
            return 0
        await record_events(
            session,
            [
                NewEvent(
                    topic=FPS_TO_BANK_TOPIC,
                    event_type=message.definition,
                    key=message.key,
                    payload={"xml": message.xml},
                    correlation_id=message.correlation_id,
                )
                for message in due
            ],
        )
        await repository.mark_sent(session, [message.id for message in due], now)
    return len(due)


async def run_dispatcher(
    source: Platform | async_sessionmaker[AsyncSession], stop: asyncio.Event, interval_s: float = 0.05
) -> None:
    """Dispatch until `stop` is set, draining full batches at once; a failed round is logged and tried again."""
    sessions = source.sessions if isinstance(source, Platform) else source
    while not stop.is_set():
        try:
            sent = await dispatch_due(sessions)
        except Exception:
            _log.exception("scheme_dispatch_failed")
            sent = 0
        if sent < DISPATCH_BATCH:
            await sleep_unless_stopped(stop, interval_s)
        else:
            await asyncio.sleep(0)  # let other tasks run between back-to-back batches
