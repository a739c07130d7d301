"""Client persistence, and the notifications that tell every process a client changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.clients.models import OAuthClient

# Every process's client cache listens here; a change is announced in its transaction (sent on commit).
CHANGES_CHANNEL = "obank_oauth_clients"


async def add(session: AsyncSession, client: OAuthClient) -> None:
    session.add(client)
    await session.flush()


async def get(session: AsyncSession, client_id: str, *, for_update: bool = False) -> OAuthClient | None:
    statement = select(OAuthClient).where(OAuthClient.client_id == client_id).execution_options(populate_existing=True)
    if for_update:
        statement = statement.with_for_update()
    client: OAuthClient | None = await session.scalar(statement)
    return client


async def read(session: AsyncSession, client_id: str) -> Row[Any] | None:
    """The client's columns without loading an ORM object (client authentication runs on every request)."""
    result = await session.execute(select(OAuthClient.__table__).where(OAuthClient.client_id == client_id))
    return result.first()


async def announce_change(session: AsyncSession, client_id: str) -> None:
    """Tell every process's client cache, once this transaction commits, that the client changed."""
    await session.execute(select(func.pg_notify(CHANGES_CHANNEL, client_id)))


async def exists(session: AsyncSession, client_id: str) -> bool:
    found = await session.scalar(select(OAuthClient.client_id).where(OAuthClient.client_id == client_id))
    return found is not None


async def list_all(session: AsyncSession) -> Sequence[OAuthClient]:
    return (await session.scalars(select(OAuthClient).order_by(OAuthClient.created_at, OAuthClient.client_id))).all()


async def by_registration_token(session: AsyncSession, hashes: Sequence[bytes]) -> OAuthClient | None:
    statement = select(OAuthClient).where(OAuthClient.registration_access_token_hash.in_(hashes)).with_for_update()
    client: OAuthClient | None = await session.scalar(statement)
    return client
