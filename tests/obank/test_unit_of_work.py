"""The unit of work writes what a service reported at commit, events with audit records, and nothing else."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from audit.writer import append_audit_records
from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing
from obank.database import Companion
from obank.runtime import Platform
from obank.unit_of_work import AuditEntry, UnitOfWork, UnitsOfWork, request_unit_of_work

ACTOR = Actor.system("test")


class Boom(Exception):
    pass


def report(uow: UnitOfWork, n: int) -> None:
    uow.publish(topic="test.things", event_type="thing.done", key=f"thing-{n}", payload={"n": n})
    uow.audit(action="thing.done", entity_type="thing", entity_id=f"thing-{n}", after={"n": n})


async def written(units: UnitsOfWork) -> tuple[list[str], list[tuple[str, str]]]:
    """Keys of the outbox events and (actor, entity) of the audit records, in the order written."""
    async with units.begin(ACTOR) as uow:
        events = await uow.session.execute(text("SELECT key FROM platform.outbox_events ORDER BY position"))
        records = await uow.session.execute(
            text("SELECT actor_id, entity_id FROM audit.audit_records ORDER BY occurred_at, sequence")
        )
        return [row[0] for row in events], [(row[0], row[1]) for row in records]


async def test_reports_are_written_at_commit_in_order(units: UnitsOfWork) -> None:
    async with units.begin(ACTOR) as uow:
        report(uow, 1)
        report(uow, 2)
        uow.audit(action="thing.seen", entity_type="thing", entity_id="thing-3", actor=Actor.client("tpp-1"))
        assert await written(units) == ([], [])  # nothing before the block ends
    assert await written(units) == (
        ["thing-1", "thing-2"],
        [("test", "thing-1"), ("test", "thing-2"), ("tpp-1", "thing-3")],
    )


async def test_events_ride_in_the_audit_records_statement(platform: Platform) -> None:
    handed: list[int] = []

    async def writer(
        session: AsyncSession, keyring: KeyRing, entries: Sequence[AuditEntry], companions: Sequence[Companion]
    ) -> object:
        count = await session.scalar(text("SELECT count(*) FROM platform.outbox_events"))
        assert count == 0, "the events are not written on their own before the audit records"
        handed.append(len(companions))
        return await append_audit_records(session, keyring, entries, companions)

    units = UnitsOfWork(platform.sessions, platform.keyring, writer)
    async with units.begin(ACTOR) as uow:
        report(uow, 1)
        report(uow, 2)
    assert handed == [1]
    assert await written(units) == (["thing-1", "thing-2"], [("test", "thing-1"), ("test", "thing-2")])


async def test_events_without_audit_records_are_written_alone(units: UnitsOfWork) -> None:
    async with units.begin(ACTOR) as uow:
        uow.publish(topic="test.things", event_type="thing.seen", key="thing-9", payload={"n": 9})
    events, records = await written(units)
    assert events == ["thing-9"]
    assert records == []


async def fail_in_unit(units: UnitsOfWork) -> None:
    async with units.begin(ACTOR) as uow:
        report(uow, 1)
        raise Boom


async def fail_in_savepoint(uow: UnitOfWork) -> None:
    async with uow.savepoint():
        report(uow, 2)
        raise Boom


async def fail_after_independent_unit(units: UnitsOfWork) -> None:
    async with units.begin(ACTOR) as uow:
        report(uow, 1)
        async with uow.independent(Actor.system("other")) as own:
            report(own, 2)
        raise Boom


async def test_a_failed_block_writes_nothing(units: UnitsOfWork) -> None:
    with pytest.raises(Boom):
        await fail_in_unit(units)
    assert await written(units) == ([], [])


async def test_a_rolled_back_savepoint_drops_its_reports_only(units: UnitsOfWork) -> None:
    async with units.begin(ACTOR) as uow:
        report(uow, 1)
        with pytest.raises(Boom):
            await fail_in_savepoint(uow)
        async with uow.savepoint():
            report(uow, 3)
    events, records = await written(units)
    assert events == ["thing-1", "thing-3"]
    assert [entity for _, entity in records] == ["thing-1", "thing-3"]


async def test_an_independent_unit_commits_whatever_becomes_of_the_outer_one(units: UnitsOfWork) -> None:
    with pytest.raises(Boom):
        await fail_after_independent_unit(units)
    assert await written(units) == (["thing-2"], [("other", "thing-2")])


async def caller() -> Actor:
    return Actor(ActorKind.CUSTOMER, "customer-7", "obank-web", "session-1")


RequestUnit = Annotated[UnitOfWork, Depends(request_unit_of_work(caller), scope="function")]


async def test_request_dependency_acts_as_the_resolved_actor(units: UnitsOfWork) -> None:
    app = FastAPI()
    app.state.units = units

    @app.post("/things/{n}")
    async def do_thing(n: int, uow: RequestUnit) -> dict[str, str]:
        report(uow, n)
        return {"actor": uow.actor.id}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post("/things/5")
    assert response.status_code == 200, response.text
    assert response.json() == {"actor": "customer-7"}
    assert await written(units) == (["thing-5"], [("customer-7", "thing-5")])


async def test_payloads_orjson_refuses_are_written_as_they_came(units: UnitsOfWork) -> None:
    # Integers beyond 64 bits and nesting beyond 254 levels: a TPP's SupplementaryData may hold either.
    nested: dict[str, object] = {"leaf": True}
    for _ in range(300):
        nested = {"in": nested}
    odd: dict[str, object] = {"n": 10**400, "nested": nested}
    async with units.begin(ACTOR) as uow:  # with an audit record: the events ride in its statement
        uow.publish(topic="test.things", event_type="thing.odd", key="odd-1", payload=odd)
        uow.audit(action="thing.odd", entity_type="thing", entity_id="odd-1")
    async with units.begin(ACTOR) as uow:  # several events alone: one multi-row insert
        uow.publish(topic="test.things", event_type="thing.odd", key="odd-2", payload=odd)
        uow.publish(topic="test.things", event_type="thing.odd", key="odd-3", payload=odd)
    async with units.begin(ACTOR) as uow:
        stored = await uow.session.execute(
            text("SELECT key, payload::text FROM platform.outbox_events WHERE key LIKE 'odd-%' ORDER BY position")
        )
        rows = [(key, json.loads(payload)) for key, payload in stored]
    expected = odd
    assert rows == [("odd-1", expected), ("odd-2", expected), ("odd-3", expected)]
