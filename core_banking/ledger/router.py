"""Admin API for cash paid in and out over the counter; both need an `Idempotency-Key` (roles: admin).

From `OBANK_FOUR_EYES_ADJUSTMENT_MINOR` up, a second admin approves (four eyes): the first call answers 202 with
a pending approval, the second admin's same call with `Obank-Approval-Id` (and a key of their own) books it.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from core_banking.accounts import service as accounts_service
from core_banking.dependencies import Admin, UnitOfWorkDep
from core_banking.errors import PROBLEM_RESPONSES
from core_banking.idempotency.http import IdempotencyKeyHeader, idempotent_response
from core_banking.idempotency.service import execute_once, request_fingerprint
from core_banking.ledger import service
from core_banking.ledger.schemas import CashMovement, CashMovementRead
from obank.approvals.http import APPROVAL_RESPONSES, ApprovalIdHeader
from obank.approvals.schemas import ApprovalPending
from obank.approvals.service import require_approval
from obank.money import Money
from obank.principal import Principal
from obank.unit_of_work import UnitOfWork

router = APIRouter(prefix="/admin/v1", tags=["admin: ledger"], responses=PROBLEM_RESPONSES)

CASH_APPROVAL = "core_banking.cash.adjustment"  # the four-eyes kind of a large deposit or withdrawal
_PATHS = {"deposit": "deposits", "withdrawal": "withdrawals"}


async def _move_cash(
    request: Request,
    operation: str,
    account_id: uuid.UUID,
    body: CashMovement,
    idempotency_key: str,
    staff: Principal,
    approval_id: uuid.UUID | None,
    uow: UnitOfWork,
) -> JSONResponse:
    move = service.deposit if operation == "deposit" else service.withdraw
    four_eyes_from: int = request.app.state.platform.settings.four_eyes_adjustment_minor
    params = body.model_dump(mode="json")

    async def run() -> tuple[int, dict[str, object]]:
        if body.amount_minor >= four_eyes_from:
            await accounts_service.get_account(uow.session, account_id)  # no approval asked for a missing account
            pending = await require_approval(
                uow,
                staff=staff,
                kind=CASH_APPROVAL,
                target=str(account_id),
                method="POST",
                path=f"/admin/v1/accounts/{account_id}/{_PATHS[operation]}",
                params=params,
                approval_id=approval_id,
            )
            if pending is not None:
                return 202, ApprovalPending(approval=pending).model_dump(mode="json")
        money = Money(body.amount_minor, body.currency)
        result = await move(uow, account_id, money, description=body.description)
        return 201, CashMovementRead.from_result(result).model_dump(mode="json")

    # The answer is kept under the key, a 202 too: the maker's retry finds the same pending approval.
    outcome = await execute_once(
        uow,
        scope=f"staff:{uow.actor.id}",
        key=idempotency_key,
        fingerprint=request_fingerprint(operation, str(account_id), params),
        operation=run,
    )
    return idempotent_response(outcome)


@router.post(
    "/accounts/{account_id}/deposits", status_code=201, response_model=CashMovementRead, responses=APPROVAL_RESPONSES
)
async def deposit(
    account_id: uuid.UUID,
    body: CashMovement,
    idempotency_key: IdempotencyKeyHeader,
    staff: Admin,
    uow: UnitOfWorkDep,
    request: Request,
    approval_id: ApprovalIdHeader = None,
) -> JSONResponse:
    """Pay cash into a customer account (frozen accounts accept deposits); a large amount needs a second admin."""
    return await _move_cash(request, "deposit", account_id, body, idempotency_key, staff, approval_id, uow)


@router.post(
    "/accounts/{account_id}/withdrawals",
    status_code=201,
    response_model=CashMovementRead,
    responses=APPROVAL_RESPONSES,
)
async def withdraw(
    account_id: uuid.UUID,
    body: CashMovement,
    idempotency_key: IdempotencyKeyHeader,
    staff: Admin,
    uow: UnitOfWorkDep,
    request: Request,
    approval_id: ApprovalIdHeader = None,
) -> JSONResponse:
    """Pay cash out of an active customer account, within its available balance; a large amount needs a second
    admin."""
    return await _move_cash(request, "withdrawal", account_id, body, idempotency_key, staff, approval_id, uow)
