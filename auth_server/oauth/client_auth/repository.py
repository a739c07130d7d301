"""Used client assertion persistence: one statement per call, on a connection of the replay cache's own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import DateTime, String, Table, bindparam, delete, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from auth_server.oauth.client_auth.models import UsedClientAssertion

_USED = cast(Table, UsedClientAssertion.__table__)
# Built once, with typed arrays: every private_key_jwt authentication claims a jti, many in one statement
# under load, and one statement text whatever the count lets the database prepare it once.
_CLAIM_MANY = text(
    f"INSERT INTO {_USED.fullname} (client_id, jti, expires_at)"  # noqa: S608 (the table's own name)
    " SELECT * FROM unnest(:client_ids, :jtis, :expires_ats)"
    " ON CONFLICT DO NOTHING RETURNING client_id, jti"
).bindparams(
    bindparam("client_ids", type_=ARRAY(String())),
    bindparam("jtis", type_=ARRAY(String())),
    bindparam("expires_ats", type_=ARRAY(DateTime(timezone=True))),
)


async def claim_assertions(
    connection: AsyncConnection, claims: Sequence[tuple[str, str, datetime]]
) -> set[tuple[str, str]]:
    """Record each `(client_id, jti, expires_at)` (distinct `(client_id, jti)` pairs); the pairs recorded now,
    leaving out those recorded already (one atomic statement)."""
    result = await connection.execute(
        _CLAIM_MANY,
        {
            "client_ids": [client_id for client_id, _, _ in claims],
            "jtis": [jti for _, jti, _ in claims],
            "expires_ats": [expires_at for _, _, expires_at in claims],
        },
    )
    return {(row.client_id, row.jti) for row in result}


async def claim_assertion(connection: AsyncConnection, client_id: str, jti: str, expires_at: datetime) -> bool:
    """Record the client's jti until `expires_at`; False when it is recorded already (one atomic statement)."""
    return bool(await claim_assertions(connection, [(client_id, jti, expires_at)]))


async def purge_expired_assertions(connection: AsyncConnection, now: datetime) -> None:
    """Forget the jtis whose assertions can no longer be accepted anyway."""
    await connection.execute(delete(_USED).where(_USED.c.expires_at < now))
