"""Async SQLAlchemy engine and the one-transaction-per-unit-of-work session scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import Enum as PythonEnum
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Enum, MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from obank.telemetry import instrument_engine

# Constraint names are stable across environments so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# One PostgreSQL schema per bounded context; a context never reads or writes another's.
CONTEXT_SCHEMAS = (
    "platform",
    "audit",
    "auth_server",
    "core_banking",
    "faster_payments",
    "fraud",
    "notifications",
    "open_banking",
    "web",
)


# Sized for two cores: enough connections to keep both busy while others wait on commits and row locks;
# beyond that, extra connections only queue inside PostgreSQL.
POOL_SIZE = 10
MAX_OVERFLOW = 20


def schema_metadata(schema: str) -> MetaData:
    """The metadata of one context's schema, with the shared naming convention."""
    if schema not in CONTEXT_SCHEMAS:
        raise ValueError(f"unknown context schema {schema!r}")
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def enum_type(enum: type[PythonEnum], name: str, *, length: int = 16) -> Enum:
    """An enum stored by value as `VARCHAR(length)` under a CHECK constraint named `name` (no database type)."""
    # The name is spelt out, not derived from the class: renaming a class must not rename a constraint.
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


def async_url(url: str) -> str:
    """Point a plain `postgresql://` URL at the psycopg 3 async driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("only PostgreSQL URLs are supported")


def create_engine(url: str, *, pool_size: int = POOL_SIZE, max_overflow: int = MAX_OVERFLOW) -> AsyncEngine:
    """An engine over psycopg 3 with pooled connections, recycled after half an hour (traced when tracing is on)."""
    # No pool_pre_ping (a round trip per checkout): a connection the server dropped fails its first
    # statement, which invalidates the pool, and retried units of work (`UnitsOfWork.retry`)
    # run again on a fresh connection.
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        pool_pre_ping=False,
        # Bound values stay out of errors' text: an error's `[parameters: ...]` would log a username, a
        # transfer's description or an id. Every engine of ours is created so (see also obank.log).
        hide_parameters=True,
    )
    return instrument_engine(engine)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit when the block succeeds, roll back on any error. Services only flush."""
    async with sessions() as session, session.begin():
        yield session


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with unit_of_work(sessions) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit (a deferred constraint, a
# serialization failure) is answered as an error instead of after a success has already gone out.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


ATTEMPTS = 4
# SQLSTATE 40001 serialization_failure, 40P01 deadlock_detected: the transaction was rolled back
# whole and may simply run again (PostgreSQL manual, "Serialization Failure Handling").
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(error: BaseException) -> bool:
    """Whether the transaction was aborted by a concurrent one, or lost with its (stale, now discarded) connection."""
    return isinstance(error, DBAPIError) and (
        getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES or error.connection_invalidated
    )
