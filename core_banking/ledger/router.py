"""Admin API for cash paid in and out over the counter; both need an `Idempotency-Key` (roles: admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from core_banking.dependencies import Admin, UnitOfWorkDep
from core_banking.errors import PROBLEM_RESPONSES
from core_banking.idempotency.http import IdempotencyKeyHeader, idempotent_response
from core_banking.idempotency.service import execute_once, request_fingerprint
from core_banking.ledger import service
from core_banking.ledger.schemas import CashMovement, CashMovementRead
from obank.money import Money
from obank.unit_of_work import UnitOfWork

router = APIRouter(prefix="/admin/v1", tags=["admin: ledger"], responses=PROBLEM_RESPONSES)


async def _move_cash(
    operation: str, account_id: uuid.UUID, body: CashMovement, idempotency_key: str, uow: UnitOfWork
) -> JSONResponse:
    move = service.deposit if operation == "deposit" else service.withdraw

    async def run() -> tuple[int, dict[str, object]]:
        money = Money(body.amount_minor, body.currency)
        result = await move(uow, account_id, money, description=body.description)
        return 201, CashMovementRead.from_result(result).model_dump(mode="json")

    outcome = await execute_once(
        uow,
        scope=f"staff:{uow.actor.id}",
        key=idempotency_key,
        fingerprint=request_fingerprint(operation, str(account_id), body.model_dump(mode="json")),
        operation=run,
    )
    return idempotent_response(outcome)


@router.post("/accounts/{account_id}/deposits", status_code=201, response_model=CashMovementRead)
async def deposit(
    account_id: uuid.UUID,
    body: CashMovement,
    idempotency_key: IdempotencyKeyHeader,
    staff: Admin,
    uow: UnitOfWorkDep,
) -> JSONResponse:
    """Pay cash into a customer account (frozen accounts accept deposits)."""
    return await _move_cash("deposit", account_id, body, idempotency_key, uow)


@router.post("/accounts/{account_id}/withdrawals", status_code=201, response_model=CashMovementRead)
async def withdraw(
    account_id: uuid.UUID,
    body: CashMovement,
    idempotency_key: IdempotencyKeyHeader,
    staff: Admin,
    uow: UnitOfWorkDep,
) -> JSONResponse:
    """Pay cash out of an active customer account, within its available balance."""
    return await _move_cash("withdrawal", account_id, body, idempotency_key, uow)
