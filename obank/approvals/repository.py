"""All SQL of four-eyes approvals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from obank.approvals.models import ApprovalStatus, StaffApproval


async def add(session: AsyncSession, approval: StaffApproval) -> None:
    session.add(approval)
    await session.flush()


async def get(session: AsyncSession, approval_id: uuid.UUID, *, for_update: bool = False) -> StaffApproval | None:
    """The approval; locked, so two checkers of one approval decide one after the other."""
    statement = select(StaffApproval).where(StaffApproval.id == approval_id)
    if for_update:
        statement = statement.with_for_update()
    approval: StaffApproval | None = await session.scalar(statement.execution_options(populate_existing=True))
    return approval


def _having_status(status: ApprovalStatus, now: datetime) -> ColumnElement[bool]:
    """Rows whose effective status at `now` is `status` (a pending row past its expiry reads as EXPIRED)."""
    if status is ApprovalStatus.PENDING:
        return and_(StaffApproval.status == ApprovalStatus.PENDING, StaffApproval.expires_at > now)
    if status is ApprovalStatus.EXPIRED:
        return or_(
            StaffApproval.status == ApprovalStatus.EXPIRED,
            and_(StaffApproval.status == ApprovalStatus.PENDING, StaffApproval.expires_at <= now),
        )
    return StaffApproval.status == status


async def list_approvals(
    session: AsyncSession,
    *,
    now: datetime,
    status: ApprovalStatus | None,
    kind: str | None,
    before: datetime | None,
    limit: int,
) -> Sequence[StaffApproval]:
    """Approvals newest first, by effective status and kind; `before` (a `requested_at`) pages back."""
    statement = select(StaffApproval).order_by(StaffApproval.requested_at.desc(), StaffApproval.id.desc())
    if status is not None:
        statement = statement.where(_having_status(status, now))
    if kind is not None:
        statement = statement.where(StaffApproval.kind == kind)
    if before is not None:
        statement = statement.where(StaffApproval.requested_at < before)
    return (await session.scalars(statement.limit(limit))).all()
