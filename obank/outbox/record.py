"""Record an event in the caller's transaction; it is published only if that transaction commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from psycopg.types.json import Jsonb
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from obank.correlation import current_correlation_id
from obank.database import Companion, DriverStatement, JsonRows
from obank.outbox.models import OutboxEvent
from obank.telemetry import current_traceparent

_OUTBOX = cast(Table, OutboxEvent.__table__)
_FIELDS = ("event_id", "topic", "event_type", "key", "payload", "correlation_id", "occurred_at", "traceparent")
# One event (most transactions' case): plain SQL on psycopg's connection (`DriverStatement`).
_VALUES = ", ".join(f"CAST(:{name} AS jsonb)" if name == "payload" else f":{name}" for name in _FIELDS)
_INSERT_EVENT = DriverStatement(
    text(f"INSERT INTO {_OUTBOX.fullname} ({', '.join(_FIELDS)}) VALUES ({_VALUES})")  # noqa: S608 (model's names)
)
# Many events: the batch as one JSON parameter expanded into rows (`JsonRows`), inserted in the order given:
# positions order the events of one key for their consumers.
# The same INSERT is a clause of another statement's WITH list when the events ride in its round trip
# (`events_companion`); its parameter is named to clash with none of that statement's own.
_EVENT_ROWS = JsonRows(_OUTBOX, _FIELDS, parameter="outbox_rows")
_INSERT_EVENTS = DriverStatement(text(_EVENT_ROWS.insert))
_COMPANION_CLAUSE = f"outbox_events AS ({_EVENT_ROWS.insert})"


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
    traceparent: str | None = None  # the recording transaction's trace context, when traced


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An event to record; without a correlation id it takes the current request's."""

    topic: str
    event_type: str
    key: str
    payload: dict[str, Any]
    correlation_id: str | None = None


async def record_event(
    session: AsyncSession, *, topic: str, event_type: str, key: str, payload: dict[str, Any]
) -> Event:
    """Add an event to the outbox inside the current transaction; `key` orders events (aggregate id)."""
    (event,) = await record_events(session, (NewEvent(topic=topic, event_type=event_type, key=key, payload=payload),))
    return event


async def record_events(session: AsyncSession, new_events: Sequence[NewEvent]) -> list[Event]:
    """Add events to the outbox inside the current transaction, in order, with one INSERT."""
    if not new_events:
        return []
    events = _events(new_events)
    # Core inserts rather than ORM adds and a flush: no unit-of-work bookkeeping on every request.
    if len(events) == 1:
        values = {name: getattr(events[0], name) for name in _FIELDS}
        await _INSERT_EVENT.rowcount(session, {**values, "payload": Jsonb(values["payload"])})
    else:
        await _INSERT_EVENTS.rowcount(session, _rows_parameter(events))
    return events


def events_companion(new_events: Sequence[NewEvent]) -> Companion:
    """The events' INSERT as a companion of another statement (one round trip fewer than `record_events`).

    The caller runs the companion in its transaction; the events are recorded, in order, when that statement runs.
    """
    return Companion(_COMPANION_CLAUSE, _rows_parameter(_events(new_events)))


def _events(new_events: Sequence[NewEvent]) -> list[Event]:
    traceparent = current_traceparent()
    return [
        Event(
            event_id=uuid.uuid4(),
            topic=new.topic,
            event_type=new.event_type,
            key=new.key,
            payload=new.payload,
            correlation_id=new.correlation_id or current_correlation_id(),
            traceparent=traceparent,
        )
        for new in new_events
    ]


def _rows_parameter(events: Sequence[Event]) -> dict[str, object]:
    return {"outbox_rows": _EVENT_ROWS.parameter({name: getattr(event, name) for name in _FIELDS} for event in events)}
