"""First-party API for a customer's own accounts (scope `accounts`): accounts, balances, transactions; and
staff's view of any account's transactions (`staff_router`, any staff role)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from core_banking.accounts import service as accounts_service
from core_banking.accounts.schemas import AccountRead
from core_banking.dependencies import AccountsReader, AnyStaff
from core_banking.errors import PROBLEM_RESPONSES
from core_banking.history import service
from core_banking.history.schemas import BalancesAt, BalancesAtRead, Direction, TransactionFilter, TransactionPageRead
from core_banking.ledger.periods import MONTH_PATTERN, Month
from obank.database import ReadsDep, SessionDep
from obank.inputs import BoundedDate, BoundedDateTime
from obank.runtime import KeyRingDep

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"], responses=PROBLEM_RESPONSES)
staff_router = APIRouter(prefix="/admin/v1/accounts", tags=["admin: accounts"], responses=PROBLEM_RESPONSES)

AmountBound = Annotated[int | None, Query(ge=1, le=10**15)]
_CURSOR_REFUSED: dict[int | str, dict[str, Any]] = {
    400: {**PROBLEM_RESPONSES[422], "description": "The cursor was not issued for this account"}
}


@dataclass(frozen=True, slots=True)
class TransactionQuery:
    """Which lines of an account's history to list, and where the page starts."""

    lines: TransactionFilter
    cursor: str | None
    limit: int


async def transaction_query(
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM, in the bank's time zone")] = None,
    from_date: Annotated[BoundedDate | None, Query(description="First bank day, inclusive")] = None,
    to_date: Annotated[BoundedDate | None, Query(description="Last bank day, inclusive")] = None,
    direction: Direction | None = None,
    min_amount_minor: AmountBound = None,
    max_amount_minor: AmountBound = None,
) -> TransactionQuery:
    """The history filters and paging both the customer's and the staff's route take."""
    booked_from, booked_before = service.booking_window(Month.parse(month) if month else None, from_date, to_date)
    lines = TransactionFilter(booked_from, booked_before, direction, min_amount_minor, max_amount_minor)
    return TransactionQuery(lines, cursor, limit)


TransactionQueryDep = Annotated[TransactionQuery, Depends(transaction_query)]


@router.get("")
async def list_accounts(caller: AccountsReader, session: SessionDep) -> list[AccountRead]:
    """The caller's accounts, oldest first, closed ones included."""
    return [AccountRead.from_record(record) for record in await service.list_accounts(session, caller.customer_id)]


@router.get("/{account_id}")
async def get_account(account_id: uuid.UUID, caller: AccountsReader, session: SessionDep) -> AccountRead:
    """One of the caller's accounts with its balances."""
    return AccountRead.from_record(await service.owned_account(session, caller.customer_id, account_id))


@router.get("/{account_id}/balances", response_model=BalancesAtRead)
async def get_balances(
    account_id: uuid.UUID,
    caller: AccountsReader,
    reads: ReadsDep,
    as_of: Annotated[
        BoundedDateTime | None, Query(description="A past moment (with its UTC offset); default now")
    ] = None,
) -> Response:
    """Booked, available and pending balances, now or at a past moment."""
    if as_of is None:  # the accounts row alone: one statement, no transaction around it
        async with reads.statement() as connection:
            balances = await accounts_service.owned_balances(connection, caller.customer_id, account_id)
        at = BalancesAt(account_id, datetime.now(UTC), balances)
    else:  # postings and holds of a past moment: statements that must see one snapshot
        async with reads.transaction() as session:
            at = await service.balances_at(session, caller.customer_id, account_id, as_of)
    # Serialized by the model itself: the document `response_model` declares, without a second validation pass.
    return Response(BalancesAtRead.from_balances(at).model_dump_json(), media_type="application/json")


@router.get("/{account_id}/transactions", responses=_CURSOR_REFUSED)
async def list_transactions(
    account_id: uuid.UUID,
    caller: AccountsReader,
    session: SessionDep,
    keyring: KeyRingDep,
    query: TransactionQueryDep,
) -> TransactionPageRead:
    """The account's transactions newest first, each with the running balance after it; pages stay stable."""
    page = await service.transactions(
        session, keyring, caller.customer_id, account_id, query.lines, cursor=query.cursor, limit=query.limit
    )
    return TransactionPageRead.from_page(page)


@staff_router.get("/{account_id}/transactions", responses=_CURSOR_REFUSED)
async def list_account_transactions(
    account_id: uuid.UUID,
    staff: AnyStaff,
    session: SessionDep,
    keyring: KeyRingDep,
    query: TransactionQueryDep,
) -> TransactionPageRead:
    """Any account's transactions newest first, as its customer sees them (same filters and paging)."""
    page = await service.account_transactions(
        session, keyring, account_id, query.lines, cursor=query.cursor, limit=query.limit
    )
    return TransactionPageRead.from_page(page)
