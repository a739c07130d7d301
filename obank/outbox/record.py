"""Record an event in the caller's transaction; it is published only if that transaction commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from psycopg.types.json import Jsonb
from sqlalchemy import String, Table, bindparam, func, insert, select, text
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from obank.correlation import current_correlation_id
from obank.database import DriverStatement
from obank.outbox.models import OutboxEvent
from obank.telemetry import current_traceparent

_OUTBOX = cast(Table, OutboxEvent.__table__)
_FIELDS = ("event_id", "topic", "event_type", "key", "payload", "correlation_id", "occurred_at", "traceparent")
# One event (most transactions' case): plain SQL on psycopg's connection (`DriverStatement`).
_VALUES = ", ".join(f"CAST(:{name} AS jsonb)" if name == "payload" else f":{name}" for name in _FIELDS)
_INSERT_EVENT = DriverStatement(
    text(f"INSERT INTO {_OUTBOX.fullname} ({', '.join(_FIELDS)}) VALUES ({_VALUES})")  # noqa: S608 (model's names)
)
# Many events: one array per column, unnested into rows, so one statement text serves every batch size
# (a multi-row VALUES list is compiled anew for each size). Strings as unbounded text: a cast to
# varchar(n) would silently truncate, where the insert refuses.
_ARRAYS = {
    name: ARRAY(String() if isinstance(_OUTBOX.c[name].type, String) else _OUTBOX.c[name].type) for name in _FIELDS
}
_UNNESTED = (
    func.unnest(*(sql_cast(bindparam(name, type_=array), array) for name, array in _ARRAYS.items()))
    .table_valued(*_FIELDS, with_ordinality="ordinality")
    .render_derived()
)
# In the order given: positions order the events of one key for their consumers.
_INSERT_EVENTS = insert(_OUTBOX).from_select(
    _FIELDS, select(*(_UNNESTED.c[name] for name in _FIELDS)).order_by(_UNNESTED.c.ordinality)
)


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
    traceparent = current_traceparent()
    events = [
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
    # Core inserts rather than ORM adds and a flush: no unit-of-work bookkeeping on every request.
    if len(events) == 1:
        values = {name: getattr(events[0], name) for name in _FIELDS}
        await _INSERT_EVENT.rowcount(session, {**values, "payload": Jsonb(values["payload"])})
    else:
        await session.execute(_INSERT_EVENTS, {name: [getattr(event, name) for event in events] for name in _FIELDS})
    return events
