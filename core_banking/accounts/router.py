"""Admin API for accounts: open, inspect, freeze, unfreeze, close, change limits (roles: core_banking.dependencies)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from core_banking.accounts import service
from core_banking.accounts.schemas import AccountOpen, AccountRead, LimitsChange, StatusChange
from core_banking.dependencies import Admin, AnyStaff, FraudAnalystOrAdmin, UnitOfWorkDep
from core_banking.errors import PROBLEM_RESPONSES
from obank.database import SessionDep

router = APIRouter(prefix="/admin/v1", tags=["admin: accounts"], responses=PROBLEM_RESPONSES)


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
async def freeze_account(
    account_id: uuid.UUID, body: StatusChange, staff: FraudAnalystOrAdmin, uow: UnitOfWorkDep
) -> AccountRead:
    """Stop debits on an account (credits still arrive)."""
    record = await service.freeze_account(uow, account_id, body.reason)
    return AccountRead.from_record(record)


@router.post("/accounts/{account_id}/unfreeze")
async def unfreeze_account(
    account_id: uuid.UUID, body: StatusChange, staff: FraudAnalystOrAdmin, uow: UnitOfWorkDep
) -> AccountRead:
    """Return a frozen account to normal use."""
    record = await service.unfreeze_account(uow, account_id, body.reason)
    return AccountRead.from_record(record)


@router.post("/accounts/{account_id}/close")
async def close_account(account_id: uuid.UUID, body: StatusChange, staff: Admin, uow: UnitOfWorkDep) -> AccountRead:
    """Close an empty account with no open holds."""
    record = await service.close_account(uow, account_id, body.reason)
    return AccountRead.from_record(record)


@router.patch("/accounts/{account_id}/limits")
async def change_limits(account_id: uuid.UUID, body: LimitsChange, staff: Admin, uow: UnitOfWorkDep) -> AccountRead:
    """Change the overdraft limit and the daily and monthly outgoing limits."""
    record = await service.change_limits(uow, account_id, body)
    return AccountRead.from_record(record)
