"""Admin API: staff search for customers (any staff role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core_banking.customer_search import service
from core_banking.customer_search.schemas import CustomerSummaryRead
from core_banking.dependencies import AnyStaff
from core_banking.errors import PROBLEM_RESPONSES
from obank.database import SessionDep
from obank.runtime import KeyRingDep

router = APIRouter(prefix="/admin/v1/customers", tags=["admin: customers"], responses=PROBLEM_RESPONSES)


@router.get("")
async def search_customers(
    staff: AnyStaff,
    session: SessionDep,
    keyring: KeyRingDep,
    name: Annotated[
        str | None, Query(min_length=1, max_length=140, description="The full name (case and spacing ignored)")
    ] = None,
    email: Annotated[str | None, Query(min_length=1, max_length=254, description="The email address")] = None,
    iban: Annotated[
        str | None, Query(min_length=5, max_length=50, description="An account's IBAN (spaces and case ignored)")
    ] = None,
    sort_code: Annotated[
        str | None, Query(min_length=6, max_length=8, description="An account's sort code (dashes optional)")
    ] = None,
    account_number: Annotated[
        str | None, Query(min_length=8, max_length=8, description="With sort_code: the account number")
    ] = None,
) -> list[CustomerSummaryRead]:
    """Customers found by exactly one of: name, email, IBAN, or sort code and account number; with their accounts.

    Exact matches only (names and emails are looked up by keyed hash, never by reading personal data); none found
    is an empty list.
    """
    search = service.customer_search(
        name=name, email=email, iban=iban, sort_code=sort_code, account_number=account_number
    )
    return [
        CustomerSummaryRead.from_summary(found) for found in await service.search_customers(session, keyring, search)
    ]
