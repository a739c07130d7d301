"""All SQL of the audit context: chain-head locking, record insertion, streaming and lookups."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncGenerator, Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from audit.errors import ChainConflict
from audit.models import AuditChainHead, AuditRecord
from audit.schemas import ChainHead, SealedRecord
from obank.database import Companion, DriverStatement, JsonRows, WithCompanions

_RECORDS = cast(Table, AuditRecord.__table__)
_HEAD = cast(Table, AuditChainHead.__table__)
_RECORD_COLUMNS = [_RECORDS.c[field.name] for field in dataclasses.fields(SealedRecord)]
_RECORD_FIELDS = tuple(column.name for column in _RECORD_COLUMNS)
_HEAD_COLUMNS = (_HEAD.c.id.label("chain"), _HEAD.c.last_sequence, _HEAD.c.last_mac)

_HEAD_SELECT = "SELECT id AS chain, last_sequence, last_mac FROM audit.chain_head"
# Plain SQL on psycopg's connection (`DriverStatement`): appends run while other writers of the chain wait on
# its head, and every write transaction of every context appends.
# The lowest-numbered head no other transaction holds; SKIP LOCKED passes over busy heads without waiting.
_LOCK_FREE_HEAD = DriverStatement(text(f"{_HEAD_SELECT} ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"))
# Every head is busy: wait for one picked at random, so waiters spread over the chains.
_LOCK_ANY_HEAD = DriverStatement(text(f"{_HEAD_SELECT} ORDER BY random() LIMIT 1 FOR UPDATE"))
_LOCK_HEAD = DriverStatement(text(f"{_HEAD_SELECT} WHERE id = :chain FOR UPDATE"))
_READ_HEADS = select(*_HEAD_COLUMNS).order_by(_HEAD.c.id)
# One round trip inserts the record and moves its chain's head onto it, only if it directly follows the head.
# The caller's companions (`Companion`: its outbox events) are written in the same statement.
_HEAD_MOVE = """
UPDATE audit.chain_head AS head SET last_sequence = inserted.sequence, last_mac = inserted.mac, updated_at = now()
FROM inserted WHERE head.id = inserted.chain AND head.last_sequence = inserted.sequence - 1
"""
_APPEND = WithCompanions(
    f"""
inserted AS (
    INSERT INTO audit.audit_records ({", ".join(_RECORD_FIELDS)})
    VALUES ({", ".join(f":{name}" for name in _RECORD_FIELDS)})
    RETURNING chain, sequence, mac
)""",  # noqa: S608 (the model's own column names)
    _HEAD_MOVE,
)


# Many records: the batch as one JSON parameter expanded into rows (`JsonRows`), so one statement text serves
# every batch size. Joined to the batch's first record only, so the head moves only if the batch directly
# follows it.
_RECORD_ROWS = JsonRows(_RECORDS, _RECORD_FIELDS)
_APPEND_MANY = WithCompanions(
    f"""
inserted AS (
    {_RECORD_ROWS.insert}
    RETURNING chain, sequence
)""",
    """
UPDATE audit.chain_head AS head SET last_sequence = :head_sequence, last_mac = :head_mac, updated_at = now()
FROM inserted WHERE head.id = inserted.chain AND head.last_sequence = inserted.sequence - 1
""",
)


def _sealed(row: Row[*tuple[Any, ...]]) -> SealedRecord:
    return SealedRecord(**row._asdict())


def _head(row: Sequence[Any] | None) -> ChainHead | None:
    """A head from its row: chain, last sequence, last MAC (the order of `_HEAD_SELECT` and `_HEAD_COLUMNS`)."""
    if row is None:
        return None
    chain, last_sequence, last_mac = row
    return ChainHead(chain=chain, last_sequence=last_sequence, last_mac=last_mac)


def _locked(rows: list[tuple[Any, ...]]) -> ChainHead | None:
    return _head(rows[0] if rows else None)


async def lock_free_chain_head(session: AsyncSession) -> ChainHead | None:
    """The first chain head no other transaction holds, locked until the caller's transaction ends."""
    return _locked(await _LOCK_FREE_HEAD.rows(session))


async def lock_any_chain_head(session: AsyncSession) -> ChainHead | None:
    """Some chain head, locked until the caller's transaction ends, waiting for its holder."""
    return _locked(await _LOCK_ANY_HEAD.rows(session))


async def lock_chain_head(session: AsyncSession, chain: int) -> ChainHead | None:
    """Chain `chain`'s head, locked until the caller's transaction ends (waiting for its holder, if any)."""
    return _locked(await _LOCK_HEAD.rows(session, {"chain": chain}))


async def read_chain_heads(session: AsyncSession) -> dict[int, ChainHead]:
    """Every chain head as this transaction's snapshot sees it, without locking."""
    heads = (_head(row) for row in (await session.execute(_READ_HEADS)).all())
    return {head.chain: head for head in heads if head is not None}


async def append_records(
    session: AsyncSession, records: Sequence[SealedRecord], companions: Sequence[Companion] = ()
) -> None:
    """Insert sealed records, consecutive on one chain, and make the last its head (which this transaction holds);
    `companions` are written in the same statement."""
    first, last = records[0], records[-1]
    if len(records) == 1:
        # Field by field: dataclasses.asdict deep-copies every value.
        parameters = {name: getattr(first, name) for name in _RECORD_FIELDS}
        moved = await _APPEND.statement(companions).rowcount(session, _APPEND.parameters(companions, parameters))
    else:
        rows = _RECORD_ROWS.parameter({name: getattr(record, name) for name in _RECORD_FIELDS} for record in records)
        parameters = {"rows": rows, "head_sequence": last.sequence, "head_mac": last.mac}
        moved = await _APPEND_MANY.statement(companions).rowcount(
            session, _APPEND_MANY.parameters(companions, parameters)
        )
    if moved != 1:
        raise ChainConflict(
            f"records {first.sequence} to {last.sequence} of chain {first.chain} do not follow "
            "the chain head they were sealed against"
        )


async def stream_records(session: AsyncSession, batch_size: int = 1000) -> AsyncGenerator[SealedRecord, None]:
    """Every record, chain by chain in sequence order, fetched in batches from a server-side cursor."""
    result = await session.stream(
        select(*_RECORD_COLUMNS)
        .order_by(AuditRecord.chain, AuditRecord.sequence, AuditRecord.record_id)
        .execution_options(yield_per=batch_size)
    )
    async for row in result:
        yield _sealed(row)


async def get_record(session: AsyncSession, record_id: uuid.UUID) -> SealedRecord | None:
    row = (await session.execute(select(*_RECORD_COLUMNS).where(AuditRecord.record_id == record_id))).first()
    return None if row is None else _sealed(row)


async def find_record_by_mac(session: AsyncSession, chain: int, mac: bytes) -> SealedRecord | None:
    """The record of `chain` that carries this MAC, if any (a scan: used only to diagnose a broken chain)."""
    row = (
        await session.execute(
            select(*_RECORD_COLUMNS)
            .where(AuditRecord.chain == chain, AuditRecord.mac == mac)
            .order_by(AuditRecord.sequence)
        )
    ).first()
    return None if row is None else _sealed(row)


async def find_later_successor(
    session: AsyncSession, chain: int, prev_mac: bytes, after_sequence: int, excluding: uuid.UUID
) -> SealedRecord | None:
    """A record further down `chain` that links to `prev_mac` (a scan: used only to diagnose a broken chain)."""
    row = (
        await session.execute(
            select(*_RECORD_COLUMNS)
            .where(
                AuditRecord.chain == chain,
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
