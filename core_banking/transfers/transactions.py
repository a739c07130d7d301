"""A unit of work retried whole after a serialization failure, a deadlock or a dropped connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from obank.database import unit_of_work

T = TypeVar("T")
ATTEMPTS = 4
# SQLSTATE 40001 serialization_failure, 40P01 deadlock_detected: the transaction was rolled back
# whole and may simply run again (PostgreSQL manual, "Serialization Failure Handling").
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(error: BaseException) -> bool:
    """Whether the transaction was aborted by a concurrent one, or lost with its (stale, now discarded) connection."""
    return isinstance(error, DBAPIError) and (
        getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES or error.connection_invalidated
    )


async def retried_unit_of_work(
    sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Run `work` in one transaction (commit included), again from scratch after a transient abort.

    Safe because nothing of an aborted attempt survives it, its idempotency-key claim included; a
    connection lost during COMMIT may have committed, so `work` must be idempotent (a transfer's key
    then replays the first answer; the interest jobs never pay a day or month twice).
    """
    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(ATTEMPTS),
        wait=wait_random_exponential(multiplier=0.005, max=0.1),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            async with unit_of_work(sessions) as session:
                result = await work(session)
            return result
    raise AssertionError("unreachable: tenacity re-raises the last failure")
