"""Pushed request persistence."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.par.models import PushedAuthorizationRequest


async def add(session: AsyncSession, row: PushedAuthorizationRequest) -> None:
    session.add(row)
    await session.flush()


async def by_hash(
    session: AsyncSession, request_uri_hash: bytes, *, for_update: bool = False
) -> PushedAuthorizationRequest | None:
    statement = (
        select(PushedAuthorizationRequest)
        .where(PushedAuthorizationRequest.request_uri_hash == request_uri_hash)
        .execution_options(populate_existing=True)
    )
    if for_update:
        statement = statement.with_for_update()
    row: PushedAuthorizationRequest | None = await session.scalar(statement)
    return row
