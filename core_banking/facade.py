"""core_banking's public interface for other contexts: typed functions over the caller's session."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from audit.schemas import ActorKind
from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.schemas import AccountRecord, Balances
from core_banking.auditing import Actor
from core_banking.consents import service as consents_service
from core_banking.consents.errors import (
    ConsentExpired,
    ConsentNotAwaitingAuthorisation,
    ConsentNotFound,
    ConsentNotRevocable,
    InvalidConsent,
    InvalidConsentAccounts,
)
from core_banking.consents.models import ConsentKind, ConsentStatus
from core_banking.consents.schemas import (
    AccountAccessDetails,
    ConsentRecord,
    CreditorAccount,
    CreditorScheme,
    DomesticPaymentDetails,
    Permission,
)
from core_banking.customers import service as customers_service
from core_banking.customers.schemas import CustomerRecord
from obank.crypto import KeyRing

__all__ = [
    "AccountAccessDetails",
    "AccountNotFound",
    "AccountRecord",
    "Balances",
    "ConsentExpired",
    "ConsentKind",
    "ConsentNotAwaitingAuthorisation",
    "ConsentNotFound",
    "ConsentNotRevocable",
    "ConsentRecord",
    "ConsentStatus",
    "CreditorAccount",
    "CreditorScheme",
    "CustomerRecord",
    "DomesticPaymentDetails",
    "InvalidConsent",
    "InvalidConsentAccounts",
    "Permission",
    "authorise_consent",
    "create_account_access_consent",
    "create_domestic_payment_consent",
    "customer_exists",
    "customer_owns_account",
    "find_customer_by_email",
    "get_account",
    "get_balances",
    "get_consent",
    "get_customer",
    "list_customer_accounts",
    "reject_consent",
    "revoke_consent",
]


async def get_customer(session: AsyncSession, keyring: KeyRing, customer_id: uuid.UUID) -> CustomerRecord:
    """The customer with personal data decrypted; raises CustomerNotFound."""
    return await customers_service.get_customer(session, keyring, customer_id)


async def customer_exists(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    """Whether `customer_id` names a customer, without opening any personal data."""
    return await customers_service.customer_exists(session, customer_id)


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


# Open Banking consents: the authorization server reads them and records the customer's decision.


async def create_account_access_consent(
    session: AsyncSession, keyring: KeyRing, client_id: str, details: AccountAccessDetails
) -> ConsentRecord:
    """An account access consent the TPP `client_id` asks for, awaiting the customer."""
    actor = Actor(ActorKind.CLIENT, client_id, client_id)
    return await consents_service.create_account_access_consent(session, keyring, actor, client_id, details)


async def create_domestic_payment_consent(
    session: AsyncSession, keyring: KeyRing, client_id: str, details: DomesticPaymentDetails
) -> ConsentRecord:
    """A domestic payment consent the TPP `client_id` asks for, awaiting the customer."""
    actor = Actor(ActorKind.CLIENT, client_id, client_id)
    return await consents_service.create_domestic_payment_consent(session, keyring, actor, client_id, details)


async def get_consent(session: AsyncSession, consent_id: str) -> ConsentRecord:
    """A consent's kind, owning client, status and details; raises ConsentNotFound."""
    return await consents_service.get_consent(session, consent_id)


async def authorise_consent(
    session: AsyncSession,
    keyring: KeyRing,
    consent_id: str,
    *,
    customer_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID],
    session_id: str | None = None,
) -> ConsentRecord:
    """The customer authorised the consent over the chosen accounts; raises if it cannot be."""
    consent = await consents_service.get_consent(session, consent_id)
    actor = Actor(ActorKind.CUSTOMER, str(customer_id), consent.client_id, session_id)
    return await consents_service.authorise_consent(
        session, keyring, actor, consent_id, customer_id=customer_id, account_ids=account_ids
    )


async def reject_consent(
    session: AsyncSession,
    keyring: KeyRing,
    consent_id: str,
    *,
    customer_id: uuid.UUID | None = None,
    session_id: str | None = None,
) -> ConsentRecord:
    """The customer refused the consent (or the authorization ended without approval)."""
    consent = await consents_service.get_consent(session, consent_id)
    actor = (
        Actor(ActorKind.CUSTOMER, str(customer_id), consent.client_id, session_id)
        if customer_id is not None
        else Actor(ActorKind.SYSTEM, "auth_server", consent.client_id)
    )
    return await consents_service.reject_consent(session, keyring, actor, consent_id, customer_id=customer_id)


async def revoke_consent(
    session: AsyncSession,
    keyring: KeyRing,
    consent_id: str,
    *,
    customer_id: uuid.UUID,
    session_id: str | None = None,
) -> ConsentRecord:
    """The customer withdrew an authorised account access consent."""
    consent = await consents_service.get_consent(session, consent_id)
    if consent.customer_id != customer_id:
        raise ConsentNotFound(consent_id)
    actor = Actor(ActorKind.CUSTOMER, str(customer_id), consent.client_id, session_id)
    return await consents_service.revoke_consent(session, keyring, actor, consent_id)
