"""Idempotency-key persistence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.idempotency.models import IdempotencyKey
from obank.database import Companion, DriverStatement

_keys = cast(Table, IdempotencyKey.__table__)

# Plain SQL on psycopg's connection (`DriverStatement`): every idempotent request claims its key. An expired
# claim is taken over; a live one is left alone (no row returned).
_CLAIM = DriverStatement(
    text(
        """
INSERT INTO core_banking.idempotency_keys AS k (scope, key, request_hash, created_at, expires_at)
VALUES (:scope, :key, :request_hash, :now, :expires_at)
ON CONFLICT (scope, key) DO UPDATE SET
    request_hash = excluded.request_hash, response_status = NULL, response_sealed = NULL, response_body = NULL,
    created_at = excluded.created_at, expires_at = excluded.expires_at
WHERE k.expires_at <= :now
RETURNING key
"""
    )
)
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
    return bool(await _CLAIM.rows(session, parameters))


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


# The answer stored by the operation's own last statement (a CTE clause of the ledger's booking).
_COMPLETION_CLAUSE = """idempotent_answer AS (
    UPDATE core_banking.idempotency_keys SET response_status = :idem_status, response_sealed = :idem_sealed
    WHERE scope = :idem_scope AND key = :idem_key
)"""


def completion_companion(scope: str, key: str, status: int, sealed: bytes) -> Companion:
    """`complete`, as a write the ledger's booking statement makes with its entry."""
    return Companion(
        _COMPLETION_CLAUSE, {"idem_scope": scope, "idem_key": key, "idem_status": status, "idem_sealed": sealed}
    )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = cast(CursorResult[Any], await session.execute(delete(_keys).where(_keys.c.expires_at <= now)))
    return result.rowcount
