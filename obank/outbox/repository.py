"""SQL of the outbox: the relay's batch and lock, and the consumers' applied-event ledger."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from obank.outbox.models import ConsumedEvent, OutboxEvent
from obank.outbox.record import Event

# Advisory lock id held by the publishing relay: the bytes of "obank.ob" read as a positive bigint.
RELAY_LOCK_ID = 0x6F62616E6B2E6F62


async def try_lock_relay(session: AsyncSession) -> bool:
    """Become the one publishing relay until this transaction ends; False if another relay is."""
    locked = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": RELAY_LOCK_ID})
    return bool(locked)


async def lock_unpublished(session: AsyncSession, limit: int) -> list[OutboxEvent]:
    """The oldest committed, unpublished events in `position` order, locked until this transaction ends."""
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.position)
        .limit(limit)
        .with_for_update()
    )
    return list(rows)


async def mark_published(session: AsyncSession, positions: Sequence[int]) -> None:
    if positions:
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.position.in_(positions)).values(published_at=func.now())
        )


async def mark_consumed(session: AsyncSession, consumer: str, event_id: uuid.UUID) -> bool:
    """Record that `consumer` applies `event_id`; False when it already did (or a racing delivery does)."""
    # The primary key makes a concurrent insert of the same pair wait for the first transaction's
    # outcome: after its commit ON CONFLICT skips, after its rollback this insert goes through.
    inserted = await session.scalar(
        insert(ConsumedEvent)
        .values(consumer=consumer, event_id=event_id)
        .on_conflict_do_nothing(index_elements=[ConsumedEvent.consumer, ConsumedEvent.event_id])
        .returning(ConsumedEvent.event_id)
    )
    return inserted is not None


def to_event(row: OutboxEvent) -> Event:
    return Event(
        event_id=row.event_id,
        topic=row.topic,
        event_type=row.event_type,
        key=row.key,
        payload=row.payload,
        correlation_id=row.correlation_id,
        occurred_at=row.occurred_at,
        traceparent=row.traceparent,
    )


_UNPUBLISHED_LAG = text(
    "SELECT count(*), coalesce(extract(epoch FROM clock_timestamp() - min(occurred_at)), 0)"
    " FROM platform.outbox_events WHERE published_at IS NULL"
)
# Among the newest `window` events (a range of the primary key), those on each consumer's topics that its ledger
# has not recorded: an index probe per event, whatever the size of the outbox.
_CONSUMER_LAG = text(
    "WITH recent AS ("
    "  SELECT event_id, topic FROM platform.outbox_events"
    "  WHERE position > (SELECT coalesce(max(position), 0) FROM platform.outbox_events) - :window"
    "), watched AS (SELECT * FROM unnest(CAST(:consumers AS text[]), CAST(:topics AS text[])) AS w(consumer, topic))"
    " SELECT w.consumer, count(r.event_id) FROM watched w JOIN recent r ON r.topic = w.topic"
    " WHERE NOT EXISTS (SELECT 1 FROM platform.consumed_events c"
    "   WHERE c.consumer = w.consumer AND c.event_id = r.event_id)"
    " GROUP BY w.consumer"
)


async def unpublished_lag(session: AsyncSession) -> tuple[int, float]:
    """How many committed events wait for the relay, and the oldest one's age in seconds (0 when none)."""
    row = (await session.execute(_UNPUBLISHED_LAG)).one()
    return int(row[0]), float(row[1])


async def consumer_lag(session: AsyncSession, watched: Sequence[tuple[str, str]], window: int) -> dict[str, int]:
    """For (consumer, topic) pairs: events among the newest `window` each consumer has not applied yet."""
    rows = await session.execute(
        _CONSUMER_LAG,
        {"window": window, "consumers": [name for name, _ in watched], "topics": [topic for _, topic in watched]},
    )
    return {str(name): int(count) for name, count in rows.all()}
