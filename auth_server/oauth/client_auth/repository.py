"""Used client assertion persistence: one statement per call, on a connection of the replay cache's own."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_server.oauth.client_auth.models import UsedClientAssertion

_USED = cast(Table, UsedClientAssertion.__table__)
# Built once: every private_key_jwt authentication claims a jti.
_CLAIM = insert(_USED).on_conflict_do_nothing().returning(_USED.c.jti)


async def claim_assertion(connection: AsyncConnection, client_id: str, jti: str, expires_at: datetime) -> bool:
    """Record the client's jti until `expires_at`; False when it is recorded already (one atomic statement)."""
    result = await connection.execute(_CLAIM, {"client_id": client_id, "jti": jti, "expires_at": expires_at})
    return result.first() is not None


async def purge_expired_assertions(connection: AsyncConnection, now: datetime) -> None:
    """Forget the jtis whose assertions can no longer be accepted anyway."""
    await connection.execute(delete(_USED).where(_USED.c.expires_at < now))
