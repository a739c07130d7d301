"""Async SQLAlchemy engine and the one-transaction-per-unit-of-work session scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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
# beyond that, extra connections only queue inside PostgreSQL. Kept open: 20, as many as a busy process has
# requests in flight (an overflow connection is closed when it is returned, so a steady load above the kept
# ones would connect anew per request, a profiled 5 % of a balance read's CPU at 16 concurrent loops).
POOL_SIZE = 20
MAX_OVERFLOW = 10


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


def create_statement_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose statements each run on their own, outside any transaction (autocommit, on `engine`'s pool).

    For a read of one statement: one round trip where a transaction costs three (BEGIN, the statement,
    COMMIT), and the same answer, since a single statement sees one snapshot. Several statements that must
    agree belong in a transaction (`unit_of_work`). Never for writes: services' flushes expect a transaction.
    """
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False, autoflush=False
    )


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


class Reads:
    """A read-only route's database access: one statement on its own (`statement`) or several in a transaction."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], statements: async_sessionmaker[AsyncSession]
    ) -> None:
        self._sessions = sessions
        self._statements = statements

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[AsyncSession]:
        """A session for one statement, outside a transaction (`create_statement_sessionmaker`)."""
        async with self._statements() as session:
            yield session

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A read transaction: its statements see one snapshot."""
        return unit_of_work(self._sessions)


async def _request_reads(request: Request) -> Reads:  # async: FastAPI runs a plain def in a worker thread
    state = request.app.state
    statements: async_sessionmaker[AsyncSession] | None = getattr(state, "statement_sessions", None)
    if statements is None:  # an app that built none: derived once from its sessions' engine
        sessions: async_sessionmaker[AsyncSession] = state.sessions
        bind = sessions.kw["bind"]
        statements = state.statement_sessions = create_statement_sessionmaker(bind)
    return Reads(state.sessions, statements)


ReadsDep = Annotated[Reads, Depends(_request_reads)]


ATTEMPTS = 4
# SQLSTATE 40001 serialization_failure, 40P01 deadlock_detected: the transaction was rolled back
# whole and may simply run again (PostgreSQL manual, "Serialization Failure Handling").
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})


def is_transient(error: BaseException) -> bool:
    """Whether the transaction was aborted by a concurrent one, or lost with its (stale, now discarded) connection."""
    return isinstance(error, DBAPIError) and (
        getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES or error.connection_invalidated
    )
