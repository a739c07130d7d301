"""Consents: created for a TPP client, then authorised (with accounts) or rejected by the customer, or revoked."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.models import AccountKind, AccountStatus
from core_banking.auditing import record_audit
from core_banking.consents import repository
from core_banking.consents.errors import (
    ConsentExpired,
    ConsentNotAwaitingAuthorisation,
    ConsentNotFound,
    ConsentNotRevocable,
    InvalidConsent,
    InvalidConsentAccounts,
)
from core_banking.consents.models import Consent, ConsentKind, ConsentStatus
from core_banking.consents.schemas import (
    AccountAccessDetails,
    ConsentRecord,
    CreditorScheme,
    DomesticPaymentDetails,
    Permission,
)
from obank.actor import Actor
from obank.crypto import KeyRing
from obank.outbox import record_event

TOPIC = "core_banking.consents"
ID_PREFIXES = {ConsentKind.ACCOUNT_ACCESS: "aac-", ConsentKind.DOMESTIC_PAYMENT: "pdc-"}
MAX_CLIENT_ID = 128
MAX_CREDITOR_NAME = 140
MAX_IDENTIFICATION = 256
MAX_REFERENCE = 35  # OB Reference: max 35 characters, as Faster Payments carries it

_TRANSACTION_DETAIL = {Permission.READ_TRANSACTIONS_BASIC, Permission.READ_TRANSACTIONS_DETAIL}
_TRANSACTION_DIRECTION = {Permission.READ_TRANSACTIONS_CREDITS, Permission.READ_TRANSACTIONS_DEBITS}
_IDENTIFICATION_PATTERNS = {
    CreditorScheme.SORT_CODE_ACCOUNT_NUMBER: re.compile(r"^\d{14}$"),
    CreditorScheme.IBAN: re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$"),
}


async def _publish(
    session: AsyncSession,
    keyring: KeyRing,
    actor: Actor,
    event_type: str,
    before: ConsentRecord | None,
    after: ConsentRecord,
) -> None:
    """The outbox event and the audit record of one consent change, in the caller's transaction."""
    payload = after.snapshot()
    await record_event(session, topic=TOPIC, event_type=event_type, key=after.id, payload=payload)
    await record_audit(
        session,
        keyring,
        actor,
        action=event_type,
        entity_type="consent",
        entity_id=after.id,
        before=None if before is None else before.snapshot(),
        after=payload,
    )


def _check_client(client_id: str) -> None:
    if not 0 < len(client_id) <= MAX_CLIENT_ID:
        raise InvalidConsent(f"client id must be 1 to {MAX_CLIENT_ID} characters")


def _aware(value: datetime | None, name: str) -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidConsent(f"{name} must carry a time zone")


def _check_account_access(details: AccountAccessDetails, now: datetime) -> None:
    permissions = set(details.permissions)
    if not permissions:
        raise InvalidConsent("at least one permission is required")
    if len(permissions) != len(details.permissions):
        raise InvalidConsent("permissions must not repeat")
    # UK Open Banking account access consents: transaction detail and direction permissions go together.
    if bool(permissions & _TRANSACTION_DETAIL) != bool(permissions & _TRANSACTION_DIRECTION):
        raise InvalidConsent(
            "ReadTransactionsBasic or ReadTransactionsDetail requires ReadTransactionsCredits and/or"
            " ReadTransactionsDebits, and the other way round"
        )
    for name in ("expires_at", "transactions_from", "transactions_to"):
        _aware(getattr(details, name), name)
    if details.expires_at is not None and details.expires_at <= now:
        raise InvalidConsent("the expiration date must be in the future")
    if (
        details.transactions_from is not None
        and details.transactions_to is not None
        and details.transactions_from > details.transactions_to
    ):
        raise InvalidConsent("the transaction window ends before it starts")


def _check_domestic_payment(details: DomesticPaymentDetails) -> None:
    if not details.amount.is_positive():
        raise InvalidConsent("the instructed amount must be positive")
    creditor = details.creditor
    if not 0 < len(creditor.name.strip()) <= MAX_CREDITOR_NAME:
        raise InvalidConsent(f"the creditor name must be 1 to {MAX_CREDITOR_NAME} characters")
    if not 0 < len(creditor.identification) <= MAX_IDENTIFICATION:
        raise InvalidConsent(f"the creditor identification must be 1 to {MAX_IDENTIFICATION} characters")
    pattern = _IDENTIFICATION_PATTERNS.get(creditor.scheme)
    if pattern is not None and not pattern.match(creditor.identification):
        raise InvalidConsent(f"{creditor.identification!r} is not a valid {creditor.scheme.value} identification")
    if details.reference is not None and not 0 < len(details.reference) <= MAX_REFERENCE:
        raise InvalidConsent(f"the reference must be 1 to {MAX_REFERENCE} characters")


def _new_consent(kind: ConsentKind, client_id: str, now: datetime) -> Consent:
    return Consent(
        id=ID_PREFIXES[kind] + str(uuid.uuid4()),
        kind=kind,
        client_id=client_id,
        status=ConsentStatus.AWAITING_AUTHORISATION,
        created_at=now,
        status_updated_at=now,
        account_ids=[],
    )


async def _created(session: AsyncSession, keyring: KeyRing, actor: Actor, consent: Consent) -> ConsentRecord:
    await repository.add(session, consent)
    record = ConsentRecord.from_model(consent)
    await _publish(session, keyring, actor, "consent.created", None, record)
    return record


async def create_account_access_consent(
    session: AsyncSession,
    keyring: KeyRing,
    actor: Actor,
    client_id: str,
    details: AccountAccessDetails,
    *,
    now: datetime | None = None,
) -> ConsentRecord:
    """Record an account access consent awaiting the customer's authorisation."""
    now = now or datetime.now(UTC)
    _check_client(client_id)
    _check_account_access(details, now)
    consent = _new_consent(ConsentKind.ACCOUNT_ACCESS, client_id, now)
    consent.permissions = [p.value for p in details.permissions]
    consent.expires_at = details.expires_at
    consent.transactions_from = details.transactions_from
    consent.transactions_to = details.transactions_to
    return await _created(session, keyring, actor, consent)


async def create_domestic_payment_consent(
    session: AsyncSession,
    keyring: KeyRing,
    actor: Actor,
    client_id: str,
    details: DomesticPaymentDetails,
    *,
    now: datetime | None = None,
) -> ConsentRecord:
    """Record a domestic payment consent awaiting the customer's authorisation."""
    now = now or datetime.now(UTC)
    _check_client(client_id)
    _check_domestic_payment(details)
    consent = _new_consent(ConsentKind.DOMESTIC_PAYMENT, client_id, now)
    consent.amount_minor = details.amount.minor
    consent.currency = details.amount.currency
    consent.creditor_name = details.creditor.name
    consent.creditor_scheme = details.creditor.scheme.value
    consent.creditor_identification = details.creditor.identification
    consent.reference = details.reference
    return await _created(session, keyring, actor, consent)


async def get_consent(session: AsyncSession, consent_id: str) -> ConsentRecord:
    """One consent; raises ConsentNotFound."""
    consent = await repository.get(session, consent_id)
    if consent is None:
        raise ConsentNotFound(consent_id)
    return ConsentRecord.from_model(consent)


async def _awaiting(session: AsyncSession, consent_id: str, now: datetime) -> Consent:
    """The consent, locked, provided it still awaits authorisation and has not expired."""
    consent = await repository.get(session, consent_id, for_update=True)
    if consent is None:
        raise ConsentNotFound(consent_id)
    if consent.status is not ConsentStatus.AWAITING_AUTHORISATION:
        raise ConsentNotAwaitingAuthorisation(consent_id, consent.status)
    if ConsentRecord.from_model(consent).is_expired(now):
        raise ConsentExpired(consent_id)
    return consent


async def _check_accounts(
    session: AsyncSession, consent: Consent, customer_id: uuid.UUID, account_ids: Sequence[uuid.UUID]
) -> None:
    chosen = tuple(account_ids)
    if not chosen:
        raise InvalidConsentAccounts("choose at least one account")
    if len(set(chosen)) != len(chosen):
        raise InvalidConsentAccounts("an account is chosen twice", chosen)
    if consent.kind is ConsentKind.DOMESTIC_PAYMENT and len(chosen) != 1:
        raise InvalidConsentAccounts("a payment is made from exactly one account", chosen)
    for account_id in chosen:
        try:
            account = await accounts_service.get_account(session, account_id)
        except AccountNotFound:
            raise InvalidConsentAccounts(f"account {account_id} is not the customer's", (account_id,)) from None
        if account.kind is not AccountKind.CUSTOMER or account.customer_id != customer_id:
            raise InvalidConsentAccounts(f"account {account_id} is not the customer's", (account_id,))
        if account.status is AccountStatus.CLOSED:
            raise InvalidConsentAccounts(f"account {account_id} is closed", (account_id,))
        if consent.kind is ConsentKind.DOMESTIC_PAYMENT:
            if account.status is not AccountStatus.ACTIVE:
                raise InvalidConsentAccounts(f"account {account_id} cannot make payments", (account_id,))
            if account.currency != consent.currency:
                raise InvalidConsentAccounts(
                    f"account {account_id} holds {account.currency}, the payment is in {consent.currency}",
                    (account_id,),
                )


async def authorise_consent(
    session: AsyncSession,
    keyring: KeyRing,
    actor: Actor,
    consent_id: str,
    *,
    customer_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID],
    now: datetime | None = None,
) -> ConsentRecord:
    """The customer authorised the consent over the chosen accounts (a payment: exactly one debtor account).

    The same answer again (a caller retrying after a lost response) returns the first result.
    """
    now = now or datetime.now(UTC)
    decided = await repository.get(session, consent_id, for_update=True)
    if (
        decided is not None
        and decided.status is ConsentStatus.AUTHORISED
        and decided.customer_id == customer_id
        and list(decided.account_ids) == list(account_ids)
    ):
        return ConsentRecord.from_model(decided)
    consent = await _awaiting(session, consent_id, now)
    before = ConsentRecord.from_model(consent)
    await _check_accounts(session, consent, customer_id, account_ids)
    consent.status = ConsentStatus.AUTHORISED
    consent.status_updated_at = now
    consent.customer_id = customer_id
    consent.account_ids = list(account_ids)
    await session.flush()
    after = ConsentRecord.from_model(consent)
    await _publish(session, keyring, actor, "consent.authorised", before, after)
    return after


async def reject_consent(
    session: AsyncSession,
    keyring: KeyRing,
    actor: Actor,
    consent_id: str,
    *,
    customer_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """The customer refused the consent (or authentication failed); it can never be authorised afterwards.

    Refusing it again (a retry) returns the first result.
    """
    now = now or datetime.now(UTC)
    consent = await repository.get(session, consent_id, for_update=True)
    if consent is None:
        raise ConsentNotFound(consent_id)
    if consent.status is ConsentStatus.REJECTED and consent.customer_id == customer_id:
        return ConsentRecord.from_model(consent)
    if consent.status is not ConsentStatus.AWAITING_AUTHORISATION:
        raise ConsentNotAwaitingAuthorisation(consent_id, consent.status)
    before = ConsentRecord.from_model(consent)
    consent.status = ConsentStatus.REJECTED
    consent.status_updated_at = now
    consent.customer_id = customer_id
    await session.flush()
    after = ConsentRecord.from_model(consent)
    await _publish(session, keyring, actor, "consent.rejected", before, after)
    return after


async def revoke_consent(
    session: AsyncSession, keyring: KeyRing, actor: Actor, consent_id: str, *, now: datetime | None = None
) -> ConsentRecord:
    """The customer (or the TPP) withdrew an authorised account access consent; its data access ends now.

    Withdrawing it again (a retry, or the event after the direct call) returns the first result.
    """
    now = now or datetime.now(UTC)
    consent = await repository.get(session, consent_id, for_update=True)
    if consent is None:
        raise ConsentNotFound(consent_id)
    if consent.kind is ConsentKind.ACCOUNT_ACCESS and consent.status is ConsentStatus.REVOKED:
        return ConsentRecord.from_model(consent)
    if consent.kind is not ConsentKind.ACCOUNT_ACCESS or consent.status is not ConsentStatus.AUTHORISED:
        raise ConsentNotRevocable(consent_id, consent.status)
    before = ConsentRecord.from_model(consent)
    consent.status = ConsentStatus.REVOKED
    consent.status_updated_at = now
    await session.flush()
    after = ConsentRecord.from_model(consent)
    await _publish(session, keyring, actor, "consent.revoked", before, after)
    return after
