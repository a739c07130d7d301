"""core_banking's public interface for other contexts: typed commands and records, never the caller's session.

`CoreBanking` is the contract. `InProcessCoreBanking` runs each call in a transaction of its own in this
process; `core_banking.internal.client.HttpCoreBanking` makes the same calls over internal HTTP to a
core_banking process. `connect(platform)` picks one by `OBANK_UPSTREAM_CORE_BANKING_URL`. Each side commits
its own work; the commands are idempotent, so a caller that retries after a failure gets the first result.

Open Banking (`open_banking`) creates and deletes its TPPs' consents here, confirms funds, and reads account
information through a consent: every read checks that the consent is the TPP's, in force and covering the
account and the data asked for. Core banking stays the owner of consents and accounts.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.trail import units_of_work
from core_banking.account_information import service as information_service
from core_banking.account_information.schemas import (
    AccountBalances,
    BeneficiaryRecord,
    PartyRecord,
    StatementRecord,
)
from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountClosed, AccountFrozen, AccountNotFound
from core_banking.accounts.schemas import AccountRecord, Balances
from core_banking.consents import service as consents_service
from core_banking.consents.errors import (
    AccountNotInConsent,
    ConsentExpired,
    ConsentNotAuthorised,
    ConsentNotAwaitingAuthorisation,
    ConsentNotFound,
    ConsentNotRevocable,
    InvalidConsent,
    InvalidConsentAccounts,
    PermissionNotGranted,
)
from core_banking.consents.models import PAYMENT_KINDS, ConsentKind, ConsentStatus, RevokedBy
from core_banking.consents.schemas import (
    AccountAccessDetails,
    ConsentRecord,
    CreditorAccount,
    CreditorScheme,
    DebtorAccount,
    DebtorScheme,
    DomesticPaymentDetails,
    FundsAvailability,
    FundsConfirmationDetails,
    PaymentOrderDetails,
    Permission,
    PsuContext,
)
from core_banking.customers import service as customers_service
from core_banking.customers.errors import CustomerNotFound
from core_banking.customers.schemas import Address, CustomerContact, CustomerRecord
from core_banking.errors import revive
from core_banking.funds_confirmations import service as funds_service
from core_banking.funds_confirmations.errors import InvalidFundsConfirmation
from core_banking.funds_confirmations.schemas import FundsConfirmationRecord
from core_banking.history.errors import InvalidCursor, InvalidFilter
from core_banking.history.schemas import Direction, PendingLine, TransactionLine, TransactionPage
from core_banking.idempotency.errors import IdempotencyKeyReused
from core_banking.idempotency.service import IdempotentOutcome, execute_once, request_fingerprint
from core_banking.ledger.errors import InsufficientFunds, LimitExceeded, SameAccount
from core_banking.payment_orders import service as payment_orders_service
from core_banking.payment_orders.errors import InvalidPaymentOrder, PaymentOrderEnded, PaymentOrderNotFound
from core_banking.payment_orders.models import OrderKind, OrderStatus, RunOutcome
from core_banking.payment_orders.schedule import Frequency
from core_banking.payment_orders.schemas import OrderRecord, OrderRequest, OrderRun
from core_banking.payments import service as payments_service
from core_banking.payments.errors import InvalidPayment, PaymentNotFound, PaymentNotHeld
from core_banking.payments.schemas import PaymentInitiation, PaymentRecord, PaymentStatus, StatusChange
from core_banking.statements.errors import StatementNotFound
from core_banking.statements.pdf_statement import render_pdf
from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing
from obank.database import create_sessionmaker, unit_of_work
from obank.money import Money
from obank.revocation import RevocationList
from obank.runtime import Platform
from obank.unit_of_work import UnitOfWork

__all__ = [
    "PAYMENT_KINDS",
    "AccountAccessDetails",
    "AccountBalances",
    "AccountClosed",
    "AccountFrozen",
    "AccountNotFound",
    "AccountNotInConsent",
    "AccountRecord",
    "Address",
    "Balances",
    "BeneficiaryRecord",
    "ConsentExpired",
    "ConsentKind",
    "ConsentNotAuthorised",
    "ConsentNotAwaitingAuthorisation",
    "ConsentNotFound",
    "ConsentNotRevocable",
    "ConsentRecord",
    "ConsentStatus",
    "CoreBanking",
    "CreditorAccount",
    "CreditorScheme",
    "CustomerContact",
    "CustomerNotFound",
    "CustomerRecord",
    "DebtorAccount",
    "DebtorScheme",
    "Direction",
    "DomesticPaymentDetails",
    "Frequency",
    "FundsAvailability",
    "FundsConfirmationDetails",
    "FundsConfirmationRecord",
    "IdempotencyKeyReused",
    "InProcessCoreBanking",
    "InsufficientFunds",
    "InvalidConsent",
    "InvalidConsentAccounts",
    "InvalidCursor",
    "InvalidFilter",
    "InvalidFundsConfirmation",
    "InvalidPayment",
    "InvalidPaymentOrder",
    "LimitExceeded",
    "Money",
    "OrderKind",
    "OrderRecord",
    "OrderRequest",
    "OrderRun",
    "OrderStatus",
    "PartyRecord",
    "PaymentInitiation",
    "PaymentNotFound",
    "PaymentNotHeld",
    "PaymentOrderDetails",
    "PaymentOrderEnded",
    "PaymentOrderNotFound",
    "PaymentRecord",
    "PaymentStatus",
    "PendingLine",
    "Permission",
    "PermissionNotGranted",
    "PsuContext",
    "RevokedBy",
    "RunOutcome",
    "SameAccount",
    "StatementNotFound",
    "StatementRecord",
    "StatusChange",
    "TransactionLine",
    "TransactionPage",
    "connect",
]


class CoreBanking(Protocol):
    """What other contexts ask of core banking: consents to create, show, decide and end, a customer's
    accounts, funds confirmations, and account information through a consent."""

    async def customer_exists(self, customer_id: uuid.UUID) -> bool:
        """Whether `customer_id` names a customer, without opening any personal data."""

    async def list_customer_accounts(self, customer_id: uuid.UUID) -> list[AccountRecord]:
        """Every account of the customer, oldest first, closed ones included."""

    async def get_account(self, account_id: uuid.UUID) -> AccountRecord:
        """One account with its balance and holder; raises AccountNotFound."""

    async def customer_contact(self, customer_id: uuid.UUID) -> CustomerContact:
        """The customer's name, email address and phone number, to notify them; raises CustomerNotFound."""

    async def create_account_access_consent(
        self,
        client_id: str,
        details: AccountAccessDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        """An account access consent the TPP asks for, awaiting the customer; raises InvalidConsent (its
        `field` names the OB field at fault). With a key: the same request within 24 hours gets the same
        consent (as it is now), another request under the key IdempotencyKeyReused.

        `psu`, on this and the TPP's other changes: what the TPP tells of its PSU, on the change's audit record."""

    async def create_funds_confirmation_consent(
        self,
        client_id: str,
        details: FundsConfirmationDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        """A funds confirmation consent the TPP asks for, awaiting the customer; as account access consents."""

    async def create_domestic_payment_consent(
        self,
        client_id: str,
        details: DomesticPaymentDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        """A domestic payment consent the TPP asks for (its Initiation and Risk kept as sent), awaiting the
        customer; idempotent per key as account access consents."""

    async def create_payment_order_consent(
        self,
        client_id: str,
        kind: ConsentKind,
        details: PaymentOrderDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        """A scheduled payment or standing order consent (`kind`) the TPP asks for (its Initiation and Risk kept
        as sent), awaiting the customer; idempotent per key as the others. InvalidConsent names the OB field."""

    async def create_payment_order(
        self, request: OrderRequest, *, idempotency_key: str, psu: PsuContext | None = None
    ) -> OrderRecord:
        """Set up the payment order a TPP's scheduled payment or standing order consent authorised, consuming
        the consent (of the order's kind) in the same transaction. The same key (per TPP) with the same request
        gives the first order as it stands now; with another, IdempotencyKeyReused. Refusals raise
        InvalidPaymentOrder or InvalidPayment (their `field` an OB Initiation path) and the consent errors."""

    async def get_payment_order(self, order_id: uuid.UUID, *, client_id: str | None = None) -> OrderRecord:
        """A payment order with each occurrence it ran; PaymentOrderNotFound, also for another client's order."""

    async def consent_payment_orders(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None, kind: OrderKind
    ) -> list[OrderRecord]:
        """The active scheduled payments or standing orders (`kind`) of the consent's accounts (or of the one
        asked for), whoever set them up (ReadScheduledPaymentsBasic/Detail, ReadStandingOrdersBasic/Detail)."""

    async def consent_beneficiaries(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None
    ) -> list[BeneficiaryRecord]:
        """The customer's payees under each of the consent's accounts, or the one asked for
        (ReadBeneficiariesBasic/Detail)."""

    async def payment_funds_available(self, consent_id: str, *, client_id: str) -> FundsAvailability:
        """Whether the debtor account of the client's authorised payment consent has its amount available now
        (nothing held or stored); another client's consent raises ConsentNotFound, one not in force
        ConsentNotAuthorised."""

    async def get_consent(self, consent_id: str) -> ConsentRecord:
        """A consent's kind, owning client, details and effective status: Expired from its expiry on, Rejected
        once unanswered for `AUTHORISATION_WINDOW` (an hour); raises ConsentNotFound."""

    async def authorise_consent(
        self,
        consent_id: str,
        *,
        customer_id: uuid.UUID,
        account_ids: Sequence[uuid.UUID],
        session_id: str | None = None,
    ) -> ConsentRecord:
        """The customer authorised the consent over the chosen accounts; again with the same answer: the same.

        A funds confirmation consent takes exactly the customer's account its DebtorAccount names
        (`FundsConfirmationDetails.debtor_account.names(account)` says which one).
        """

    async def reject_consent(
        self, consent_id: str, *, customer_id: uuid.UUID | None = None, session_id: str | None = None
    ) -> ConsentRecord:
        """The customer refused the consent (or the authorization ended without approval); idempotent."""

    async def revoke_consent(
        self, consent_id: str, *, customer_id: uuid.UUID, session_id: str | None = None
    ) -> ConsentRecord:
        """The customer withdrew an authorised account access or funds confirmation consent; idempotent."""

    async def withdraw_consent(
        self, consent_id: str, *, client_id: str, psu: PsuContext | None = None
    ) -> ConsentRecord:
        """The TPP deleted its consent (awaiting or authorised → Revoked, `revoked_by` client); idempotent.

        Another client's consent raises ConsentNotFound; an ended one ConsentNotRevocable.
        """

    async def initiate_payment(
        self, initiation: PaymentInitiation, *, idempotency_key: str, psu: PsuContext | None = None
    ) -> PaymentRecord:
        """Accept a payment (funds held, the consent named consumed in the same transaction); the saga then
        settles or rejects it. The same key (per TPP, or per customer without one) with the same initiation
        gives the first payment as it stands now; with another, IdempotencyKeyReused. Refusals raise
        InvalidPayment (its `field` an OB Initiation path), the ledger's refusals (InsufficientFunds,
        LimitExceeded...) and the consent errors."""

    async def get_payment(self, payment_id: uuid.UUID, *, client_id: str | None = None) -> PaymentRecord:
        """A payment with its status history; PaymentNotFound, also for another client's payment."""

    async def release_reviewed_payment(self, payment_id: uuid.UUID, *, staff_id: str) -> PaymentRecord:
        """A fraud analyst releases a payment held for review: it goes on (idempotent). PaymentNotFound;
        PaymentNotHeld for one that ended or was never held for review."""

    async def reject_reviewed_payment(self, payment_id: uuid.UUID, *, staff_id: str) -> PaymentRecord:
        """A fraud analyst rejects a payment held for review (FRAD), releasing its funds (idempotent).
        PaymentNotFound; PaymentNotHeld for one on its way or never held for review."""

    async def confirm_funds(
        self, consent_id: str, *, client_id: str, amount: Money, reference: str, psu: PsuContext | None = None
    ) -> FundsConfirmationRecord:
        """Whether the account of the client's authorised funds confirmation consent has `amount` available
        now (holds and overdraft counted); each answer is stored and audited, no money moves."""

    async def consent_accounts(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None
    ) -> list[AccountRecord]:
        """The consent's accounts (or the one asked for), with their identifiers (ReadAccountsBasic/Detail)."""

    async def consent_account_balances(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None
    ) -> list[AccountBalances]:
        """Balances now of the consent's accounts (or of the one asked for) (ReadBalances)."""

    async def consent_account_transactions(
        self,
        consent_id: str,
        client_id: str,
        account_id: uuid.UUID | None = None,
        *,
        booked_from: datetime | None = None,
        booked_to: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> TransactionPage:
        """A page of booked lines newest first, of one account of the consent or (None) all of them, within the
        consent's transaction window and [booked_from, booked_to] (inclusive), credits and/or debits as the
        consent grants (ReadTransactionsBasic/Detail); signed cursors bound to the consent and account."""

    async def consent_party(self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None) -> PartyRecord:
        """The PSU who authorised the consent (ReadPartyPSU), or an account's holder (ReadParty)."""

    async def consent_statements(
        self,
        consent_id: str,
        client_id: str,
        account_id: uuid.UUID,
        *,
        statements_from: datetime | None = None,
        statements_to: datetime | None = None,
    ) -> list[StatementRecord]:
        """The account's monthly statements within the consent's window (ReadStatementsBasic/Detail)."""

    async def consent_statement(
        self, consent_id: str, client_id: str, account_id: uuid.UUID, statement_id: str
    ) -> StatementRecord:
        """One monthly statement (`YYYY-MM`) of the account; raises StatementNotFound."""

    async def consent_statement_file(
        self, consent_id: str, client_id: str, account_id: uuid.UUID, statement_id: str
    ) -> bytes:
        """The statement as a PDF (ReadStatementsDetail); raises StatementNotFound."""

    async def close(self) -> None:
        """Release connections."""


# The consent kind that sets up each kind of payment order.
_ORDER_CONSENT_KINDS = {
    OrderKind.SCHEDULED: ConsentKind.DOMESTIC_SCHEDULED_PAYMENT,
    OrderKind.STANDING_ORDER: ConsentKind.DOMESTIC_STANDING_ORDER,
}


def _customer_actor(consent: ConsentRecord, customer_id: uuid.UUID, session_id: str | None) -> Actor:
    return Actor(ActorKind.CUSTOMER, str(customer_id), consent.client_id, session_id)


class InProcessCoreBanking:
    """`CoreBanking` in this process: each call is a transaction of its own, committed before it returns.

    A decision on a consent reads the consent first, in a transaction of its own, to know who acts (the
    TPP client the customer acts through); the decision itself locks the consent and checks it again.
    With `revocations`, a consent that ends is denied in this process (and Redis) before its transaction
    commits, as every revoking process does; the table entry reaches the others at commit.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keyring: KeyRing,
        revocations: RevocationList | None = None,
    ) -> None:
        self._sessions = sessions
        self._keyring = keyring
        self._units = units_of_work(sessions, keyring)
        self._revocations = revocations

    async def _denied_if_ended(self, consent: ConsentRecord) -> None:
        if self._revocations is not None and consent.status in (ConsentStatus.REVOKED, ConsentStatus.EXPIRED):
            await self._revocations.remember(*consents_service.denial(consent))

    async def customer_exists(self, customer_id: uuid.UUID) -> bool:
        async with unit_of_work(self._sessions) as session:
            return await customers_service.customer_exists(session, customer_id)

    async def get_customer(self, customer_id: uuid.UUID) -> CustomerRecord:
        """The customer with personal data decrypted; raises CustomerNotFound."""
        async with unit_of_work(self._sessions) as session:
            return await customers_service.get_customer(session, self._keyring, customer_id)

    async def customer_contact(self, customer_id: uuid.UUID) -> CustomerContact:
        customer = await self.get_customer(customer_id)
        return CustomerContact(customer.id, customer.full_name, customer.email, customer.phone)

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

    async def create_account_access_consent(
        self,
        client_id: str,
        details: AccountAccessDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        async with self._units.begin(Actor.client(client_id)) as uow:
            return await consents_service.create_account_access_consent(
                uow, client_id, details, idempotency_key=idempotency_key, psu=psu
            )

    async def create_funds_confirmation_consent(
        self,
        client_id: str,
        details: FundsConfirmationDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        async with self._units.begin(Actor.client(client_id)) as uow:
            return await consents_service.create_funds_confirmation_consent(
                uow, client_id, details, idempotency_key=idempotency_key, psu=psu
            )

    async def create_domestic_payment_consent(
        self,
        client_id: str,
        details: DomesticPaymentDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        async with self._units.begin(Actor.client(client_id)) as uow:
            return await consents_service.create_domestic_payment_consent(
                uow, client_id, details, idempotency_key=idempotency_key, psu=psu
            )

    async def create_payment_order_consent(
        self,
        client_id: str,
        kind: ConsentKind,
        details: PaymentOrderDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        async with self._units.begin(Actor.client(client_id)) as uow:
            return await consents_service.create_payment_order_consent(
                uow, client_id, kind, details, idempotency_key=idempotency_key, psu=psu
            )

    async def create_payment_order(
        self, request: OrderRequest, *, idempotency_key: str, psu: PsuContext | None = None
    ) -> OrderRecord:
        client_id = request.client_id

        async def create(uow: UnitOfWork) -> uuid.UUID:
            if request.consent_id is not None:
                # Only a consent of the order's own kind sets it up (its kind never changes: no lock needed).
                consent = await consents_service.get_consent(uow.session, request.consent_id)
                if consent.kind is not _ORDER_CONSENT_KINDS[request.kind] or consent.client_id != client_id:
                    raise ConsentNotFound(request.consent_id)
            return (await payment_orders_service.create_order(uow, request)).id

        order_id = await self._accept_once(
            request.customer_id,
            client_id,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint("payment_order", request.fingerprint()),
            entity="payment_order",
            create=create,
            psu=psu,
        )
        return await self.get_payment_order(order_id, client_id=client_id)

    async def get_payment_order(self, order_id: uuid.UUID, *, client_id: str | None = None) -> OrderRecord:
        async with unit_of_work(self._sessions) as session:
            return await payment_orders_service.get_order(session, self._keyring, order_id, client_id=client_id)

    async def consent_payment_orders(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None, kind: OrderKind
    ) -> list[OrderRecord]:
        async with unit_of_work(self._sessions) as session:
            return await information_service.consent_payment_orders(
                session, self._keyring, consent_id, client_id, datetime.now(UTC), kind, account_id
            )

    async def consent_beneficiaries(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None
    ) -> list[BeneficiaryRecord]:
        async with unit_of_work(self._sessions) as session:
            return await information_service.consent_beneficiaries(
                session, self._keyring, consent_id, client_id, datetime.now(UTC), account_id
            )

    async def payment_funds_available(self, consent_id: str, *, client_id: str) -> FundsAvailability:
        async with unit_of_work(self._sessions) as session:
            return await consents_service.payment_funds_available(
                session, consent_id, client_id=client_id, now=datetime.now(UTC)
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
        consent = await self.get_consent(consent_id)
        async with self._units.begin(_customer_actor(consent, customer_id, session_id)) as uow:
            return await consents_service.authorise_consent(
                uow, consent_id, customer_id=customer_id, account_ids=account_ids
            )

    async def reject_consent(
        self, consent_id: str, *, customer_id: uuid.UUID | None = None, session_id: str | None = None
    ) -> ConsentRecord:
        consent = await self.get_consent(consent_id)
        actor = (
            _customer_actor(consent, customer_id, session_id)
            if customer_id is not None
            else Actor(ActorKind.SYSTEM, "auth_server", consent.client_id)
        )
        async with self._units.begin(actor) as uow:
            rejected = await consents_service.reject_consent(uow, consent_id, customer_id=customer_id)
            await self._denied_if_ended(rejected)
            return rejected

    async def revoke_consent(
        self, consent_id: str, *, customer_id: uuid.UUID, session_id: str | None = None
    ) -> ConsentRecord:
        consent = await self.get_consent(consent_id)
        # Whose it is never changes once decided, so the check needs no lock.
        if consent.customer_id != customer_id:
            raise ConsentNotFound(consent_id)
        async with self._units.begin(_customer_actor(consent, customer_id, session_id)) as uow:
            revoked = await consents_service.revoke_consent(uow, consent_id)
            await self._denied_if_ended(revoked)
            return revoked

    async def withdraw_consent(
        self, consent_id: str, *, client_id: str, psu: PsuContext | None = None
    ) -> ConsentRecord:
        async with self._units.begin(Actor.client(client_id)) as uow:
            withdrawn = await consents_service.withdraw_consent(uow, consent_id, client_id=client_id, psu=psu)
            await self._denied_if_ended(withdrawn)
            return withdrawn

    async def initiate_payment(
        self, initiation: PaymentInitiation, *, idempotency_key: str, psu: PsuContext | None = None
    ) -> PaymentRecord:
        async def create(uow: UnitOfWork) -> uuid.UUID:
            return (await payments_service.submit_payment(uow, initiation)).id

        payment_id = await self._accept_once(
            initiation.customer_id,
            initiation.client_id,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint("payment", initiation.fingerprint()),
            entity="payment",
            create=create,
            psu=psu,
        )
        return await self.get_payment(payment_id, client_id=initiation.client_id)

    async def _accept_once(
        self,
        customer_id: uuid.UUID,
        client_id: str | None,
        *,
        idempotency_key: str,
        fingerprint: bytes,
        entity: str,
        create: Callable[[UnitOfWork], Awaitable[uuid.UUID]],
        psu: PsuContext | None,
    ) -> uuid.UUID:
        """Run `create` once per key (of the TPP, or of the customer without one), as the customer acting
        through the TPP; the id of what it made. A refusal is raised again, on a replay too."""
        scope = f"client:{client_id}" if client_id else f"customer:{customer_id}"

        async def work(uow: UnitOfWork) -> IdempotentOutcome:
            async def run() -> tuple[int, dict[str, Any]]:
                created = await create(uow)
                if psu is not None:
                    uow.audit(
                        action=f"{entity}.psu",
                        entity_type=entity,
                        entity_id=str(created),
                        after=psu.audit_detail(),
                        ip_address=psu.ip_address,
                    )
                return 201, {"id": str(created)}

            return await execute_once(uow, scope=scope, key=idempotency_key, fingerprint=fingerprint, operation=run)

        outcome = await self._units.retry(Actor(ActorKind.CUSTOMER, str(customer_id), client_id), work)
        if outcome.status >= 400:
            raise revive(outcome.body) or IdempotencyKeyReused()
        return uuid.UUID(str(outcome.body["id"]))

    async def get_payment(self, payment_id: uuid.UUID, *, client_id: str | None = None) -> PaymentRecord:
        async with unit_of_work(self._sessions) as session:
            return await payments_service.get_payment(session, self._keyring, payment_id, client_id=client_id)

    async def release_reviewed_payment(self, payment_id: uuid.UUID, *, staff_id: str) -> PaymentRecord:
        async def release(uow: UnitOfWork) -> PaymentRecord:
            return await payments_service.release_reviewed_payment(uow, payment_id, staff_id=staff_id)

        return await self._units.retry(Actor(ActorKind.STAFF, staff_id), release)

    async def reject_reviewed_payment(self, payment_id: uuid.UUID, *, staff_id: str) -> PaymentRecord:
        async def reject(uow: UnitOfWork) -> PaymentRecord:
            return await payments_service.reject_reviewed_payment(uow, payment_id, staff_id=staff_id)

        return await self._units.retry(Actor(ActorKind.STAFF, staff_id), reject)

    async def confirm_funds(
        self, consent_id: str, *, client_id: str, amount: Money, reference: str, psu: PsuContext | None = None
    ) -> FundsConfirmationRecord:
        async with self._units.begin(Actor.client(client_id)) as uow:
            return await funds_service.confirm_funds(
                uow, consent_id, client_id=client_id, amount=amount, reference=reference, psu=psu
            )

    async def consent_accounts(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None
    ) -> list[AccountRecord]:
        async with unit_of_work(self._sessions) as session:
            return await information_service.consent_accounts(
                session, consent_id, client_id, datetime.now(UTC), account_id
            )

    async def consent_account_balances(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None
    ) -> list[AccountBalances]:
        async with unit_of_work(self._sessions) as session:
            return await information_service.consent_balances(
                session, consent_id, client_id, datetime.now(UTC), account_id
            )

    async def consent_account_transactions(
        self,
        consent_id: str,
        client_id: str,
        account_id: uuid.UUID | None = None,
        *,
        booked_from: datetime | None = None,
        booked_to: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> TransactionPage:
        async with unit_of_work(self._sessions) as session:
            return await information_service.consent_transactions(
                session,
                self._keyring,
                consent_id,
                client_id,
                datetime.now(UTC),
                account_id,
                booked_from=booked_from,
                booked_to=booked_to,
                cursor=cursor,
                limit=limit,
            )

    async def consent_party(self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None) -> PartyRecord:
        async with unit_of_work(self._sessions) as session:
            return await information_service.consent_party(
                session, self._keyring, consent_id, client_id, datetime.now(UTC), account_id
            )

    async def consent_statements(
        self,
        consent_id: str,
        client_id: str,
        account_id: uuid.UUID,
        *,
        statements_from: datetime | None = None,
        statements_to: datetime | None = None,
    ) -> list[StatementRecord]:
        async with unit_of_work(self._sessions) as session:
            return await information_service.consent_statements(
                session,
                consent_id,
                client_id,
                account_id,
                datetime.now(UTC),
                statements_from=statements_from,
                statements_to=statements_to,
            )

    async def consent_statement(
        self, consent_id: str, client_id: str, account_id: uuid.UUID, statement_id: str
    ) -> StatementRecord:
        async with unit_of_work(self._sessions) as session:
            return await information_service.consent_statement(
                session, consent_id, client_id, account_id, statement_id, datetime.now(UTC)
            )

    async def consent_statement_file(
        self, consent_id: str, client_id: str, account_id: uuid.UUID, statement_id: str
    ) -> bytes:
        async with unit_of_work(self._sessions) as session:
            statement = await information_service.consent_statement_lines(
                session, self._keyring, consent_id, client_id, account_id, statement_id, datetime.now(UTC)
            )
        # Laying out a long statement takes a while: off the event loop, after the transaction.
        return await asyncio.to_thread(render_pdf, statement)

    async def close(self) -> None:
        return None


def connect(platform: Platform, *, callers_hold_connections: bool = False) -> CoreBanking:
    """Core banking as this process reaches it: over HTTP when it runs elsewhere, else in this process.

    `callers_hold_connections`: the caller calls while holding one of the main pool's connections (the
    authorization server's requests do, in their unit of work). In this process, core banking's transactions
    are then drawn from the side pool (`Platform.side_engine`): from the main pool, a full pool would leave
    every such request waiting on itself until the pool timed out.
    """
    settings = platform.settings
    if settings.upstream_core_banking_url:
        from core_banking.internal.client import HttpCoreBanking

        return HttpCoreBanking.from_settings(settings)
    sessions = create_sessionmaker(platform.side_engine) if callers_hold_connections else platform.sessions
    return InProcessCoreBanking(sessions, platform.keyring, platform.revocations)
