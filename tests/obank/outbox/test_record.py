"""record_events: many outbox rows in one INSERT, each as record_event would write it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from obank.correlation import bind_correlation_id
from obank.database import unit_of_work
from obank.outbox import record_event
from obank.outbox.record import NewEvent, record_events
from obank.runtime import Platform

COLUMNS = "topic, event_type, key, payload, correlation_id, published_at"


@pytest.fixture
def inserts(platform: Platform) -> Iterator[list[str]]:
    """Every INSERT sent to PostgreSQL through the platform's engine."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            seen.append(statement)

    event.listen(platform.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(platform.engine.sync_engine, "before_cursor_execute", record)


async def stored(platform: Platform, event_ids: list[Any]) -> list[Any]:
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(
            text(
                f"SELECT event_id, {COLUMNS}, occurred_at FROM platform.outbox_events"
                " WHERE event_id = ANY(:ids) ORDER BY position"
            ),
            {"ids": event_ids},
        )
        return list(rows.all())


def content(row: Any) -> tuple[Any, ...]:
    return (row.topic, row.event_type, row.key, row.payload, row.published_at)


PAYLOADS: list[dict[str, Any]] = [
    {"amount_minor": 12_500, "currency": "GBP", "nested": {"list": [1, "two", None]}},
    {"unicode": "Zürich €", "empty": {}},
    {},
]


async def test_record_events_writes_the_rows_record_event_writes_in_one_insert(
    platform: Platform, inserts: list[str]
) -> None:
    bind_correlation_id("request-single")
    async with unit_of_work(platform.sessions) as session:
        singles = [
            await record_event(session, topic="payments", event_type="payment.made", key=f"acc-{n}", payload=payload)
            for n, payload in enumerate(PAYLOADS)
        ]
    single_inserts = len(inserts)
    bind_correlation_id("request-batch")
    async with unit_of_work(platform.sessions) as session:
        batch = await record_events(
            session,
            [
                NewEvent(topic="payments", event_type="payment.made", key=f"acc-{n}", payload=payload)
                for n, payload in enumerate(PAYLOADS)
            ],
        )

    assert single_inserts == 3
    assert len(inserts) == 4  # the whole batch: one INSERT
    single_rows = await stored(platform, [e.event_id for e in singles])
    batch_rows = await stored(platform, [e.event_id for e in batch])
    assert [row[0] for row in batch_rows] == [e.event_id for e in batch]  # stored in the order given
    assert [row.correlation_id for row in single_rows] == ["request-single"] * 3
    assert [row.correlation_id for row in batch_rows] == ["request-batch"] * 3
    # Identical rows but for the event id, the correlation id and the time.
    assert [content(row) for row in batch_rows] == [content(row) for row in single_rows]
    assert [row.payload for row in batch_rows] == PAYLOADS
    assert [row.occurred_at for row in batch_rows] == [e.occurred_at for e in batch]


async def test_each_event_of_a_batch_keeps_its_own_correlation_id(platform: Platform) -> None:
    bind_correlation_id("the-worker")
    async with unit_of_work(platform.sessions) as session:
        batch = await record_events(
            session,
            [
                NewEvent(topic="t", event_type="e", key="k", payload={}, correlation_id="request-1"),
                NewEvent(topic="t", event_type="e", key="k", payload={}),
                NewEvent(topic="t", event_type="e", key="k", payload={}, correlation_id="request-3"),
            ],
        )

    assert [e.correlation_id for e in batch] == ["request-1", "the-worker", "request-3"]
    rows = await stored(platform, [e.event_id for e in batch])
    assert [row.correlation_id for row in rows] == ["request-1", "the-worker", "request-3"]


class CallerFailed(Exception):
    pass


async def test_a_rolled_back_batch_leaves_no_event(platform: Platform) -> None:
    recorded: list[Any] = []

    async def record_then_fail() -> None:
        async with unit_of_work(platform.sessions) as session:
            new = [NewEvent(topic="t", event_type="e", key=str(n), payload={}) for n in range(5)]
            recorded.extend(await record_events(session, new))
            raise CallerFailed

    with pytest.raises(CallerFailed):
        await record_then_fail()

    assert len(recorded) == 5
    assert await stored(platform, [e.event_id for e in recorded]) == []


async def test_an_empty_batch_writes_nothing(platform: Platform, inserts: list[str]) -> None:
    async with unit_of_work(platform.sessions) as session:
        assert await record_events(session, []) == []
    assert inserts == []


async def test_an_over_long_value_in_a_batch_is_refused_not_truncated(platform: Platform) -> None:
    async def record_long_topic() -> None:
        async with unit_of_work(platform.sessions) as session:
            new = [NewEvent(topic="t", event_type="e", key="k", payload={}) for _ in range(2)]
            await record_events(session, [*new, NewEvent(topic="t" * 121, event_type="e", key="k", payload={})])

    with pytest.raises(DBAPIError, match="too long"):
        await record_long_topic()
