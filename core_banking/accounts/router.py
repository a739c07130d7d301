"""Admin API for accounts: open, inspect, freeze, unfreeze, close (four eyes), change limits.

Roles: core_banking.dependencies.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from core_banking.accounts import service
from core_banking.accounts.schemas import AccountOpen, AccountRead, LimitsChange, StatusChange
from core_banking.dependencies import Admin, AnyStaff, Casework, SupportOrAdmin, UnitOfWorkDep
from core_banking.errors import PROBLEM_RESPONSES
from obank.approvals.http import APPROVAL_RESPONSES, ApprovalIdHeader, pending_response
from obank.approvals.service import require_approval
from obank.database import SessionDep

router = APIRouter(prefix="/admin/v1", tags=["admin: accounts"], responses=PROBLEM_RESPONSES)

CLOSE_APPROVAL = "core_banking.account.close"  # the four-eyes kind of closing an account


@router.post("/customers/{customer_id}/accounts", status_code=201)
async def open_account(customer_id: uuid.UUID, body: AccountOpen, staff: Admin, uow: UnitOfWorkDep) -> AccountRead:
    """Open an account for a KYC-verified customer."""
    record = await service.open_account(uow, customer_id, body)
    return AccountRead.from_record(record)


@router.get("/customers/{customer_id}/accounts")
async def list_customer_accounts(customer_id: uuid.UUID, staff: AnyStaff, session: SessionDep) -> list[AccountRead]:
    """Every account of a customer, closed ones included."""
    return [AccountRead.from_record(record) for record in await service.list_customer_accounts(session, customer_id)]


@router.get("/accounts/{account_id}")
async def get_account(account_id: uuid.UUID, staff: AnyStaff, session: SessionDep) -> AccountRead:
    """An account with its balances."""
    return AccountRead.from_record(await service.get_account(session, account_id))


@router.post("/accounts/{account_id}/freeze")
async def freeze_account(account_id: uuid.UUID, body: StatusChange, staff: Casework, uow: UnitOfWorkDep) -> AccountRead:
    """Stop debits on an account (credits still arrive)."""
    record = await service.freeze_account(uow, account_id, body.reason)
    return AccountRead.from_record(record)


@router.post("/accounts/{account_id}/unfreeze")
async def unfreeze_account(
    account_id: uuid.UUID, body: StatusChange, staff: Casework, uow: UnitOfWorkDep
) -> AccountRead:
    """Return a frozen account to normal use."""
    record = await service.unfreeze_account(uow, account_id, body.reason)
    return AccountRead.from_record(record)


@router.post("/accounts/{account_id}/close", response_model=AccountRead, responses=APPROVAL_RESPONSES)
async def close_account(
    account_id: uuid.UUID,
    body: StatusChange,
    staff: SupportOrAdmin,
    uow: UnitOfWorkDep,
    approval_id: ApprovalIdHeader = None,
) -> AccountRead | JSONResponse:
    """Close an empty account with no open holds, once a second staff member agrees (four eyes).

    The first call closes nothing: 202 with a pending approval. Another staff member repeats it with the same
    body and `Obank-Approval-Id`: the account closes and the approval is APPROVED in one transaction.
    """
    await service.check_closable(uow.session, account_id)
    pending = await require_approval(
        uow,
        staff=staff,
        kind=CLOSE_APPROVAL,
        target=str(account_id),
        method="POST",
        path=f"/admin/v1/accounts/{account_id}/close",
        params=body.model_dump(mode="json"),
        approval_id=approval_id,
    )
    if pending is not None:
        return pending_response(pending)
    record = await service.close_account(uow, account_id, body.reason)
    return AccountRead.from_record(record)


@router.patch("/accounts/{account_id}/limits")
async def change_limits(account_id: uuid.UUID, body: LimitsChange, staff: Admin, uow: UnitOfWorkDep) -> AccountRead:
    """Change the overdraft limit and the daily and monthly outgoing limits."""
    record = await service.change_limits(uow, account_id, body)
    return AccountRead.from_record(record)
