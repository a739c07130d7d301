"""core_banking's public interface for other contexts: typed functions over the caller's session."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.schemas import AccountRecord, Balances
from core_banking.customers import service as customers_service
from core_banking.customers.schemas import CustomerRecord
from obank.crypto import KeyRing

__all__ = [
    "AccountNotFound",
    "AccountRecord",
    "Balances",
    "CustomerRecord",
    "customer_owns_account",
    "find_customer_by_email",
    "get_account",
    "get_balances",
    "get_customer",
    "list_customer_accounts",
]


async def get_customer(session: AsyncSession, keyring: KeyRing, customer_id: uuid.UUID) -> CustomerRecord:
    """The customer with personal data decrypted; raises CustomerNotFound."""
    return await customers_service.get_customer(session, keyring, customer_id)


async def find_customer_by_email(session: AsyncSession, keyring: KeyRing, email: str) -> CustomerRecord | None:
    """The customer registered with `email`, if any."""
    return await customers_service.find_by_email(session, keyring, email)


async def list_customer_accounts(session: AsyncSession, customer_id: uuid.UUID) -> list[AccountRecord]:
    """Every account of the customer, oldest first, closed ones included."""
    return await accounts_service.list_customer_accounts(session, customer_id)


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> AccountRecord:
    """One account; raises AccountNotFound."""
    return await accounts_service.get_account(session, account_id)


async def get_balances(session: AsyncSession, account_id: uuid.UUID) -> Balances:
    """Booked, available and pending balances of one account; raises AccountNotFound."""
    return (await accounts_service.get_account(session, account_id)).balances


async def customer_owns_account(session: AsyncSession, customer_id: uuid.UUID, account_id: uuid.UUID) -> bool:
    """Whether the account exists and belongs to the customer."""
    try:
        account = await accounts_service.get_account(session, account_id)
    except AccountNotFound:
        return False
    return account.customer_id == customer_id
