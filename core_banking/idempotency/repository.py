"""Idempotency-key persistence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.idempotency.models import IdempotencyKey

_keys = cast(Table, IdempotencyKey.__table__)

# Built once: every idempotent request runs these, and building them per call costs more than running them.
_insert_key = insert(_keys).values(
    scope=bindparam("scope"),
    key=bindparam("key"),
    request_hash=bindparam("request_hash"),
    created_at=bindparam("now"),
    expires_at=bindparam("expires_at"),
)
_CLAIM = _insert_key.on_conflict_do_update(
    index_elements=[_keys.c.scope, _keys.c.key],
    set_={
        "request_hash": _insert_key.excluded.request_hash,
        "response_status": None,
        "response_sealed": None,
        "response_body": None,
        "created_at": _insert_key.excluded.created_at,
        "expires_at": _insert_key.excluded.expires_at,
    },
    where=_keys.c.expires_at <= bindparam("now"),
).returning(_keys.c.key)
_GET = select(_keys.c.request_hash, _keys.c.response_status, _keys.c.response_sealed, _keys.c.response_body).where(
    _keys.c.scope == bindparam("k_scope"), _keys.c.key == bindparam("k_key"), _keys.c.response_status.is_not(None)
)
_COMPLETE = (
    update(_keys)
    .where(_keys.c.scope == bindparam("k_scope"), _keys.c.key == bindparam("k_key"))
    .values(response_status=bindparam("status"), response_sealed=bindparam("sealed"))
)


async def claim(
    session: AsyncSession, scope: str, key: str, request_hash: bytes, now: datetime, expires_at: datetime
) -> bool:
    """Claim the key for this transaction; True when claimed (new, or the old claim had expired).

    A concurrent claim of the same key waits on the unique index until this transaction ends.
    """
    parameters = {"scope": scope, "key": key, "request_hash": request_hash, "now": now, "expires_at": expires_at}
    return (await session.execute(_CLAIM, parameters)).first() is not None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A completed key: the request's hash and the response, sealed (or, stored before sealing, in clear)."""

    request_hash: bytes
    status: int
    sealed: bytes | None
    legacy_body: dict[str, Any] | None


async def get(session: AsyncSession, scope: str, key: str) -> StoredResponse | None:
    """The stored response of a completed key, or None."""
    row = (await session.execute(_GET, {"k_scope": scope, "k_key": key})).first()
    if row is None or row.response_status is None or (row.response_sealed is None and row.response_body is None):
        return None
    return StoredResponse(row.request_hash, row.response_status, row.response_sealed, row.response_body)


async def complete(session: AsyncSession, scope: str, key: str, status: int, sealed: bytes) -> None:
    await session.execute(_COMPLETE, {"k_scope": scope, "k_key": key, "status": status, "sealed": sealed})


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = cast(CursorResult[Any], await session.execute(delete(_keys).where(_keys.c.expires_at <= now)))
    return result.rowcount
