"""All SQL of the audit context: chain-head locking, record insertion, streaming and lookups."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncGenerator
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from audit.errors import ChainConflict
from audit.models import HEAD_ROW_ID, AuditChainHead, AuditRecord
from audit.schemas import ChainHead, SealedRecord

_RECORDS = cast(Table, AuditRecord.__table__)
_HEAD = cast(Table, AuditChainHead.__table__)
_RECORD_COLUMNS = [_RECORDS.c[field.name] for field in dataclasses.fields(SealedRecord)]

# Built once: appends run while every other writer waits on the head, so no per-call statement building.
_LOCK_HEAD = select(_HEAD.c.last_sequence, _HEAD.c.last_mac).where(_HEAD.c.id == HEAD_ROW_ID).with_for_update()
_READ_HEAD = select(_HEAD.c.last_sequence, _HEAD.c.last_mac).where(_HEAD.c.id == HEAD_ROW_ID)
_INSERTED = (
    insert(_RECORDS)
    .values({column.name: bindparam(column.name) for column in _RECORD_COLUMNS})
    .returning(_RECORDS.c.sequence, _RECORDS.c.mac)
    .cte("inserted")
)
# One round trip inserts the record and moves the head onto it, only if it directly follows the head.
_APPEND = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ROW_ID, _HEAD.c.last_sequence == _INSERTED.c.sequence - 1)
    .values(last_sequence=_INSERTED.c.sequence, last_mac=_INSERTED.c.mac, updated_at=func.now())
)


def _sealed(row: Row[*tuple[Any, ...]]) -> SealedRecord:
    return SealedRecord(**row._asdict())


def _head(row: Row[int, bytes] | None) -> ChainHead | None:
    return None if row is None else ChainHead(last_sequence=row.last_sequence, last_mac=row.last_mac)


async def lock_chain_head(session: AsyncSession) -> ChainHead | None:
    """The chain head, locked until the caller's transaction ends: appenders queue here, one at a time."""
    return _head((await session.execute(_LOCK_HEAD)).one_or_none())


async def read_chain_head(session: AsyncSession) -> ChainHead | None:
    """The chain head as this transaction's snapshot sees it, without locking."""
    return _head((await session.execute(_READ_HEAD)).one_or_none())


async def append_record(session: AsyncSession, record: SealedRecord) -> None:
    """Insert the sealed record and make it the chain head (the head must be locked by this transaction)."""
    result = await session.execute(_APPEND, dataclasses.asdict(record))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ChainConflict(f"record {record.sequence} does not follow the chain head it was sealed against")


async def stream_records(session: AsyncSession, batch_size: int = 1000) -> AsyncGenerator[SealedRecord, None]:
    """Every record in chain order, fetched in batches from a server-side cursor."""
    result = await session.stream(
        select(*_RECORD_COLUMNS)
        .order_by(AuditRecord.sequence, AuditRecord.record_id)
        .execution_options(yield_per=batch_size)
    )
    async for row in result:
        yield _sealed(row)


async def get_record(session: AsyncSession, record_id: uuid.UUID) -> SealedRecord | None:
    row = (await session.execute(select(*_RECORD_COLUMNS).where(AuditRecord.record_id == record_id))).first()
    return None if row is None else _sealed(row)


async def find_record_by_mac(session: AsyncSession, mac: bytes) -> SealedRecord | None:
    """The record that carries this MAC, if any (a full scan: used only to diagnose a broken chain)."""
    row = (
        await session.execute(select(*_RECORD_COLUMNS).where(AuditRecord.mac == mac).order_by(AuditRecord.sequence))
    ).first()
    return None if row is None else _sealed(row)


async def find_later_successor(
    session: AsyncSession, prev_mac: bytes, after_sequence: int, excluding: uuid.UUID
) -> SealedRecord | None:
    """A record further down that links to `prev_mac` (a full scan: used only to diagnose a broken chain)."""
    row = (
        await session.execute(
            select(*_RECORD_COLUMNS)
            .where(
                AuditRecord.prev_mac == prev_mac,
                AuditRecord.sequence > after_sequence,
                AuditRecord.record_id != excluding,
            )
            .order_by(AuditRecord.sequence)
        )
    ).first()
    return None if row is None else _sealed(row)


async def begin_snapshot(session: AsyncSession) -> str:
    """Start the session's transaction at REPEATABLE READ; returns the isolation level in force."""
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    level = await session.scalar(text("SHOW transaction_isolation"))
    return str(level)
