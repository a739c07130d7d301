"""core_banking's public interface for other contexts: typed commands and records, never the caller's session.

`CoreBanking` is the contract. `InProcessCoreBanking` runs each call in a transaction of its own in this
process; `core_banking.internal.client.HttpCoreBanking` makes the same calls over internal HTTP to a
core_banking process. `connect(platform)` picks one by `OBANK_UPSTREAM_CORE_BANKING_URL`. Each side commits
its own work; the commands are idempotent, so a caller that retries after a failure gets the first result.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.schemas import AccountRecord, Balances
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
from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing
from obank.database import unit_of_work
from obank.runtime import Platform

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
    "CoreBanking",
    "CreditorAccount",
    "CreditorScheme",
    "CustomerRecord",
    "DomesticPaymentDetails",
    "InProcessCoreBanking",
    "InvalidConsent",
    "InvalidConsentAccounts",
    "Permission",
    "connect",
]


class CoreBanking(Protocol):
    """What other contexts ask of core banking: consents to show and decide, a customer's accounts."""

    async def customer_exists(self, customer_id: uuid.UUID) -> bool:
        """Whether `customer_id` names a customer, without opening any personal data."""

    async def list_customer_accounts(self, customer_id: uuid.UUID) -> list[AccountRecord]:
        """Every account of the customer, oldest first, closed ones included."""

    async def get_consent(self, consent_id: str) -> ConsentRecord:
        """A consent's kind, owning client, status and details; raises ConsentNotFound."""

    async def authorise_consent(
        self,
        consent_id: str,
        *,
        customer_id: uuid.UUID,
        account_ids: Sequence[uuid.UUID],
        session_id: str | None = None,
    ) -> ConsentRecord:
        """The customer authorised the consent over the chosen accounts; again with the same answer: the same."""

    async def reject_consent(
        self, consent_id: str, *, customer_id: uuid.UUID | None = None, session_id: str | None = None
    ) -> ConsentRecord:
        """The customer refused the consent (or the authorization ended without approval); idempotent."""

    async def revoke_consent(
        self, consent_id: str, *, customer_id: uuid.UUID, session_id: str | None = None
    ) -> ConsentRecord:
        """The customer withdrew an authorised account access consent; idempotent."""

    async def close(self) -> None:
        """Release connections."""


def _customer_actor(consent: ConsentRecord, customer_id: uuid.UUID, session_id: str | None) -> Actor:
    return Actor(ActorKind.CUSTOMER, str(customer_id), consent.client_id, session_id)


class InProcessCoreBanking:
    """`CoreBanking` in this process: each call is a transaction of its own, committed before it returns."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], keyring: KeyRing) -> None:
        self._sessions = sessions
        self._keyring = keyring

    async def customer_exists(self, customer_id: uuid.UUID) -> bool:
        async with unit_of_work(self._sessions) as session:
            return await customers_service.customer_exists(session, customer_id)

    async def get_customer(self, customer_id: uuid.UUID) -> CustomerRecord:
        """The customer with personal data decrypted; raises CustomerNotFound."""
        async with unit_of_work(self._sessions) as session:
            return await customers_service.get_customer(session, self._keyring, customer_id)

    async def find_customer_by_email(self, email: str) -> CustomerRecord | None:
        """The customer registered with `email`, if any."""
        async with unit_of_work(self._sessions) as session:
            return await customers_service.find_by_email(session, self._keyring, email)

    async def list_customer_accounts(self, customer_id: uuid.UUID) -> list[AccountRecord]:
        async with unit_of_work(self._sessions) as session:
            return await accounts_service.list_customer_accounts(session, customer_id)

    async def get_account(self, account_id: uuid.UUID) -> AccountRecord:
        """One account; raises AccountNotFound."""
        async with unit_of_work(self._sessions) as session:
            return await accounts_service.get_account(session, account_id)

    async def get_balances(self, account_id: uuid.UUID) -> Balances:
        """Booked, available and pending balances of one account; raises AccountNotFound."""
        return (await self.get_account(account_id)).balances

    async def customer_owns_account(self, customer_id: uuid.UUID, account_id: uuid.UUID) -> bool:
        """Whether the account exists and belongs to the customer."""
        try:
            account = await self.get_account(account_id)
        except AccountNotFound:
            return False
        return account.customer_id == customer_id

    async def create_account_access_consent(self, client_id: str, details: AccountAccessDetails) -> ConsentRecord:
        """An account access consent the TPP `client_id` asks for, awaiting the customer."""
        actor = Actor(ActorKind.CLIENT, client_id, client_id)
        async with unit_of_work(self._sessions) as session:
            return await consents_service.create_account_access_consent(
                session, self._keyring, actor, client_id, details
            )

    async def create_domestic_payment_consent(self, client_id: str, details: DomesticPaymentDetails) -> ConsentRecord:
        """A domestic payment consent the TPP `client_id` asks for, awaiting the customer."""
        actor = Actor(ActorKind.CLIENT, client_id, client_id)
        async with unit_of_work(self._sessions) as session:
            return await consents_service.create_domestic_payment_consent(
                session, self._keyring, actor, client_id, details
            )

    async def get_consent(self, consent_id: str) -> ConsentRecord:
        async with unit_of_work(self._sessions) as session:
            return await consents_service.get_consent(session, consent_id)

    async def authorise_consent(
        self,
        consent_id: str,
        *,
        customer_id: uuid.UUID,
        account_ids: Sequence[uuid.UUID],
        session_id: str | None = None,
    ) -> ConsentRecord:
        async with unit_of_work(self._sessions) as session:
            consent = await consents_service.get_consent(session, consent_id)
            return await consents_service.authorise_consent(
                session,
                self._keyring,
                _customer_actor(consent, customer_id, session_id),
                consent_id,
                customer_id=customer_id,
                account_ids=account_ids,
            )

    async def reject_consent(
        self, consent_id: str, *, customer_id: uuid.UUID | None = None, session_id: str | None = None
    ) -> ConsentRecord:
        async with unit_of_work(self._sessions) as session:
            consent = await consents_service.get_consent(session, consent_id)
            actor = (
                _customer_actor(consent, customer_id, session_id)
                if customer_id is not None
                else Actor(ActorKind.SYSTEM, "auth_server", consent.client_id)
            )
            return await consents_service.reject_consent(
                session, self._keyring, actor, consent_id, customer_id=customer_id
            )

    async def revoke_consent(
        self, consent_id: str, *, customer_id: uuid.UUID, session_id: str | None = None
    ) -> ConsentRecord:
        async with unit_of_work(self._sessions) as session:
            consent = await consents_service.get_consent(session, consent_id)
            if consent.customer_id != customer_id:
                raise ConsentNotFound(consent_id)
            actor = _customer_actor(consent, customer_id, session_id)
            return await consents_service.revoke_consent(session, self._keyring, actor, consent_id)

    async def close(self) -> None:
        return None


def connect(platform: Platform) -> CoreBanking:
    """Core banking as this process reaches it: over HTTP when it runs elsewhere, else in this process."""
    settings = platform.settings
    if settings.upstream_core_banking_url:
        from core_banking.internal.client import HttpCoreBanking

        return HttpCoreBanking.from_settings(settings)
    return InProcessCoreBanking(platform.sessions, platform.keyring)
