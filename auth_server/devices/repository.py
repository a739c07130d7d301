"""SQL of known devices."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.devices.models import KnownDevice


async def has_devices(session: AsyncSession, identity_id: uuid.UUID) -> bool:
    query = select(exists().where(KnownDevice.identity_id == identity_id))
    return bool(await session.scalar(query))


async def remember(session: AsyncSession, identity_id: uuid.UUID, device_hash: bytes, now: datetime) -> bool:
    """Note a sign-in from the device; True when it was not known (of two concurrent first sign-ins, one)."""
    inserted = await session.scalar(
        insert(KnownDevice)
        .values(identity_id=identity_id, device_hash=device_hash, first_seen_at=now, last_seen_at=now)
        .on_conflict_do_nothing()
        .returning(KnownDevice.identity_id)
    )
    if inserted is not None:
        return True
    await session.execute(
        update(KnownDevice)
        .where(KnownDevice.identity_id == identity_id, KnownDevice.device_hash == device_hash)
        .values(last_seen_at=now)
    )
    return False
