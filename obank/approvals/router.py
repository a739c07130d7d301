"""The staff API of four-eyes approvals under /admin/v1/approvals: list and read (any staff), reject or withdraw.

Approving is not a route of its own: the second staff member repeats the held request with `Obank-Approval-Id`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from obank.actor import Actor
from obank.approvals import service
from obank.approvals.models import KIND_MAX, ApprovalStatus
from obank.approvals.schemas import LIST_LIMIT, LIST_MAX, ApprovalRead, ApprovalRejection
from obank.database import SessionDep
from obank.inputs import BoundedDateTime
from obank.principal import Principal, PrincipalDep
from obank.problems import problem_responses
from obank.roles import StaffRole
from obank.staff import staff_with_role
from obank.unit_of_work import UnitOfWork, request_unit_of_work

router = APIRouter(
    prefix="/admin/v1/approvals",
    tags=["admin: approvals"],
    responses=problem_responses(
        (
            (401, "No valid principal assertion"),
            (403, "The principal may not do this"),
            (422, "Invalid request"),
        )
    ),
)

_NOT_FOUND = problem_responses(((404, "No such approval (`approval_not_found`)"),))
_NOT_PENDING = problem_responses(((409, "The approval is decided or expired (`approval_not_pending`)"),))

# Who may do what: any staff role reads; support, fraud analysts and admins reject (as the gateway's policy).
AnyStaff = Annotated[Principal, Depends(staff_with_role(*StaffRole))]
Decider = Annotated[Principal, Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST, StaffRole.ADMIN))]
ApprovalId = Annotated[uuid.UUID, Path(description="The approval's id")]


async def _caller(principal: PrincipalDep) -> Actor:
    return Actor.from_principal(principal)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(request_unit_of_work(_caller), scope="function")]


@router.get("")
async def list_approvals(
    _staff: AnyStaff,
    session: SessionDep,
    status: Annotated[ApprovalStatus | None, Query(description="Only approvals in this state")] = None,
    kind: Annotated[
        str | None, Query(min_length=1, max_length=KIND_MAX, description="Only this kind of action")
    ] = None,
    before: Annotated[
        BoundedDateTime | None, Query(description="Only approvals requested before this instant (the next page)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=LIST_MAX, description="How many, newest first")] = LIST_LIMIT,
) -> list[ApprovalRead]:
    """Approvals newest first, by status (pending ones past their 24 hours read as EXPIRED) and kind."""
    return await service.list_approvals(session, status=status, kind=kind, before=before, limit=limit)


@router.get("/{approval_id}", responses=_NOT_FOUND)
async def get_approval(approval_id: ApprovalId, _staff: AnyStaff, session: SessionDep) -> ApprovalRead:
    """One approval: the action held, who asked for it, who decided and when."""
    return await service.get_approval(session, approval_id)


@router.post("/{approval_id}/rejection", responses={**_NOT_FOUND, **_NOT_PENDING})
async def reject_approval(
    approval_id: ApprovalId, body: ApprovalRejection, staff: Decider, uow: UnitOfWorkDep
) -> ApprovalRead:
    """Reject a pending approval (REJECTED), or withdraw one's own (WITHDRAWN): the action never runs (audited)."""
    return await service.reject_approval(uow, staff, approval_id, body.reason)
