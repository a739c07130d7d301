"""Transactions of the consent's accounts, a page at a time, filtered by booking date."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request

from open_banking import schemas as envelope
from open_banking.aisp.auth import AccountsReader, ConsentReader
from open_banking.aisp.errors import PAGE_PARAMETER
from open_banking.aisp.queries import TransactionsPerPage, Window, page_links
from open_banking.aisp.router.common import READ_ERRORS, AccountIdPath, router
from open_banking.aisp.schemas import OBReadTransaction6
from open_banking.aisp.schemas.transactions import OBReadDataTransaction6
from open_banking.aisp.service import information
from open_banking.dependencies import CoreBankingDep, SelfUrlDep

FROM, TO = "fromBookingDateTime", "toBookingDateTime"
# Declared as text: the profile's forms (a date alone, a time zone to ignore) are read by `query_moment`.
FromBooking = Annotated[
    str | None, Query(alias=FROM, max_length=64, description="Lines booked at or after this UTC date-time.")
]
ToBooking = Annotated[
    str | None, Query(alias=TO, max_length=64, description="Lines booked at or before this UTC date-time.")
]
Page = Annotated[
    str | None,
    Query(alias=PAGE_PARAMETER, max_length=512, description="An opaque cursor from Links.Next or Links.Prev."),
]


async def _page(
    request: Request,
    self_url: str,
    core_banking: CoreBankingDep,
    reader: ConsentReader,
    account_id: uuid.UUID | None,
    window: tuple[str | None, str | None],
    cursor: str | None,
    per_page: int,
) -> OBReadTransaction6:
    booked = Window.of(*window, start_name=FROM, end_name=TO)
    found, page = await information.transactions(core_banking, reader, account_id, booked, cursor, per_page)
    links = page_links(request, self_url, page, {FROM: window[0], TO: window[1]})
    # Cursor pages: how many there are is not known, so Meta.TotalPages is left out.
    return OBReadTransaction6(Data=OBReadDataTransaction6(Transaction=found), Links=links, Meta=envelope.Meta())


@router.get(
    "/transactions",
    operation_id="GetTransactions",
    tags=["Transactions"],
    summary="Get Transactions",
    response_model=OBReadTransaction6,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_transactions(
    reader: AccountsReader,
    core_banking: CoreBankingDep,
    request: Request,
    self_url: SelfUrlDep,
    per_page: TransactionsPerPage,
    booked_from: FromBooking = None,
    booked_to: ToBooking = None,
    page: Page = None,
) -> OBReadTransaction6:
    """One page of the lines of every account of the consent, newest first."""
    return await _page(request, self_url, core_banking, reader, None, (booked_from, booked_to), page, per_page)


@router.get(
    "/accounts/{AccountId}/transactions",
    operation_id="GetAccountsAccountIdTransactions",
    tags=["Transactions"],
    summary="Get Transactions",
    response_model=OBReadTransaction6,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_transactions(
    account_id: AccountIdPath,
    reader: AccountsReader,
    core_banking: CoreBankingDep,
    request: Request,
    self_url: SelfUrlDep,
    per_page: TransactionsPerPage,
    booked_from: FromBooking = None,
    booked_to: ToBooking = None,
    page: Page = None,
) -> OBReadTransaction6:
    """One page of the account's lines, newest first."""
    covered = information.covered_account(account_id)
    return await _page(request, self_url, core_banking, reader, covered, (booked_from, booked_to), page, per_page)
