"""First-party API for transfers (scope `payments`): make one with an `Idempotency-Key`, read its status."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from core_banking.dependencies import PaymentsInitiator
from core_banking.errors import PROBLEM_RESPONSES
from core_banking.idempotency.http import IdempotencyKeyHeader, idempotent_response
from core_banking.idempotency.service import IdempotentOutcome
from core_banking.transfers import service
from core_banking.transfers.schemas import TransferCreate, TransferRead
from obank.database import SessionDep
from obank.unit_of_work import UnitOfWork, UnitsDep

router = APIRouter(prefix="/api/v1/transfers", tags=["transfers"], responses=PROBLEM_RESPONSES)


@router.post("", status_code=201, response_model=TransferRead)
async def make_transfer(
    body: TransferCreate,
    idempotency_key: IdempotencyKeyHeader,
    caller: PaymentsInitiator,
    units: UnitsDep,
) -> JSONResponse:
    """Transfer money from one of the caller's accounts; a retry with the same key replays the first answer."""

    async def work(uow: UnitOfWork) -> IdempotentOutcome:
        return await service.make_transfer(uow, caller.customer_id, body, idempotency_key=idempotency_key)

    # Its own transaction rather than the request's, so a deadlock or serialization failure is retried whole.
    return idempotent_response(await units.retry(caller.actor, work))


@router.get("/{transfer_id}")
async def get_transfer(transfer_id: uuid.UUID, caller: PaymentsInitiator, session: SessionDep) -> TransferRead:
    """A transfer the caller made."""
    return TransferRead.from_record(await service.get_transfer(session, caller.customer_id, transfer_id))
