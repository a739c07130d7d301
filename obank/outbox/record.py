"""Record an event in the caller's transaction; it is published only if that transaction commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from obank.correlation import current_correlation_id
from obank.outbox.models import OutboxEvent

_INSERT_EVENT = insert(cast(Table, OutboxEvent.__table__))


@dataclass(frozen=True, slots=True)
class Event:
    """A domain event as consumers receive it, whatever the transport."""

    event_id: uuid.UUID
    topic: str
    event_type: str
    key: str
    payload: dict[str, Any]
    correlation_id: str
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


async def record_event(
    session: AsyncSession, *, topic: str, event_type: str, key: str, payload: dict[str, Any]
) -> Event:
    """Add an event to the outbox inside the current transaction; `key` orders events (aggregate id)."""
    event = Event(
        event_id=uuid.uuid4(),
        topic=topic,
        event_type=event_type,
        key=key,
        payload=payload,
        correlation_id=current_correlation_id(),
    )
    # A Core insert rather than an ORM add and flush: no unit-of-work bookkeeping on every request.
    await session.execute(
        _INSERT_EVENT,
        {
            "event_id": event.event_id,
            "topic": event.topic,
            "event_type": event.event_type,
            "key": event.key,
            "payload": event.payload,
            "correlation_id": event.correlation_id,
            "occurred_at": event.occurred_at,
        },
    )
    return event
