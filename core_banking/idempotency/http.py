"""Idempotency at the HTTP edge: the `Idempotency-Key` header, and a stored answer sent back as it was."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse

from core_banking.errors import PROBLEM_MEDIA_TYPE
from core_banking.idempotency.service import IdempotentOutcome, execute_once
from obank.actor import Actor
from obank.unit_of_work import UnitOfWork, UnitsOfWork

IdempotencyKeyHeader = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=255)]
REPLAYED_HEADER = "Idempotent-Replayed"


async def respond_once(
    units: UnitsOfWork,
    actor: Actor,
    *,
    scope: str,
    key: str,
    fingerprint: bytes,
    operation: Callable[[UnitOfWork], Awaitable[tuple[int, dict[str, Any]]]],
) -> JSONResponse:
    """Run `operation` in a unit of work of its own once per key (`execute_once`), and answer as it first did."""

    async def work(uow: UnitOfWork) -> IdempotentOutcome:
        async def run() -> tuple[int, dict[str, Any]]:
            return await operation(uow)

        return await execute_once(uow, scope=scope, key=key, fingerprint=fingerprint, operation=run)

    return idempotent_response(await units.retry(actor, work))


def idempotent_response(outcome: IdempotentOutcome) -> JSONResponse:
    """The first answer under the key (a problem document if it was a refusal), marked when replayed."""
    media_type = PROBLEM_MEDIA_TYPE if outcome.status >= 400 else "application/json"
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status, media_type=media_type, headers=headers)
