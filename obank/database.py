"""Async SQLAlchemy engine and the one-transaction-per-unit-of-work session scope."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum as PythonEnum
from types import SimpleNamespace
from typing import Annotated, Any

import orjson
import psycopg
from fastapi import Depends, Request
from psycopg.rows import dict_row
from sqlalchemy import ARRAY, Column, Enum, LargeBinary, MetaData, String, Table, TextClause, text
from sqlalchemy.dialects.postgresql.psycopg import PGDialectAsync_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

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
# The statement pool (`create_statement_engine`): a one-statement read holds its connection for one round trip,
# a fraction of the request, so 8 serve many more requests in flight. No overflow: a burst waits a moment for a
# connection rather than opening one per request and closing it again (connecting, then preparing its
# statements anew, cost the profiled balance read under 16 loops more than the read itself).
STATEMENT_POOL_SIZE = 8
STATEMENT_MAX_OVERFLOW = 0


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


def create_engine(
    url: str, *, pool_size: int = POOL_SIZE, max_overflow: int = MAX_OVERFLOW, autocommit: bool = False
) -> AsyncEngine:
    """An engine over psycopg 3 with pooled connections, recycled after half an hour (traced when tracing is on).

    `autocommit`: its connections are opened in autocommit mode and stay so (`create_statement_engine`).
    """
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
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )
    return instrument_engine(engine)


def create_statement_engine(url: str) -> AsyncEngine:
    """A pool of autocommit connections for statements that run on their own, outside any transaction.

    For a read of one statement: one round trip where a transaction costs three (BEGIN, the statement,
    COMMIT), and the same answer, since a single statement sees one snapshot. A pool of its own, its
    connections autocommit from the start: switching a transactional pool's connection to autocommit and back
    costs about 80 us of CPU per checkout here, and an `AsyncSession` around the connection about 90 us more
    (a one-statement read through a session of the main pool: 310 us; on this engine's connection: 180 us;
    psycopg alone: 65 us). Never for writes that must commit together: each statement commits on its own.
    """
    return create_engine(url, pool_size=STATEMENT_POOL_SIZE, max_overflow=STATEMENT_MAX_OVERFLOW, autocommit=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit when the block succeeds, roll back on any error. Services only flush.

    The transaction begins with the block's first use of the session (SQLAlchemy's autobegin: a statement,
    a flush, an object added), as the database's BEGIN always did. A block that never uses it costs only the
    session object: beginning, committing and closing an unused session cost about 70 us of CPU here, paid
    by every token request whose client is already cached.
    """
    session = sessions()
    used = False
    try:
        yield session
        used = session.in_transaction()
        if used:
            await session.commit()
    except BaseException:
        used = used or session.in_transaction()
        if session.in_transaction():
            await session.rollback()
        raise
    finally:
        if used:
            await session.close()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with unit_of_work(sessions) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit (a deferred constraint, a
# serialization failure) is answered as an error instead of after a success has already gone out.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


class Reads:
    """A read-only route's database access: one statement on its own (`statement`) or several in a transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], statements: AsyncEngine) -> None:
        self._sessions = sessions
        self._statements = statements

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement, outside a transaction (`create_statement_engine`): for a
        `DriverStatement`, which runs on a connection as on a session."""
        async with self._statements.connect() as connection:
            yield connection

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A read transaction: its statements see one snapshot."""
        return unit_of_work(self._sessions)


async def _request_reads(request: Request) -> Reads:  # async: FastAPI runs a plain def in a worker thread
    state = request.app.state
    return Reads(state.sessions, state.platform.statement_engine)


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


# session.info entry: (the session's transaction, its SQLAlchemy connection, the psycopg connection under it).
_DRIVER = "obank.driver_connection"
_DIALECT = PGDialectAsync_psycopg()  # type: ignore[no-untyped-call]


async def _driver_connection(
    target: AsyncSession | AsyncConnection,
) -> tuple[AsyncConnection, psycopg.AsyncConnection[Any]]:
    """The connection of a session's transaction (or `target` itself), and psycopg's under it.

    For a session, found once per transaction and kept in `session.info`.
    """
    if isinstance(target, AsyncConnection):
        driver = (await target.get_raw_connection()).driver_connection
        assert isinstance(driver, psycopg.AsyncConnection)
        return target, driver
    held = target.info.get(_DRIVER)
    if held is not None and held[0] is target.sync_session.get_transaction():
        return held[1], held[2]
    connection, driver = await _driver_connection(await target.connection())
    target.info[_DRIVER] = (target.sync_session.get_transaction(), connection, driver)
    return connection, driver


def _has_rows(cursor: psycopg.AsyncCursor[Any]) -> bool:
    """Whether the statement returned rows (`cursor.description` would build a `Column` per column to tell)."""
    result = cursor.pgresult
    return result is not None and result.status == psycopg.pq.ExecStatus.TUPLES_OK


class DriverStatement:
    """A hot path's statement, run on psycopg's connection inside a session's transaction (or on a connection).

    Through `AsyncSession.execute` a statement costs about 100 us more CPU here than psycopg alone (a
    compiled-cache lookup, an execution context, result objects and two greenlet switches each time), as
    much again as the statement itself. Only for `text()` statements, whose parameters SQLAlchemy hands to
    psycopg untouched, so they bind exactly as before; psycopg prepares each on the server. The engine's
    cursor events still fire (tracing, statement counts), and errors arrive as SQLAlchemy's `DBAPIError`
    family, a lost connection invalidated, so `is_transient` and constraint handling see what they always did.
    """

    def __init__(self, statement: TextClause) -> None:
        self.sql = str(statement.compile(dialect=_DIALECT))  # :name -> %(name)s

    async def rows(
        self, target: AsyncSession | AsyncConnection, parameters: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """The statement's rows as tuples (none for a statement without a result)."""
        connection, driver = await _driver_connection(target)
        async with driver.cursor() as cursor:
            await self._execute(connection, driver, cursor, parameters)
            return await cursor.fetchall() if _has_rows(cursor) else []

    async def mappings(
        self, target: AsyncSession | AsyncConnection, parameters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The statement's rows as dictionaries by column name."""
        connection, driver = await _driver_connection(target)
        async with driver.cursor(row_factory=dict_row) as cursor:
            await self._execute(connection, driver, cursor, parameters)
            return await cursor.fetchall() if _has_rows(cursor) else []

    async def rowcount(
        self, target: AsyncSession | AsyncConnection, parameters: Mapping[str, Any] | None = None
    ) -> int:
        """How many rows the statement inserted, updated or deleted."""
        connection, driver = await _driver_connection(target)
        async with driver.cursor() as cursor:
            await self._execute(connection, driver, cursor, parameters)
            return cursor.rowcount

    async def _execute(
        self,
        owner: AsyncConnection,
        driver: psycopg.AsyncConnection[Any],
        cursor: psycopg.AsyncCursor[Any],
        parameters: Mapping[str, Any] | None,
    ) -> None:
        sql, context, connection = self.sql, SimpleNamespace(), owner.sync_connection
        assert connection is not None  # a session's connection, already begun
        events = connection._has_events or connection.engine._has_events  # as Connection itself checks
        if events:
            for listener in connection.dispatch.before_cursor_execute:
                sql, parameters = listener(connection, cursor, sql, parameters, context, False)
        try:
            await cursor.execute(sql, parameters, prepare=True)
        except psycopg.Error as exc:
            lost = driver.broken or driver.closed  # as SQLAlchemy's psycopg dialect judges a disconnect
            if lost:
                await owner.invalidate(exc)
            raise DBAPIError.instance(
                sql,
                parameters,
                exc,
                psycopg.Error,
                hide_parameters=True,
                connection_invalidated=lost,
                dialect=connection.dialect,
            ) from exc
        finally:
            if events:
                for listener in connection.dispatch.after_cursor_execute:
                    listener(connection, cursor, sql, parameters, context, False)


def _json_value(value: object) -> object:
    """The JSON form of a value orjson cannot write itself (it writes UUIDs, datetimes and enums), as `JsonRows`
    reads it back."""
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} has no JSON form for a row")


def _json_value_stdlib(value: object) -> object:
    """What orjson writes natively (UUIDs, datetimes, dates, enums), for the `json` module, and `_json_value`."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PythonEnum):
        return value.value
    return _json_value(value)


def _record_column(column: Column[Any]) -> tuple[str, str]:
    """The column's type in `jsonb_to_recordset`'s row definition, and how the SELECT reads it back."""
    name = column.name
    if isinstance(column.type, LargeBinary):
        return f"{name} text", f"decode(r.{name}, 'hex')"
    if isinstance(column.type, String):  # enums stored as strings too; unbounded, as below
        return f"{name} text", f"r.{name}"
    if isinstance(column.type, ARRAY) and isinstance(column.type.item_type, String):
        return f"{name} text[]", f"r.{name}"
    return f"{name} {column.type.compile(dialect=_DIALECT)}", f"r.{name}"


class JsonRows:
    """Many rows of `table` as one JSON parameter (`:rows`, or the name given), expanded by `jsonb_to_recordset`.

    psycopg binds a parameter per value in Python, and an array per column element by element: for a group
    commit's rows that was more than half its CPU. One JSON text, written by orjson, costs a fraction, and
    one statement text serves every batch size. Strings are read as unbounded `text` so the INSERT itself
    refuses an overlong value (a cast to `varchar(n)` would silently truncate); bytes travel as hex.
    `insert` is the INSERT of the rows in the order given (a caller may add ON CONFLICT or RETURNING);
    `parameter(rows)` the value to bind as `rows`.
    """

    def __init__(self, table: Table, columns: Iterable[str], parameter: str = "rows") -> None:
        self.columns = tuple(columns)
        definitions, reads = zip(*(_record_column(table.c[column]) for column in self.columns), strict=True)
        names = ", ".join(self.columns)
        # A column definition list goes inside ROWS FROM when the rows are numbered (WITH ORDINALITY).
        self.insert = (
            f"INSERT INTO {table.fullname} ({names}) SELECT {', '.join(reads)} "  # noqa: S608 (the model's names)
            f"FROM ROWS FROM (jsonb_to_recordset(CAST(:{parameter} AS jsonb)) AS ({', '.join(definitions)})) "
            f"WITH ORDINALITY AS r({names}, position) ORDER BY r.position"
        )

    def parameter(self, rows: Iterable[Mapping[str, Any]]) -> str:
        columns = self.columns
        return json_rows([{column: row[column] for column in columns} for row in rows])


def json_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as one JSON text for `jsonb_to_recordset` (`JsonRows`, or a statement's own row definition): UUIDs,
    dates, datetimes and enums as their strings, bytes as hex."""
    try:
        # Keys that are not strings become strings, as the `json` module writes them.
        return orjson.dumps(rows, default=_json_value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        # orjson refuses integers beyond 64 bits and nesting beyond 254 levels, which a payload may hold (a
        # TPP's SupplementaryData): the `json` module writes them as they came.
        return json.dumps(rows, default=_json_value_stdlib, allow_nan=False)


@dataclass(frozen=True, slots=True)
class Companion:
    """A write made in another statement's round trip: one more clause of its WITH list.

    `clause` is `name AS (INSERT ...)` or `name AS (UPDATE ...)`, constant per caller (a statement is prepared
    once per combination of clauses), with its own named parameters, prefixed so they clash with no other's.
    PostgreSQL runs every data-modifying WITH clause to completion whatever the main statement reads.
    """

    clause: str
    parameters: dict[str, object]


class WithCompanions:
    """A statement `WITH <clauses> <main>` that callers may extend with companions' clauses (`Companion`)."""

    def __init__(self, with_clauses: str, main: str) -> None:
        self._with = with_clauses.strip()
        self._main = main
        self._statements: dict[tuple[str, ...], DriverStatement] = {}

    def statement(self, companions: Iterable[Companion] = ()) -> DriverStatement:
        """The statement with these companions' clauses after its own (built and prepared once per combination)."""
        clauses = tuple(companion.clause for companion in companions)
        statement = self._statements.get(clauses)
        if statement is None:
            clause_list = ", ".join((self._with, *clauses))
            statement = self._statements[clauses] = DriverStatement(text(f"WITH {clause_list}\n{self._main}"))
        return statement

    @staticmethod
    def parameters(companions: Iterable[Companion], parameters: Mapping[str, Any]) -> dict[str, Any]:
        """`parameters` with every companion's."""
        merged: dict[str, Any] = {}
        for companion in companions:
            merged.update(companion.parameters)
        merged.update(parameters)
        return merged
