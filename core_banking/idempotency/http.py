"""Idempotency at the HTTP edge: the `Idempotency-Key` header, and a stored answer sent back as it was."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse

from core_banking.errors import PROBLEM_MEDIA_TYPE
from core_banking.idempotency.service import IdempotentOutcome

IdempotencyKeyHeader = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=255)]
REPLAYED_HEADER = "Idempotent-Replayed"


def idempotent_response(outcome: IdempotentOutcome) -> JSONResponse:
    """The first answer under the key (a problem document if it was a refusal), marked when replayed."""
    media_type = PROBLEM_MEDIA_TYPE if outcome.status >= 400 else "application/json"
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status, media_type=media_type, headers=headers)
