"""Staff search for customers: by name or email through their keyed hashes, or by an account's identifiers.

Nothing is decrypted to search: names and emails are found by keyed hash (`customers.pii`), accounts by their
clear identifiers. Only the matched customers' names are opened, to show them.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.customer_search import repository
from core_banking.customer_search.errors import InvalidCustomerSearch
from core_banking.customer_search.schemas import (
    SEARCH_MAX,
    AccountSummary,
    CustomerSearch,
    CustomerSummary,
    SearchKey,
)
from core_banking.customers import pii
from core_banking.customers import service as customers_service
from core_banking.customers.models import Customer
from obank.crypto import KeyRing

_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$")
_SORT_CODE = re.compile(r"^[0-9]{6}$")
_ACCOUNT_NUMBER = re.compile(r"^[0-9]{8}$")


def customer_search(
    *,
    name: str | None = None,
    email: str | None = None,
    iban: str | None = None,
    sort_code: str | None = None,
    account_number: str | None = None,
) -> CustomerSearch:
    """The one way of searching the caller gave, normalised; InvalidCustomerSearch for none, several, or a bad one."""
    ways = [
        way
        for way, given in (
            ("name", name is not None),
            ("email", email is not None),
            ("iban", iban is not None),
            ("sort_code", sort_code is not None or account_number is not None),
        )
        if given
    ]
    if len(ways) != 1:
        given = ", ".join(ways) if ways else "none"
        raise InvalidCustomerSearch(f"give exactly one way of searching (given: {given})", field="query")
    if name is not None:
        normal = pii.normalise_name(name)
        if not normal:
            raise InvalidCustomerSearch("a name is needed", field="name")
        return CustomerSearch(SearchKey.NAME, normal)
    if email is not None:
        normal = pii.normalise_email(email)
        if not normal:
            raise InvalidCustomerSearch("an email is needed", field="email")
        return CustomerSearch(SearchKey.EMAIL, normal)
    if iban is not None:
        compact = "".join(iban.split()).upper()
        if not _IBAN.match(compact):
            raise InvalidCustomerSearch("not an IBAN", field="iban")
        return CustomerSearch(SearchKey.IBAN, compact)
    if sort_code is None or account_number is None:
        missing = "account_number" if account_number is None else "sort_code"
        raise InvalidCustomerSearch("sort_code and account_number are given together", field=missing)
    code = "".join(sort_code.split()).replace("-", "")
    if not _SORT_CODE.match(code):
        raise InvalidCustomerSearch("six digits, with or without dashes", field="sort_code")
    number = "".join(account_number.split())
    if not _ACCOUNT_NUMBER.match(number):
        raise InvalidCustomerSearch("eight digits", field="account_number")
    return CustomerSearch(SearchKey.ACCOUNT, code, number)


async def search_customers(session: AsyncSession, keyring: KeyRing, search: CustomerSearch) -> list[CustomerSummary]:
    """The customers the search finds (at most SEARCH_MAX, oldest first), each with their accounts."""
    customers: list[Customer]
    if search.key is SearchKey.NAME:
        hashes = pii.name_hashes(keyring, search.value)
        customers = list(await repository.customers_by_name_hashes(session, hashes, SEARCH_MAX))
    elif search.key is SearchKey.EMAIL:
        customers = list(await repository.customers_by_email_hashes(session, pii.email_hashes(keyring, search.value)))
    elif search.key is SearchKey.IBAN:
        customers = list(await repository.customers_holding(session, iban=search.value))
    else:
        customers = list(
            await repository.customers_holding(session, sort_code=search.value, account_number=search.account_number)
        )
    if not customers:
        return []
    accounts: dict[uuid.UUID, list[AccountSummary]] = defaultdict(list)
    for account in await repository.accounts_of(session, [customer.id for customer in customers]):
        assert account.customer_id is not None
        accounts[account.customer_id].append(
            AccountSummary(account.id, account.iban, account.sort_code, account.account_number, account.status)
        )
    return [
        CustomerSummary(
            id=customer.id,
            full_name=customers_service.full_name_of(keyring, customer),
            kyc_status=customer.kyc_status,
            created_at=customer.created_at,
            accounts=tuple(accounts[customer.id]),
        )
        for customer in customers
    ]
