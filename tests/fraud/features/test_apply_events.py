"""Each event is one statement; `apply_events` (batches) leaves exactly what `apply_event` on each leaves."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy import event as sa_event

from fraud.features import repository
from fraud.features.models import CustomerProfile
from fraud.features.service import RECENT_AMOUNTS, apply_event, apply_events
from obank.database import unit_of_work
from obank.outbox.record import Event
from obank.runtime import Platform
from tests.fraud.factories import (
    creditor,
    event,
    facts,
    held,
    payee_added,
    rejected,
    security,
    settled,
    signed_in,
    submitted,
    transfer,
)

AT = datetime(2026, 6, 10, 13, 30, tzinfo=UTC)


@contextmanager
def statements(platform: Platform) -> Iterator[list[tuple[str, bool]]]:
    """The SQL statements the platform's engine sends meanwhile, each with whether it ran for many rows."""
    seen: list[tuple[str, bool]] = []

    def record(_conn: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any, many: bool) -> None:
        seen.append((statement, many))

    sa_event.listen(platform.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa_event.remove(platform.engine.sync_engine, "before_cursor_execute", record)


def story(customer: uuid.UUID, other: uuid.UUID) -> list[Event]:
    """Events of every kind, out of order, with repeats, new devices one after another, and some to skip."""
    payments = [
        facts(customer, 4_000 + 10 * n, AT - timedelta(hours=n), creditor_account=creditor(n % 3)) for n in range(8)
    ]
    broken = settled(facts(other, 100, AT))
    broken.payload["amount_minor"] = "100"
    return [
        security("identity.password_changed", customer, AT - timedelta(days=3)),
        *(settled(payment) for payment in reversed(payments)),
        held(payments[0]),
        submitted(payments[0]),
        *(submitted(payment) for payment in payments),
        rejected(payments[1]),
        transfer(customer, 20_000, AT, creditor(9), own=True),
        transfer(other, 3_000, AT, creditor(1), own=False),
        payee_added(customer, uuid.uuid4(), AT, AT + timedelta(days=1)),
        signed_in(customer, AT, session_id="s1", country="GB", device_hash="aa"),
        signed_in(customer, AT + timedelta(hours=1), session_id="s2", country="FR", device_hash="bb"),
        signed_in(customer, AT + timedelta(hours=2), session_id="s2", country="FR", device_hash="cc"),  # same session
        signed_in(customer, AT + timedelta(hours=3), session_id="s3", country="DE", device_hash="cc"),
        signed_in(None, AT, session_id="staff", country="GB", device_hash="dd"),
        security("mfa.enrolled", other, AT),
        security("identity.password_reset", customer, AT - timedelta(days=5)),
        event("core_banking.consents", "consent.created", "k", {}, AT),
        broken,
    ]


async def features(platform: Platform) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived feature table's rows, in key order."""
    tables = [cast(Table, model.__table__) for model in repository.DERIVED_TABLES]
    async with platform.sessions() as session:
        return {
            table.name: [
                tuple(row) for row in await session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in tables
        }


async def test_a_batch_leaves_the_features_that_events_one_by_one_leave(platform: Platform) -> None:
    events = story(uuid.uuid4(), uuid.uuid4())
    async with unit_of_work(platform.sessions) as session:
        for each in events:
            await apply_event(session, each)
    one_by_one = await features(platform)
    async with unit_of_work(platform.sessions) as session:
        await repository.empty_derived_features(session)
    async with unit_of_work(platform.sessions) as session:
        changed = await apply_events(session, events)
    assert changed == len(events) - 4  # not the rejection, the staff sign-in, the consent, the broken one
    assert await features(platform) == one_by_one
    sign_ins = one_by_one["sign_ins"]
    assert [(row[0], row[3], row[4]) for row in sign_ins] == [
        ("s1", "aa", False),
        ("s2", "bb", True),
        ("s3", "cc", True),
    ]


async def test_each_event_is_one_statement_and_a_batch_one_per_kind_of_write(platform: Platform) -> None:
    customer, other = uuid.uuid4(), uuid.uuid4()
    events = story(customer, other)
    async with unit_of_work(platform.sessions) as session:
        await session.connection()
        with statements(platform) as seen:
            for each in events:
                await apply_event(session, each)
    assert len(seen) == len(events) - 4 and not any(many for _, many in seen)
    async with unit_of_work(platform.sessions) as session:
        await repository.empty_derived_features(session)
    async with unit_of_work(platform.sessions) as session:
        await session.connection()
        with statements(platform) as seen:
            await apply_events(session, events)
    # attempts, settlements to a creditor, a creditor alone (own transfer), profiles alone, payees, sign-ins
    assert len(seen) == len(repository.FeatureWrite)
    assert all(statement.lstrip().upper().startswith(("INSERT", "WITH")) for statement, _ in seen)


async def test_the_habits_keep_the_latest_payments_whatever_the_order(platform: Platform) -> None:
    customer = uuid.uuid4()
    randomness = random.Random(11)
    # Ties in time (two amounts at one instant, one tie split by the cut) and more payments than are kept, arriving
    # in a random order.
    made = [(AT + timedelta(seconds=n // 2), 1_000 + randomness.randrange(500)) for n in range(RECENT_AMOUNTS + 21)]
    arrivals = [settled(facts(customer, amount, at)) for at, amount in made]
    randomness.shuffle(arrivals)
    halfway = len(arrivals) // 2
    async with unit_of_work(platform.sessions) as session:
        await apply_event(session, security("mfa.enrolled", customer, AT))  # an empty profile first
        for each in arrivals[:halfway]:
            await apply_event(session, each)
    async with unit_of_work(platform.sessions) as session:
        await apply_events(session, arrivals[halfway:])
    async with platform.sessions() as session:
        profile = await session.get(CustomerProfile, customer)
    expected = sorted(made, reverse=True)[:RECENT_AMOUNTS]
    assert profile is not None
    assert list(zip(profile.recent_created_at, profile.recent_amounts, strict=True)) == expected
    assert profile.settled_count == len(made)
    assert profile.hour_counts[14] == len(made) and sum(profile.hour_counts) == len(made)
    assert profile.totp_changed_at == AT and profile.password_changed_at is None
