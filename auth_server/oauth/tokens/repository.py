"""Issued token persistence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, exists, or_, select, text, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.tokens.models import IssuedToken, TokenKind
from auth_server.oauth.tokens.schemas import RevokedToken
from obank.database import DriverStatement, JsonRows

# Built once: issuance is the hot path, so no statement building or ORM bookkeeping per token.
_TOKENS = cast(Table, IssuedToken.__table__)
_INSERT_TOKEN = sql_insert(_TOKENS)
# A group commit's tokens: one statement, the rows as one JSON parameter (`JsonRows`).
_TOKEN_COLUMNS = (
    "id",
    "kind",
    "client_id",
    "subject",
    "subject_kind",
    "scopes",
    "authorization_details",
    "consent_id",
    "certificate_thumbprint",
    "signing_kid",
    "acr",
    "auth_time",
    "grant_id",
    "authorization_code_id",
    "parent_token_id",
    "issued_at",
    "expires_at",
)
_TOKEN_ROWS = JsonRows(_TOKENS, _TOKEN_COLUMNS)
_INSERT_TOKENS = DriverStatement(text(_TOKEN_ROWS.insert))


async def insert(session: AsyncSession, **values: Any) -> None:
    """One token row."""
    await session.execute(_INSERT_TOKEN, values)


async def insert_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Token rows, as one multi-row INSERT (a group commit writes many at once)."""
    if len(rows) == 1:
        await session.execute(_INSERT_TOKEN, rows[0])
    else:
        await _INSERT_TOKENS.rowcount(session, {"rows": _TOKEN_ROWS.parameter(rows)})


async def get(session: AsyncSession, token_id: uuid.UUID) -> IssuedToken | None:
    token: IssuedToken | None = await session.get(IssuedToken, token_id, populate_existing=True)
    return token


async def by_hash(session: AsyncSession, hashes: Sequence[bytes]) -> IssuedToken | None:
    token: IssuedToken | None = await session.scalar(
        select(IssuedToken).where(IssuedToken.token_hash.in_(hashes)).execution_options(populate_existing=True)
    )
    return token


async def refresh_line_revoked(session: AsyncSession, authorization_code_id: uuid.UUID, *, except_reason: str) -> bool:
    """Whether a refresh token descending from the code was revoked for a reason other than `except_reason`."""
    statement = select(
        exists().where(
            IssuedToken.authorization_code_id == authorization_code_id,
            IssuedToken.kind == TokenKind.REFRESH,
            IssuedToken.revocation_reason.is_not(None),
            IssuedToken.revocation_reason != except_reason,
        )
    )
    return bool(await session.scalar(statement))


async def revoke(
    session: AsyncSession,
    *,
    ids: Sequence[uuid.UUID] = (),
    grant_id: uuid.UUID | None = None,
    authorization_code_id: uuid.UUID | None = None,
    parent_token_ids: Sequence[uuid.UUID] = (),
    reason: str,
    now: datetime,
) -> list[RevokedToken]:
    """Revoke the live tokens matching any criterion; return those revoked now."""
    criteria: list[ColumnElement[bool]] = []
    if ids:
        criteria.append(IssuedToken.id.in_(ids))
    if grant_id is not None:
        criteria.append(IssuedToken.grant_id == grant_id)
    if authorization_code_id is not None:
        criteria.append(IssuedToken.authorization_code_id == authorization_code_id)
    if parent_token_ids:
        criteria.append(IssuedToken.parent_token_id.in_(parent_token_ids))
    if not criteria:
        return []
    statement = (
        update(IssuedToken)
        .where(or_(*criteria), IssuedToken.revoked_at.is_(None))
        .values(revoked_at=now, revocation_reason=reason)
        .returning(IssuedToken.id, IssuedToken.kind, IssuedToken.expires_at)
    )
    rows = (await session.execute(statement)).all()
    return [RevokedToken(id=row.id, kind=row.kind, expires_at=row.expires_at) for row in rows]
