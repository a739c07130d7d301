"""First-party API for transfers (scope `payments`): make one with an `Idempotency-Key`, read its status."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from core_banking.dependencies import PaymentsInitiator
from core_banking.errors import PROBLEM_RESPONSES
from core_banking.idempotency.http import IdempotencyKeyHeader, idempotent_response
from core_banking.idempotency.service import IdempotentOutcome
from core_banking.step_up import require_strong_authentication
from core_banking.transfers import service
from core_banking.transfers.errors import TransferStoppedByFraudChecks
from core_banking.transfers.schemas import TransferCreate, TransferRead
from fraud.decisions import FraudDecisions, Recommendation
from obank.database import SessionDep
from obank.unit_of_work import UnitOfWork, UnitsDep

router = APIRouter(prefix="/api/v1/transfers", tags=["transfers"], responses=PROBLEM_RESPONSES)


@router.post("", status_code=201, response_model=TransferRead)
async def make_transfer(
    body: TransferCreate,
    idempotency_key: IdempotencyKeyHeader,
    caller: PaymentsInitiator,
    units: UnitsDep,
    request: Request,
) -> JSONResponse:
    """Transfer money from one of the caller's accounts; a retry with the same key replays the first answer.

    A transfer to another customer is screened by the bank's fraud checks first: one they stop is refused
    (403), one they would hold needs a fresh strong authentication (RFC 9470 challenge). Both are answered
    before the idempotency key is taken, so the retry after the step-up can use the same key.
    """
    fraud: FraudDecisions = request.app.state.fraud
    now = datetime.now(UTC)
    # One connection at a time per request: the accounts read, then the engine's own read, then the booking.
    screening = await service.screen_transfer(
        request.app.state.platform.statement_engine,
        fraud,
        caller.customer_id,
        body,
        session_id=caller.principal.session_id,
        now=now,
    )
    decision = None if screening is None else screening.decision
    if decision is not None and decision.recommendation is Recommendation.BLOCK:
        async with units.begin(caller.actor) as uow:
            service.record_stopped_transfer(uow, caller.customer_id, body, decision)
        raise TransferStoppedByFraudChecks()
    if decision is not None and decision.recommendation is Recommendation.REVIEW:
        max_age = timedelta(seconds=request.app.state.platform.settings.payments_step_up_max_age_s)
        require_strong_authentication(caller, "this transfer needs a fresh strong authentication", max_age, now=now)

    async def work(uow: UnitOfWork) -> IdempotentOutcome:
        return await service.make_transfer(
            uow, caller.customer_id, body, idempotency_key=idempotency_key, screening=screening
        )

    # Its own transaction rather than the request's, so a deadlock or serialization failure is retried whole.
    return idempotent_response(await units.retry(caller.actor, work))


@router.get("/{transfer_id}")
async def get_transfer(transfer_id: uuid.UUID, caller: PaymentsInitiator, session: SessionDep) -> TransferRead:
    """A transfer the caller made."""
    return TransferRead.from_record(await service.get_transfer(session, caller.customer_id, transfer_id))
