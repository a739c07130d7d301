"""A unit of work aborted by a serialization failure, deadlock or dropped connection runs again whole; not others."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from obank.database import retry_serializable
from obank.runtime import Platform
from tests.core_banking.helpers import count

MARK = "CREATE TABLE IF NOT EXISTS public.attempts (n int)"


def raise_sqlstate(sqlstate: str) -> str:
    # A genuine error from the server carrying the SQLSTATE, as a concurrent transaction would cause it.
    return f"DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{sqlstate}'; END $$"


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
async def test_transient_aborts_are_retried_from_scratch(platform: Platform, sqlstate: str) -> None:
    async with platform.engine.begin() as connection:
        await connection.execute(text(MARK))
    attempts = 0

    async def work(session: AsyncSession) -> str:
        nonlocal attempts
        attempts += 1
        await session.execute(text("INSERT INTO public.attempts VALUES (:n)"), {"n": attempts})
        if attempts < 3:
            await session.execute(text(raise_sqlstate(sqlstate)))
        return "done"

    assert await retry_serializable(platform.sessions, work) == "done"
    assert attempts == 3
    async with platform.engine.connect() as connection:
        # Only the attempt that committed left its row.
        assert await count(connection, "SELECT count(*) FROM public.attempts") == 1
        assert await count(connection, "SELECT min(n) FROM public.attempts") == 3


async def test_other_errors_are_not_retried(platform: Platform) -> None:
    attempts = 0

    async def work(session: AsyncSession) -> None:
        nonlocal attempts
        attempts += 1
        await session.execute(text(raise_sqlstate("23505")))

    with pytest.raises(DBAPIError):
        await retry_serializable(platform.sessions, work)
    assert attempts == 1


async def test_connections_the_server_dropped_are_replaced_and_the_work_retried(platform: Platform) -> None:
    async with platform.engine.connect() as connection:
        first_backend = await count(connection, "SELECT pg_backend_pid()")
    # The server goes away under the idle pooled connection (a restart, an idle timeout).
    with psycopg.connect(platform.database_url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (first_backend,))
    attempts = 0

    async def work(session: AsyncSession) -> int:
        nonlocal attempts
        attempts += 1
        return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)

    backend = await retry_serializable(platform.sessions, work)

    assert backend != first_backend
    assert attempts == 2
