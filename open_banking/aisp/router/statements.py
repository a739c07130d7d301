"""Statements of the consent's accounts, and each statement's file as a PDF.

R/W API Profile, "Request Headers" (Accept) and "Response Headers" (Content-Type): the file endpoint does
not answer JSON, and the ASPSP says what it serves instead. This bank serves `application/pdf`: an Accept
that admits it (or none) is served, any other is 406; errors stay OBErrorResponse1 in JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.routing import APIRoute

from obank.ob_errors import OBErrorCode
from open_banking.aisp.auth import AccountsReader
from open_banking.aisp.queries import Window
from open_banking.aisp.router.common import READ_ERRORS, AccountIdPath, StatementIdPath, one_page, router
from open_banking.aisp.schemas import OBReadStatement2
from open_banking.aisp.schemas.statements import OBReadDataStatement2
from open_banking.aisp.service import information
from open_banking.dependencies import CoreBankingDep, SelfUrlDep
from open_banking.errors import OpenBankingError

PDF = "application/pdf"
_PDF_RANGES = frozenset({PDF, "application/*", "*/*"})
_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")  # RFC 9110 s12.4.2


FROM, TO = "fromStatementDateTime", "toStatementDateTime"
FromStatement = Annotated[
    str | None, Query(alias=FROM, max_length=64, description="Statements that end after this UTC date-time.")
]
ToStatement = Annotated[
    str | None, Query(alias=TO, max_length=64, description="Statements that start at or before this UTC date-time.")
]


class StatementFileNotAcceptable(OpenBankingError):
    status = 406
    code = OBErrorCode.HEADER_INVALID

    def __init__(self) -> None:
        super().__init__(f"a statement file is served as {PDF} only", "Accept")


def accepts_pdf(accept: str | None) -> bool:
    """Whether an `Accept` header admits a PDF (RFC 9110 s12.5.1); no header admits what the endpoint serves."""
    if accept is None or not accept.strip():
        return True
    for part in accept.split(","):
        media, *parameters = (piece.strip().lower() for piece in part.split(";"))
        quality = next((value for name, _, value in (p.partition("=") for p in parameters) if name == "q"), "1")
        if media in _PDF_RANGES and _QVALUE.fullmatch(quality.strip()) and float(quality) > 0:
            return True
    return False


class StatementFileRoute(APIRoute):
    """The statement file: Accept negotiated for a PDF before anything else is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def negotiated(request: Request) -> Response:
            if not accepts_pdf(request.headers.get("accept")):
                raise StatementFileNotAcceptable
            return await handler(request)

        return negotiated


@router.get(
    "/statements",
    operation_id="GetStatements",
    tags=["Statements"],
    summary="Get Statements",
    response_model=OBReadStatement2,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_statements(
    reader: AccountsReader,
    core_banking: CoreBankingDep,
    self_url: SelfUrlDep,
    statements_from: FromStatement = None,
    statements_to: ToStatement = None,
) -> OBReadStatement2:
    """The statements of every account of the consent, account by account, oldest first."""
    period = Window.of(statements_from, statements_to, start_name=FROM, end_name=TO)
    found = await information.statements(core_banking, reader, None, period)
    return OBReadStatement2(Data=OBReadDataStatement2(Statement=found), **one_page(self_url))


@router.get(
    "/accounts/{AccountId}/statements",
    operation_id="GetAccountsAccountIdStatements",
    tags=["Statements"],
    summary="Get Statements",
    response_model=OBReadStatement2,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_statements(
    account_id: AccountIdPath,
    reader: AccountsReader,
    core_banking: CoreBankingDep,
    self_url: SelfUrlDep,
    statements_from: FromStatement = None,
    statements_to: ToStatement = None,
) -> OBReadStatement2:
    """The account's monthly statements, oldest first, the current month to date."""
    period = Window.of(statements_from, statements_to, start_name=FROM, end_name=TO)
    covered = information.covered_account(account_id)
    found = await information.statements(core_banking, reader, covered, period)
    return OBReadStatement2(Data=OBReadDataStatement2(Statement=found), **one_page(self_url))


@router.get(
    "/accounts/{AccountId}/statements/{StatementId}",
    operation_id="GetAccountsAccountIdStatementsStatementId",
    tags=["Statements"],
    summary="Get Statements",
    response_model=OBReadStatement2,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_statement(
    account_id: AccountIdPath,
    statement_id: StatementIdPath,
    reader: AccountsReader,
    core_banking: CoreBankingDep,
    self_url: SelfUrlDep,
) -> OBReadStatement2:
    """One monthly statement; its id is its month, `YYYY-MM`."""
    covered = information.covered_account(account_id)
    found = await information.statement(core_banking, reader, covered, statement_id)
    return OBReadStatement2(Data=OBReadDataStatement2(Statement=[found]), **one_page(self_url))


async def get_account_statement_file(
    account_id: AccountIdPath, statement_id: StatementIdPath, reader: AccountsReader, core_banking: CoreBankingDep
) -> Response:
    """The statement as a PDF (ReadStatementsDetail)."""
    covered = information.covered_account(account_id)
    pdf = await information.statement_file(core_banking, reader, covered, statement_id)
    disposition = f'attachment; filename="statement-{statement_id}.pdf"'
    return Response(content=pdf, media_type=PDF, headers={"content-disposition": disposition})


router.add_api_route(
    "/accounts/{AccountId}/statements/{StatementId}/file",
    get_account_statement_file,
    methods=["GET"],
    operation_id="GetAccountsAccountIdStatementsStatementIdFile",
    summary="Get Statements",
    tags=["Statements"],
    response_class=Response,
    responses={
        200: {
            "description": "The statement as a PDF",
            "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
        },
        **READ_ERRORS,
    },
    route_class_override=StatementFileRoute,
)
