"""Used client assertion persistence: one statement per call, on a connection of the replay cache's own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, text
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_server.oauth.client_auth.models import UsedClientAssertion
from obank.database import DriverStatement, JsonRows

_USED = cast(Table, UsedClientAssertion.__table__)
# Every private_key_jwt authentication claims a jti, many in one statement under load: the claims as one JSON
# parameter (`JsonRows`), one statement text whatever the count, run on psycopg's connection (`DriverStatement`).
_CLAIM_ROWS = JsonRows(_USED, ("client_id", "jti", "expires_at"))
_CLAIM_MANY = DriverStatement(text(f"{_CLAIM_ROWS.insert} ON CONFLICT DO NOTHING RETURNING client_id, jti"))


async def claim_assertions(
    connection: AsyncConnection, claims: Sequence[tuple[str, str, datetime]]
) -> set[tuple[str, str]]:
    """Record each `(client_id, jti, expires_at)` (distinct `(client_id, jti)` pairs); the pairs recorded now,
    leaving out those recorded already (one atomic statement)."""
    rows = _CLAIM_ROWS.parameter(
        {"client_id": client_id, "jti": jti, "expires_at": expires_at} for client_id, jti, expires_at in claims
    )
    return {(client_id, jti) for client_id, jti in await _CLAIM_MANY.rows(connection, {"rows": rows})}


async def claim_assertion(connection: AsyncConnection, client_id: str, jti: str, expires_at: datetime) -> bool:
    """Record the client's jti until `expires_at`; False when it is recorded already (one atomic statement)."""
    return bool(await claim_assertions(connection, [(client_id, jti, expires_at)]))


async def purge_expired_assertions(connection: AsyncConnection, now: datetime) -> None:
    """Forget the jtis whose assertions can no longer be accepted anyway."""
    await connection.execute(delete(_USED).where(_USED.c.expires_at < now))
