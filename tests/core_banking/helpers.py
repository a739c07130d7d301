"""Shared helpers: onboarding through the services, and the ledger's invariants as SQL."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from audit.trail import units_of_work
from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import AccountType
from core_banking.accounts.schemas import AccountOpen, AccountRecord
from core_banking.customers import service as customers_service
from core_banking.customers.models import KycStatus
from core_banking.customers.schemas import Address, CustomerCreate, CustomerRecord
from core_banking.ledger import service as ledger_service
from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing
from obank.database import unit_of_work
from obank.money import Money

STAFF = Actor(ActorKind.STAFF, "staff-test")


def customer_data(**overrides: Any) -> CustomerCreate:
    values: dict[str, Any] = {
        "full_name": "Ada Lovelace",
        "email": f"ada.{uuid.uuid4().hex[:10]}@example.com",
        "phone": "+447700900123",
        "date_of_birth": date(1985, 12, 10),
        "address": Address(lines=["12 Analytical Row"], city="London", postcode="NW1 6XE", country="GB"),
        "national_id": "QQ998877C",
    }
    values.update(overrides)
    return CustomerCreate(**values)


async def new_customer(
    sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, *, verified: bool = True, **overrides: Any
) -> CustomerRecord:
    async with units_of_work(sessions, keyring).begin(STAFF) as uow:
        customer = await customers_service.create_customer(uow, customer_data(**overrides))
        if verified:
            customer = await customers_service.set_kyc_status(uow, customer.id, KycStatus.VERIFIED)
        return customer


async def new_account(
    sessions: async_sessionmaker[AsyncSession],
    keyring: KeyRing,
    customer_id: uuid.UUID,
    *,
    currency: str = "GBP",
    account_type: AccountType = AccountType.CHECKING,
    funded_minor: int = 0,
    **limits: int,
) -> AccountRecord:
    async with units_of_work(sessions, keyring).begin(STAFF) as uow:
        account = await accounts_service.open_account(
            uow, customer_id, AccountOpen(account_type=account_type, currency=currency, **limits)
        )
        if funded_minor:
            await ledger_service.deposit(uow, account.id, Money(funded_minor, currency), description="Funding")
        return await accounts_service.get_account(uow.session, account.id)


async def account(sessions: async_sessionmaker[AsyncSession], account_id: uuid.UUID) -> AccountRecord:
    async with unit_of_work(sessions) as session:
        return await accounts_service.get_account(session, account_id)


# Each query lists what breaks one invariant of the book of record; all must come back empty.
INVARIANT_QUERIES = {
    "postings of a currency do not sum to zero": """
        SELECT currency, sum(amount_minor) FROM core_banking.postings GROUP BY currency HAVING sum(amount_minor) <> 0
    """,
    "an entry does not balance": """
        SELECT entry_id, currency FROM core_banking.postings
        GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0
    """,
    "cached balance differs from the sum of postings": """
        SELECT a.id, a.booked_balance_minor, coalesce(sum(p.amount_minor), 0)
        FROM core_banking.accounts a LEFT JOIN core_banking.postings p ON p.account_id = a.id
        GROUP BY a.id HAVING a.booked_balance_minor <> coalesce(sum(p.amount_minor), 0)
    """,
    "last running balance differs from the cached balance": """
        SELECT a.id FROM core_banking.accounts a
        JOIN LATERAL (
            SELECT balance_after_minor FROM core_banking.postings p WHERE p.account_id = a.id ORDER BY p.id DESC LIMIT 1
        ) last ON true
        WHERE last.balance_after_minor <> a.booked_balance_minor
    """,
    "cached holds differ from the open holds": """
        SELECT a.id FROM core_banking.accounts a
        LEFT JOIN core_banking.holds h ON h.account_id = a.id AND h.status = 'OPEN'
        GROUP BY a.id HAVING a.held_minor <> coalesce(sum(h.amount_minor), 0)
    """,
    "a customer account is beyond its overdraft": """
        SELECT id FROM core_banking.accounts
        WHERE kind = 'CUSTOMER' AND booked_balance_minor + overdraft_limit_minor - held_minor < 0
    """,
    "a closed account holds money": """
        SELECT id FROM core_banking.accounts WHERE status = 'CLOSED' AND (booked_balance_minor <> 0 OR held_minor <> 0)
    """,
}


async def ledger_problems(connection: AsyncConnection) -> list[str]:
    """Every broken invariant, described; empty when the ledger is consistent."""
    problems = []
    for description, query in INVARIANT_QUERIES.items():
        rows = (await connection.execute(text(query))).all()
        if rows:
            problems.append(f"{description}: {rows}")
    return problems


async def count(connection: AsyncConnection, query: str, **params: Any) -> int:
    value = (await connection.execute(text(query), params)).scalar_one()
    return int(value)
