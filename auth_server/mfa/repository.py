"""Second-factor persistence."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.mfa.models import RecoveryCode, TotpCredential


async def get_totp(session: AsyncSession, identity_id: uuid.UUID, *, for_update: bool = False) -> TotpCredential | None:
    statement = select(TotpCredential).where(TotpCredential.identity_id == identity_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    found: TotpCredential | None = await session.scalar(statement)
    return found


async def add(session: AsyncSession, row: TotpCredential | RecoveryCode) -> None:
    session.add(row)
    await session.flush()


async def delete_totp(session: AsyncSession, credential: TotpCredential) -> None:
    await session.delete(credential)
    await session.flush()


async def replace_recovery_codes(session: AsyncSession, identity_id: uuid.UUID, codes: list[RecoveryCode]) -> None:
    """Drop the identity's recovery codes, used or not, and store `codes` instead."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.identity_id == identity_id))
    session.add_all(codes)
    await session.flush()


async def find_unused_recovery_code(
    session: AsyncSession, identity_id: uuid.UUID, hashes: list[bytes]
) -> RecoveryCode | None:
    found: RecoveryCode | None = await session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.identity_id == identity_id,
            RecoveryCode.code_hash.in_(hashes),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    )
    return found


async def count_unused_recovery_codes(session: AsyncSession, identity_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).where(RecoveryCode.identity_id == identity_id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


async def mark_recovery_code_used(session: AsyncSession, code: RecoveryCode, now: datetime) -> None:
    code.used_at = now
    await session.flush()
