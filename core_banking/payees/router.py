"""First-party API for payees: check a payee's name (confirmation of payee), then save, list, change, delete.

Reads take the scope `accounts`, changes `payments`. Adding a payee needs a fresh strong authentication
(RFC 9470 step-up) and an `Idempotency-Key`; another customer's payee is not found (404).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from core_banking.dependencies import AccountsReader, PaymentsInitiator
from core_banking.errors import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES
from core_banking.idempotency.http import REPLAYED_HEADER, IdempotencyKeyHeader, idempotent_response
from core_banking.idempotency.service import IdempotentOutcome, execute_once, request_fingerprint
from core_banking.payees import service
from core_banking.payees.confirmation import PayeeNameDirectory
from core_banking.payees.errors import ConfirmationOfPayeeRequired
from core_banking.payees.schemas import (
    ConfirmationRead,
    PayeeConfirmationCreate,
    PayeeCreate,
    PayeeRead,
    PayeeRecord,
    PayeeUpdate,
)
from core_banking.step_up import require_strong_authentication
from obank.database import SessionDep
from obank.runtime import KeyRingDep
from obank.unit_of_work import UnitOfWork, UnitsDep

router = APIRouter(prefix="/api/v1/beneficiaries", tags=["payees"], responses=PROBLEM_RESPONSES)
confirmations_router = APIRouter(prefix="/api/v1/payee-confirmations", tags=["payees"], responses=PROBLEM_RESPONSES)

NEW_PAYEE_STEP_UP = "adding a payee needs a fresh strong authentication"


def _rules(request: Request) -> service.PayeeRules:
    settings = request.app.state.platform.settings
    return service.PayeeRules(
        cooling_off=timedelta(seconds=settings.payees_cooling_off_s),
        confirmation_validity=timedelta(seconds=settings.payees_confirmation_validity_s),
    )


def _directory(request: Request) -> PayeeNameDirectory:
    directory: PayeeNameDirectory = request.app.state.payee_names
    return directory


RulesDep = Annotated[service.PayeeRules, Depends(_rules)]
PayeeNamesDep = Annotated[PayeeNameDirectory, Depends(_directory)]


@confirmations_router.post("", status_code=201)
async def check_payee(
    body: PayeeConfirmationCreate,
    caller: PaymentsInitiator,
    units: UnitsDep,
    directory: PayeeNamesDep,
    rules: RulesDep,
) -> ConfirmationRead:
    """Confirmation of payee: whether `name` is the holder's of the account (MATCH, CLOSE_MATCH with the actual
    name, NO_MATCH, or UNAVAILABLE), to add the payee with before `expires_at`."""

    async def work(uow: UnitOfWork) -> ConfirmationRead:
        record = await service.check_payee(uow, directory, caller.customer_id, body, rules)
        return ConfirmationRead.from_record(record)

    return await units.retry(caller.actor, work)


@router.post("", status_code=201, response_model=PayeeRead)
async def add_payee(
    body: PayeeCreate,
    idempotency_key: IdempotencyKeyHeader,
    caller: PaymentsInitiator,
    units: UnitsDep,
    rules: RulesDep,
    request: Request,
) -> JSONResponse:
    """Save a payee checked by confirmation of payee (its `confirmation_id`; `confirmed_despite` its result when
    it was not a MATCH): 201 with the payee. A retry with the same key gets the payee as it stands now."""
    max_age = timedelta(seconds=request.app.state.platform.settings.payments_step_up_max_age_s)
    # Before the key is taken, so the retry after the step-up can use the same key.
    require_strong_authentication(caller, NEW_PAYEE_STEP_UP, max_age)

    async def work(uow: UnitOfWork) -> tuple[IdempotentOutcome, PayeeRecord | None]:
        async def run() -> tuple[int, dict[str, Any]]:
            record = await service.add_payee(uow, caller.customer_id, body, rules)
            # Only the id is kept under the key: the stored answer holds no personal data.
            return 201, {"id": str(record.id)}

        outcome = await execute_once(
            uow,
            scope=f"customer:{caller.customer_id}",
            key=idempotency_key,
            fingerprint=request_fingerprint("payee", body.model_dump(mode="json")),
            operation=run,
        )
        if outcome.status != 201:
            return outcome, None
        payee_id = uuid.UUID(str(outcome.body["id"]))
        return outcome, await service.get_payee(uow.session, uow.keyring, payee_id, customer_id=caller.customer_id)

    try:
        outcome, record = await units.retry(caller.actor, work)
    except ConfirmationOfPayeeRequired as warning:
        return JSONResponse(warning.problem(), status_code=warning.status, media_type=PROBLEM_MEDIA_TYPE)
    if record is None:
        return idempotent_response(outcome)
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else None
    return JSONResponse(PayeeRead.from_record(record).model_dump(mode="json"), status_code=201, headers=headers)


@router.get("")
async def list_payees(caller: AccountsReader, session: SessionDep, keyring: KeyRingDep) -> list[PayeeRead]:
    """The caller's payees, oldest first."""
    records = await service.list_payees(session, keyring, caller.customer_id)
    return [PayeeRead.from_record(record) for record in records]


@router.get("/{payee_id}")
async def get_payee(payee_id: uuid.UUID, caller: AccountsReader, session: SessionDep, keyring: KeyRingDep) -> PayeeRead:
    """One of the caller's payees."""
    return PayeeRead.from_record(await service.get_payee(session, keyring, payee_id, customer_id=caller.customer_id))


@router.patch("/{payee_id}")
async def update_payee(payee_id: uuid.UUID, body: PayeeUpdate, caller: PaymentsInitiator, units: UnitsDep) -> PayeeRead:
    """Change a payee's nickname or default reference; its name and account never change (add a new payee)."""

    async def work(uow: UnitOfWork) -> PayeeRecord:
        return await service.update_payee(uow, caller.customer_id, payee_id, body)

    return PayeeRead.from_record(await units.retry(caller.actor, work))


@router.delete("/{payee_id}", status_code=204)
async def delete_payee(payee_id: uuid.UUID, caller: PaymentsInitiator, units: UnitsDep) -> Response:
    """Delete a payee; payments and orders made to it keep their history."""

    async def work(uow: UnitOfWork) -> None:
        await service.delete_payee(uow, caller.customer_id, payee_id)

    await units.retry(caller.actor, work)
    return Response(status_code=204)
