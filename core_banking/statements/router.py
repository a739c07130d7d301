"""First-party API for monthly statements (scope `accounts`) as JSON, CSV or PDF."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from core_banking.dependencies import AccountsReader
from core_banking.errors import PROBLEM_RESPONSES
from core_banking.ledger.periods import MONTH_PATTERN, Month
from core_banking.statements import service
from core_banking.statements.csv_statement import render_csv
from core_banking.statements.errors import StatementFormatNotAcceptable
from core_banking.statements.pdf_statement import render_pdf
from core_banking.statements.schemas import StatementFormat, StatementRead
from obank.database import SessionDep
from obank.runtime import KeyRingDep

router = APIRouter(prefix="/api/v1/accounts", tags=["statements"], responses=PROBLEM_RESPONSES)

_BY_MEDIA_TYPE = {
    "application/json": StatementFormat.JSON,
    "application/*": StatementFormat.JSON,
    "*/*": StatementFormat.JSON,
    "text/csv": StatementFormat.CSV,
    "text/*": StatementFormat.CSV,
    "application/pdf": StatementFormat.PDF,
}


def negotiate(accept: str | None) -> StatementFormat:
    """The format the `Accept` header prefers (RFC 9110 section 12.5.1, q-values honoured); JSON when absent."""
    if not accept or not accept.strip():
        return StatementFormat.JSON
    ranked: list[tuple[float, int, StatementFormat]] = []
    for position, item in enumerate(accept.split(",")):
        media_type, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        found = _BY_MEDIA_TYPE.get(media_type.lower())
        if found is not None and quality > 0:
            ranked.append((-quality, position, found))
    if not ranked:
        raise StatementFormatNotAcceptable(f"cannot answer Accept: {accept}")
    return min(ranked)[2]


@router.get(
    "/{account_id}/statements/{month}",
    response_model=StatementRead,
    responses={
        200: {
            "content": {"text/csv": {}, "application/pdf": {}},
            "description": "The statement as JSON, CSV or PDF (by `format`, else by `Accept`)",
        },
        406: {**PROBLEM_RESPONSES[422], "description": "None of the accepted media types is offered"},
    },
)
async def get_statement(
    account_id: uuid.UUID,
    month: Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM")],
    caller: AccountsReader,
    session: SessionDep,
    keyring: KeyRingDep,
    format: Annotated[StatementFormat | None, Query(description="Overrides the Accept header")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """The account's statement for a month: opening balance, every transaction, closing balance."""
    chosen = format or negotiate(accept)
    statement = await service.monthly_statement(session, keyring, caller.customer_id, account_id, Month.parse(month))
    if chosen is StatementFormat.JSON:
        return JSONResponse(StatementRead.from_statement(statement).model_dump(mode="json"))
    filename = f"statement-{statement.account.account_number}-{statement.month}.{chosen.value}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if chosen is StatementFormat.CSV:
        return Response(render_csv(statement), media_type="text/csv; charset=utf-8", headers=headers)
    # Laying out a long statement takes a while: off the event loop.
    pdf = await run_in_threadpool(render_pdf, statement)
    return Response(pdf, media_type=chosen.media_type, headers=headers)
