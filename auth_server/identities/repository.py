"""Identity persistence."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.identities.models import Identity
from auth_server.identities.schemas import IdentityKind


async def add(session: AsyncSession, identity: Identity) -> None:
    session.add(identity)
    await session.flush()


async def get(session: AsyncSession, identity_id: uuid.UUID, *, for_update: bool = False) -> Identity | None:
    statement = select(Identity).where(Identity.id == identity_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    found: Identity | None = await session.scalar(statement)
    return found


async def find(
    session: AsyncSession, kind: IdentityKind, username_hashes: list[bytes], *, for_update: bool = False
) -> Identity | None:
    """The identity of this kind whose username hash is one of `username_hashes` (one per key held)."""
    statement = select(Identity).where(Identity.kind == kind, Identity.username_hash.in_(username_hashes))
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    found: Identity | None = await session.scalar(statement)
    return found


async def find_by_customer(session: AsyncSession, customer_id: uuid.UUID) -> Identity | None:
    found: Identity | None = await session.scalar(select(Identity).where(Identity.customer_id == customer_id))
    return found


async def lock_provisioning(session: AsyncSession, name: str) -> None:
    """Serialise one provisioning job (such as demo seeding) across processes until this transaction ends."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))
