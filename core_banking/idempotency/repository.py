"""Idempotency-key persistence."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.idempotency.models import IdempotencyKey

_keys = cast(Table, IdempotencyKey.__table__)


async def claim(
    session: AsyncSession, scope: str, key: str, request_hash: bytes, now: datetime, expires_at: datetime
) -> bool:
    """Claim the key for this transaction; True when claimed (new, or the old claim had expired).

    A concurrent claim of the same key waits on the unique index until this transaction ends.
    """
    insert_key = insert(_keys).values(
        scope=scope, key=key, request_hash=request_hash, created_at=now, expires_at=expires_at
    )
    statement = insert_key.on_conflict_do_update(
        index_elements=[_keys.c.scope, _keys.c.key],
        set_={
            "request_hash": insert_key.excluded.request_hash,
            "response_status": None,
            "response_body": None,
            "created_at": insert_key.excluded.created_at,
            "expires_at": insert_key.excluded.expires_at,
        },
        where=_keys.c.expires_at <= now,
    ).returning(_keys.c.key)
    return (await session.execute(statement)).first() is not None


async def get(session: AsyncSession, scope: str, key: str) -> tuple[bytes, int, dict[str, Any]] | None:
    """(request hash, response status, response body) of a completed key."""
    row = (
        await session.execute(
            select(_keys.c.request_hash, _keys.c.response_status, _keys.c.response_body).where(
                _keys.c.scope == scope, _keys.c.key == key, _keys.c.response_status.is_not(None)
            )
        )
    ).first()
    if row is None or row.response_status is None or row.response_body is None:
        return None
    return row.request_hash, row.response_status, row.response_body


async def complete(session: AsyncSession, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
    await session.execute(
        update(_keys)
        .where(_keys.c.scope == scope, _keys.c.key == key)
        .values(response_status=status, response_body=body)
    )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = cast(CursorResult[Any], await session.execute(delete(_keys).where(_keys.c.expires_at <= now)))
    return result.rowcount
