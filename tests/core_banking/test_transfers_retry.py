"""A unit of work aborted by a serialization failure, deadlock or dropped connection runs again whole; not others."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from obank.runtime import Platform
from obank.unit_of_work import UnitOfWork, UnitsOfWork
from tests.core_banking.helpers import STAFF, count

MARK = "CREATE TABLE IF NOT EXISTS public.attempts (n int)"


def raise_sqlstate(sqlstate: str) -> str:
    # A genuine error from the server carrying the SQLSTATE, as a concurrent transaction would cause it.
    return f"DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{sqlstate}'; END $$"


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
async def test_transient_aborts_are_retried_from_scratch(platform: Platform, units: UnitsOfWork, sqlstate: str) -> None:
    async with platform.engine.begin() as connection:
        await connection.execute(text(MARK))
    attempts = 0

    async def work(uow: UnitOfWork) -> str:
        nonlocal attempts
        attempts += 1
        await uow.session.execute(text("INSERT INTO public.attempts VALUES (:n)"), {"n": attempts})
        uow.publish(topic="test", event_type="attempted", key="k", payload={"n": attempts})
        if attempts < 3:
            await uow.session.execute(text(raise_sqlstate(sqlstate)))
        return "done"

    assert await units.retry(STAFF, work) == "done"
    assert attempts == 3
    async with platform.engine.connect() as connection:
        # Only the attempt that committed left its row and its event.
        assert await count(connection, "SELECT count(*) FROM public.attempts") == 1
        assert await count(connection, "SELECT min(n) FROM public.attempts") == 3
        assert await count(connection, "SELECT count(*) FROM platform.outbox_events WHERE topic = 'test'") == 1


async def test_other_errors_are_not_retried(units: UnitsOfWork) -> None:
    attempts = 0

    async def work(uow: UnitOfWork) -> None:
        nonlocal attempts
        attempts += 1
        await uow.session.execute(text(raise_sqlstate("23505")))

    with pytest.raises(DBAPIError):
        await units.retry(STAFF, work)
    assert attempts == 1


async def test_connections_the_server_dropped_are_replaced_and_the_work_retried(
    platform: Platform, units: UnitsOfWork
) -> None:
    async with platform.engine.connect() as connection:
        first_backend = await count(connection, "SELECT pg_backend_pid()")
    # The server goes away under the idle pooled connection (a restart, an idle timeout).
    with psycopg.connect(platform.database_url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (first_backend,))
    attempts = 0

    async def work(uow: UnitOfWork) -> int:
        nonlocal attempts
        attempts += 1
        return int(await uow.session.scalar(text("SELECT pg_backend_pid()")) or 0)

    backend = await units.retry(STAFF, work)

    assert backend != first_backend
    assert attempts == 2
