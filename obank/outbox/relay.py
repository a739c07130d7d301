"""The outbox relay: publishes committed events in order, at least once, one relay at a time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from obank.database import unit_of_work
from obank.log import get_logger
from obank.outbox import repository
from obank.outbox.consumers import ConsumerRegistry, apply_once
from obank.outbox.record import Event

_log = get_logger("obank.outbox.relay")
# The outbox table NOTIFYs this channel when events are inserted (a statement trigger, delivered at commit),
# so an idle relay wakes at once rather than at its next poll.
OUTBOX_CHANNEL = "obank_outbox"


class PublishError(Exception):
    """Publication stopped at `event`; the `delivered` events before it reached the transport."""

    def __init__(self, delivered: int, event: Event) -> None:
        super().__init__(f"publishing event {event.event_id} ({event.event_type}) failed after {delivered}")
        self.delivered = delivered
        self.event = event


class Publisher(Protocol):
    """A transport for outbox events."""

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver `events` in order; on failure raise `PublishError` counting the delivered prefix."""
        ...


class OutboxRelay:
    """Moves committed outbox events to a publisher and marks them published."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], publisher: Publisher, batch_size: int = 100) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.sessions = sessions
        self.publisher = publisher
        self.batch_size = batch_size

    async def run_once(self) -> int:
        """Publish one batch; the count published (0 if another relay holds the lock or nothing waits)."""
        failure: PublishError | None = None
        async with unit_of_work(self.sessions) as session:
            # One publisher at a time across processes keeps each key's events in order (the
            # transaction-scoped lock also frees itself if this process dies mid-batch).
            if not await repository.try_lock_relay(session):
                return 0
            # Position order is each key's commit order provided writers lock the aggregate before recording.
            rows = await repository.lock_unpublished(session, self.batch_size)
            if not rows:
                return 0
            events = [repository.to_event(row) for row in rows]
            try:
                await self.publisher.publish(events)
                delivered = len(rows)
            except PublishError as exc:
                # Events after the failed one wait for the next round: none may overtake it.
                failure, delivered = exc, exc.delivered
            # A crash before this commit republishes the batch on restart; consumers deduplicate.
            await repository.mark_published(session, [row.position for row in rows[:delivered]])
        if failure is not None:
            raise failure
        return delivered

    async def run_forever(
        self, stop: asyncio.Event, poll_interval: float = 0.5, wakeup: asyncio.Event | None = None
    ) -> None:
        """Publish until `stop` is set, draining full batches at once; when idle or failing, wait for `wakeup`
        (set when events commit, see `OUTBOX_CHANNEL`) or `poll_interval`, whichever comes first."""
        while not stop.is_set():
            if wakeup is not None:
                wakeup.clear()  # before the round: an event committed during it wakes the next one
            try:
                published = await self.run_once()
            except Exception:
                _log.exception("outbox_publish_failed")
                published = 0
            if published < self.batch_size:
                await _wait_for_either(stop, wakeup, poll_interval)
            else:
                await asyncio.sleep(0)  # let other tasks run between back-to-back batches


async def _wait_for_either(stop: asyncio.Event, wakeup: asyncio.Event | None, seconds: float) -> None:
    """Wait `seconds`, returning early once `stop` or `wakeup` is set."""
    if wakeup is None:
        await sleep_unless_stopped(stop, seconds)
        return
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, returning early once `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class InProcessPublisher:
    """Dispatches events straight to this process's consumers (embedded mode, no broker)."""

    def __init__(self, registry: ConsumerRegistry, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.registry = registry
        self.sessions = sessions

    async def publish(self, events: Sequence[Event]) -> None:
        for index, event in enumerate(events):
            try:
                for consumer in self.registry.subscribed_to(event.topic):
                    await apply_once(self.sessions, consumer, event)
            except Exception as exc:
                # Consumers that already applied this event skip it when it is dispatched again.
                raise PublishError(index, event) from exc
