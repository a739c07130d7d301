"""Consents: created for a TPP client, authorised (with accounts) or rejected by the customer, then ended by
the TPP, the customer or time.

A consent ends by time alone (`ConsentRecord.lapse`): every read computes its effective status, so it is
Expired (or, unanswered, Rejected) from the very instant its time runs out; the lapse job then writes the
change, its event and its audit record. When a consent that may have tokens ends (revoked or expired), its
deny-list entry is written in the same transaction, so the gateway refuses its tokens from the next request.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.models import AccountKind, AccountStatus
from core_banking.consents import repository, rules
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
from core_banking.consents.models import ORDER_KINDS, PAYMENT_KINDS, Consent, ConsentKind, ConsentStatus, RevokedBy
from core_banking.consents.schemas import (
    AUTHORISATION_WINDOW,
    AccountAccessDetails,
    ConsentRecord,
    DomesticPaymentDetails,
    FundsAvailability,
    FundsConfirmationDetails,
    PaymentOrderDetails,
    Permission,
    PsuContext,
)
from core_banking.customers import service as customers_service
from core_banking.customers.errors import CustomerNotFound
from core_banking.idempotency.service import execute_once, request_fingerprint
from obank.actor import Actor
from obank.revocation import consent_denial, record_revocations
from obank.topics import (
    CONSENT_AUTHORISED,
    CONSENT_CONSUMED,
    CONSENT_CREATED,
    CONSENT_EXPIRED,
    CONSENT_REJECTED,
    CONSENT_REVOKED,
    CONSENTS_TOPIC,
)
from obank.unit_of_work import UnitOfWork

ID_PREFIXES = {
    ConsentKind.ACCOUNT_ACCESS: "aac-",
    ConsentKind.DOMESTIC_PAYMENT: "pdc-",
    ConsentKind.FUNDS_CONFIRMATION: "fcc-",
    ConsentKind.DOMESTIC_SCHEDULED_PAYMENT: "spc-",
    ConsentKind.DOMESTIC_STANDING_ORDER: "soc-",
}
# Long-lived consents, which the TPP (DELETE) or the customer may end while in force.
REVOCABLE_KINDS = frozenset({ConsentKind.ACCOUNT_ACCESS, ConsentKind.FUNDS_CONFIRMATION})
# A consent's deny-list entry outlives every token bound to it: a refresh token lives at most 90 days
# (auth_server), and an access token it mints a few minutes more.
DENIAL_LIFETIME = timedelta(days=91)
LAPSE_ACTOR = Actor.system("core_banking.consent-lapse")
_LAPSE_EVENTS = {ConsentStatus.EXPIRED: CONSENT_EXPIRED, ConsentStatus.REJECTED: CONSENT_REJECTED}


def _report(
    uow: UnitOfWork,
    event_type: str,
    before: ConsentRecord | None,
    after: ConsentRecord,
    *,
    actor: Actor | None = None,
    detail: dict[str, Any] | None = None,
    psu: PsuContext | None = None,
) -> None:
    """The outbox event and the audit record of one consent change (`actor`: when not the unit of work's).

    What the TPP tells of its PSU (`psu`) reaches the audit record only: its IP address as the record's keyed
    hash, its user agent and last login in the encrypted `after`; never the event.
    """
    payload = {**after.snapshot(), **(detail or {})}
    uow.publish(topic=CONSENTS_TOPIC, event_type=event_type, key=after.id, payload=payload)
    uow.audit(
        action=event_type,
        entity_type="consent",
        entity_id=after.id,
        before=None if before is None else before.snapshot(),
        after=payload if psu is None else {**payload, **psu.audit_detail()},
        actor=actor,
        ip_address=None if psu is None else psu.ip_address,
    )


def denial(consent: ConsentRecord) -> tuple[list[str], datetime]:
    """The deny-list entries that refuse an ended consent's tokens, and until when."""
    return [consent_denial(consent.id)], consent.status_updated_at + DENIAL_LIFETIME


async def _deny_tokens(uow: UnitOfWork, consent: ConsentRecord) -> None:
    identifiers, until = denial(consent)
    await record_revocations(uow.session, identifiers, until)


def idempotency_scope(client_id: str) -> str:
    """Idempotency keys belong to the TPP client that used them (UK OB: "from the same TPP")."""
    return f"client:{client_id}"


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


async def _created(uow: UnitOfWork, consent: Consent, psu: PsuContext | None = None) -> ConsentRecord:
    await repository.add(uow.session, consent)
    record = ConsentRecord.from_model(consent)
    _report(uow, CONSENT_CREATED, None, record, psu=psu)
    return record


async def _create_once(
    uow: UnitOfWork,
    client_id: str,
    request: tuple[str, dict[str, Any]],
    create: Callable[[], Awaitable[ConsentRecord]],
    idempotency_key: str | None,
    now: datetime,
) -> ConsentRecord:
    """Create the consent, once per (client, key) for 24 hours: the same request again gets the same consent
    (as it is now); another request under the key is refused (IdempotencyKeyReused)."""
    if idempotency_key is None:
        return await create()
    rules.check_idempotency_key(idempotency_key)
    created: list[ConsentRecord] = []

    async def run() -> tuple[int, dict[str, Any]]:
        created.append(await create())
        return 201, {"consent_id": created[0].id}

    outcome = await execute_once(
        uow,
        scope=idempotency_scope(client_id),
        key=idempotency_key,
        fingerprint=request_fingerprint(*request),
        operation=run,
        now=now,
    )
    if outcome.status != 201:
        # A refusal: raising it rolls the key's claim back with everything else, so the key stays free.
        raise InvalidConsent.revive(str(outcome.body.get("detail")))
    if created:
        return created[0]
    return await get_consent(uow.session, str(outcome.body["consent_id"]), now=now)


async def create_account_access_consent(
    uow: UnitOfWork,
    client_id: str,
    details: AccountAccessDetails,
    *,
    idempotency_key: str | None = None,
    psu: PsuContext | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """Record an account access consent awaiting the customer's authorisation."""
    now = now or datetime.now(UTC)
    rules.check_client(client_id)

    async def create() -> ConsentRecord:
        rules.check_account_access(details, now)
        consent = _new_consent(ConsentKind.ACCOUNT_ACCESS, client_id, now)
        consent.permissions = [str(p) for p in details.permissions]
        consent.expires_at = details.expires_at
        consent.transactions_from = details.transactions_from
        consent.transactions_to = details.transactions_to
        return await _created(uow, consent, psu)

    request = ("account_access_consent", details.snapshot())
    return await _create_once(uow, client_id, request, create, idempotency_key, now)


async def create_funds_confirmation_consent(
    uow: UnitOfWork,
    client_id: str,
    details: FundsConfirmationDetails,
    *,
    idempotency_key: str | None = None,
    psu: PsuContext | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """Record a funds confirmation consent awaiting the customer's authorisation (the account is checked then)."""
    now = now or datetime.now(UTC)
    rules.check_client(client_id)

    async def create() -> ConsentRecord:
        rules.check_funds_confirmation(details, now)
        consent = _new_consent(ConsentKind.FUNDS_CONFIRMATION, client_id, now)
        consent.debtor_scheme = str(details.debtor_account.scheme)
        consent.debtor_identification = details.debtor_account.identification
        consent.debtor_name = details.debtor_account.name
        consent.expires_at = details.expires_at
        return await _created(uow, consent, psu)

    request = ("funds_confirmation_consent", details.snapshot())
    return await _create_once(uow, client_id, request, create, idempotency_key, now)


async def create_domestic_payment_consent(
    uow: UnitOfWork,
    client_id: str,
    details: DomesticPaymentDetails,
    *,
    idempotency_key: str | None = None,
    psu: PsuContext | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """Record a domestic payment consent awaiting the customer's authorisation (once per key, as the others)."""
    now = now or datetime.now(UTC)
    rules.check_client(client_id)

    async def create() -> ConsentRecord:
        rules.check_domestic_payment(details)
        consent = _new_consent(ConsentKind.DOMESTIC_PAYMENT, client_id, now)
        consent.amount_minor = details.amount.minor
        consent.currency = details.amount.currency
        consent.creditor_name = details.creditor.name
        consent.creditor_scheme = details.creditor.scheme.value
        consent.creditor_identification = details.creditor.identification
        consent.reference = details.reference
        consent.instruction_id = details.instruction_id
        consent.end_to_end_id = details.end_to_end_id
        consent.initiation = details.initiation
        consent.risk = details.risk
        if details.debtor_account is not None:
            consent.debtor_scheme = str(details.debtor_account.scheme)
            consent.debtor_identification = details.debtor_account.identification
            consent.debtor_name = details.debtor_account.name
        return await _created(uow, consent, psu)

    # The Risk is part of the request the key is bound to, though events and audit records leave it out.
    request = ("domestic_payment_consent", {**details.snapshot(), "risk": details.risk})
    return await _create_once(uow, client_id, request, create, idempotency_key, now)


async def create_payment_order_consent(
    uow: UnitOfWork,
    client_id: str,
    kind: ConsentKind,
    details: PaymentOrderDetails,
    *,
    idempotency_key: str | None = None,
    psu: PsuContext | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """Record a scheduled payment or standing order consent (`kind`) awaiting the customer's authorisation
    (once per key, as the others)."""
    now = now or datetime.now(UTC)
    rules.check_client(client_id)
    if kind not in ORDER_KINDS:
        raise InvalidConsent(f"{kind.value} is not a payment order consent", field="kind")

    async def create() -> ConsentRecord:
        rules.check_payment_order(details, standing_order=kind is ConsentKind.DOMESTIC_STANDING_ORDER, now=now)
        consent = _new_consent(kind, client_id, now)
        consent.amount_minor = details.amount.minor
        consent.currency = details.amount.currency
        consent.creditor_name = details.creditor.name
        consent.creditor_scheme = details.creditor.scheme.value
        consent.creditor_identification = details.creditor.identification
        consent.reference = details.reference
        consent.first_payment_at = details.first_payment_at
        consent.frequency = details.frequency
        consent.final_payment_at = details.final_payment_at
        consent.payments_total = details.payments_total
        consent.recurring_amount_minor = None if details.recurring_amount is None else details.recurring_amount.minor
        consent.final_amount_minor = None if details.final_amount is None else details.final_amount.minor
        consent.instruction_id = details.instruction_id
        consent.end_to_end_id = details.end_to_end_id
        consent.initiation = details.initiation
        consent.risk = details.risk
        if details.debtor_account is not None:
            consent.debtor_scheme = str(details.debtor_account.scheme)
            consent.debtor_identification = details.debtor_account.identification
            consent.debtor_name = details.debtor_account.name
        return await _created(uow, consent, psu)

    request = (f"{kind.value.lower()}_consent", {**details.snapshot(), "risk": details.risk})
    return await _create_once(uow, client_id, request, create, idempotency_key, now)


async def get_consent(session: AsyncSession, consent_id: str, *, now: datetime | None = None) -> ConsentRecord:
    """One consent with its effective status at `now`; raises ConsentNotFound."""
    consent = await repository.get(session, consent_id)
    if consent is None:
        raise ConsentNotFound(consent_id)
    return ConsentRecord.from_model(consent).effective(now or datetime.now(UTC))


async def list_customer_consents(
    session: AsyncSession,
    customer_id: uuid.UUID,
    *,
    limit: int = 50,
    before: datetime | None = None,
    now: datetime | None = None,
) -> list[ConsentRecord]:
    """Staff's view of the consents a customer authorised, newest first, each with its effective status at `now`;
    an unknown customer is CustomerNotFound."""
    if not await customers_service.customer_exists(session, customer_id):
        raise CustomerNotFound(customer_id)
    now = now or datetime.now(UTC)
    consents = await repository.list_for_customer(session, customer_id, limit=limit, before=before)
    return [ConsentRecord.from_model(consent).effective(now) for consent in consents]


async def _awaiting(session: AsyncSession, consent_id: str, now: datetime) -> Consent:
    """The consent, locked, provided it still awaits authorisation and its time has not run out."""
    consent = await repository.get(session, consent_id, for_update=True)
    if consent is None:
        raise ConsentNotFound(consent_id)
    if consent.status is not ConsentStatus.AWAITING_AUTHORISATION:
        raise ConsentNotAwaitingAuthorisation(consent_id, consent.status)
    effective = ConsentRecord.from_model(consent).effective(now)
    if effective.status is ConsentStatus.EXPIRED:
        raise ConsentExpired(consent_id)
    if effective.status is not ConsentStatus.AWAITING_AUTHORISATION:
        raise ConsentNotAwaitingAuthorisation(consent_id, effective.status)
    return consent


async def _check_accounts(
    session: AsyncSession, consent: Consent, customer_id: uuid.UUID, account_ids: Sequence[uuid.UUID]
) -> None:
    chosen = tuple(account_ids)
    if not chosen:
        raise InvalidConsentAccounts("choose at least one account")
    if len(set(chosen)) != len(chosen):
        raise InvalidConsentAccounts("an account is chosen twice", chosen)
    if consent.kind in PAYMENT_KINDS and len(chosen) != 1:
        raise InvalidConsentAccounts("a payment is made from exactly one account", chosen)
    if consent.kind is ConsentKind.FUNDS_CONFIRMATION and len(chosen) != 1:
        raise InvalidConsentAccounts("funds are confirmed on exactly one account, the one the TPP named", chosen)
    details = ConsentRecord.from_model(consent).details
    for account_id in chosen:
        try:
            account = await accounts_service.get_account(session, account_id)
        except AccountNotFound:
            raise InvalidConsentAccounts(f"account {account_id} is not the customer's", (account_id,)) from None
        if account.kind is not AccountKind.CUSTOMER or account.customer_id != customer_id:
            raise InvalidConsentAccounts(f"account {account_id} is not the customer's", (account_id,))
        if account.status is AccountStatus.CLOSED:
            raise InvalidConsentAccounts(f"account {account_id} is closed", (account_id,))
        named = None
        if isinstance(details, FundsConfirmationDetails | DomesticPaymentDetails | PaymentOrderDetails):
            named = details.debtor_account
        if named is not None and not named.names(account):
            raise InvalidConsentAccounts(
                f"account {account_id} is not the DebtorAccount the consent names", (account_id,)
            )
        if consent.kind in PAYMENT_KINDS:
            if account.status is not AccountStatus.ACTIVE:
                raise InvalidConsentAccounts(f"account {account_id} cannot make payments", (account_id,))
            if account.currency != consent.currency:
                raise InvalidConsentAccounts(
                    f"account {account_id} holds {account.currency}, the payment is in {consent.currency}",
                    (account_id,),
                )


async def authorise_consent(
    uow: UnitOfWork,
    consent_id: str,
    *,
    customer_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID],
    now: datetime | None = None,
) -> ConsentRecord:
    """The customer authorised the consent over the chosen accounts (a payment: exactly one debtor account;
    a funds confirmation: exactly the customer's account its DebtorAccount names).

    The same answer again (a caller retrying after a lost response) returns the first result.
    """
    session = uow.session
    now = now or datetime.now(UTC)
    decided = await repository.get(session, consent_id, for_update=True)
    if (
        decided is not None
        and decided.status is ConsentStatus.AUTHORISED
        and decided.customer_id == customer_id
        and list(decided.account_ids) == list(account_ids)
    ):
        return ConsentRecord.from_model(decided).effective(now)
    consent = await _awaiting(session, consent_id, now)
    before = ConsentRecord.from_model(consent)
    await _check_accounts(session, consent, customer_id, account_ids)
    consent.status = ConsentStatus.AUTHORISED
    consent.status_updated_at = now
    consent.customer_id = customer_id
    consent.account_ids = list(account_ids)
    await session.flush()
    after = ConsentRecord.from_model(consent)
    _report(uow, CONSENT_AUTHORISED, before, after)
    return after


async def _lapse(uow: UnitOfWork, consent: Consent, lapsed: ConsentRecord) -> ConsentRecord:
    """Write what time already did to a locked consent: Expired (its tokens denied) or, unanswered, Rejected."""
    before = ConsentRecord.from_model(consent)
    consent.status = lapsed.status
    consent.status_updated_at = lapsed.status_updated_at
    await uow.session.flush()
    after = ConsentRecord.from_model(consent)
    if after.status is ConsentStatus.EXPIRED:
        await _deny_tokens(uow, after)
        detail = {"reason": "expiration_date_passed"}
    else:
        detail = {"reason": "authorisation_window_passed"}
    _report(uow, _LAPSE_EVENTS[after.status], before, after, actor=LAPSE_ACTOR, detail=detail)
    return after


async def reject_consent(
    uow: UnitOfWork,
    consent_id: str,
    *,
    customer_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """The customer refused the consent (or authentication failed); it can never be authorised afterwards.

    Refusing it again (a retry) returns the first result; refusing one whose time has run out meanwhile
    records that it lapsed, and returns it so.
    """
    session = uow.session
    now = now or datetime.now(UTC)
    consent = await repository.get(session, consent_id, for_update=True)
    if consent is None:
        raise ConsentNotFound(consent_id)
    if consent.status is ConsentStatus.REJECTED and consent.customer_id == customer_id:
        return ConsentRecord.from_model(consent)
    if consent.status is not ConsentStatus.AWAITING_AUTHORISATION:
        raise ConsentNotAwaitingAuthorisation(consent_id, consent.status)
    before = ConsentRecord.from_model(consent)
    lapsed = before.effective(now)
    if lapsed.status is not ConsentStatus.AWAITING_AUTHORISATION:
        return await _lapse(uow, consent, lapsed)
    consent.status = ConsentStatus.REJECTED
    consent.status_updated_at = now
    consent.customer_id = customer_id
    await session.flush()
    after = ConsentRecord.from_model(consent)
    _report(uow, CONSENT_REJECTED, before, after)
    return after


async def _revoke(
    uow: UnitOfWork,
    consent: Consent,
    revoked_by: RevokedBy,
    live: frozenset[ConsentStatus],
    now: datetime,
    psu: PsuContext | None = None,
) -> ConsentRecord:
    """Revoke a locked consent in one of the `live` statuses (at `now`); revoked already: the first result."""
    before = ConsentRecord.from_model(consent)
    if consent.kind not in REVOCABLE_KINDS:
        raise ConsentNotRevocable(consent.id, consent.status)
    if consent.status is ConsentStatus.REVOKED:
        return before
    effective = before.effective(now)
    if effective.status not in live:
        raise ConsentNotRevocable(consent.id, effective.status)
    consent.status = ConsentStatus.REVOKED
    consent.status_updated_at = now
    consent.revoked_by = revoked_by
    await uow.session.flush()
    after = ConsentRecord.from_model(consent)
    await _deny_tokens(uow, after)
    _report(uow, CONSENT_REVOKED, before, after, psu=psu)
    return after


async def revoke_consent(uow: UnitOfWork, consent_id: str, *, now: datetime | None = None) -> ConsentRecord:
    """The customer withdrew an authorised account access or funds confirmation consent; access ends now.

    Withdrawing it again (a retry, or the event after the direct call) returns the first result.
    """
    consent = await repository.get(uow.session, consent_id, for_update=True)
    if consent is None:
        raise ConsentNotFound(consent_id)
    live = frozenset({ConsentStatus.AUTHORISED})
    return await _revoke(uow, consent, RevokedBy.CUSTOMER, live, now or datetime.now(UTC))


async def withdraw_consent(
    uow: UnitOfWork,
    consent_id: str,
    *,
    client_id: str,
    psu: PsuContext | None = None,
    now: datetime | None = None,
) -> ConsentRecord:
    """The TPP deleted its consent (UK OB DELETE): awaiting or authorised, it is Revoked (CANC) from now.

    Another client's consent reads as unknown, never as someone else's. Deleting it again returns the
    first result; an ended consent (rejected, expired) stays as it is.
    """
    consent = await repository.get(uow.session, consent_id, for_update=True)
    if consent is None or consent.client_id != client_id:
        raise ConsentNotFound(consent_id)
    live = frozenset({ConsentStatus.AWAITING_AUTHORISATION, ConsentStatus.AUTHORISED})
    return await _revoke(uow, consent, RevokedBy.CLIENT, live, now or datetime.now(UTC), psu)


async def lapse_consents(uow: UnitOfWork, now: datetime | None = None, *, batch_size: int = 200) -> list[ConsentRecord]:
    """Write the lapse of up to `batch_size` consents whose time ran out (a periodic job; run it again while
    it returns a full batch)."""
    now = now or datetime.now(UTC)
    lapsed = []
    for consent in await repository.lock_lapsed(uow.session, now, AUTHORISATION_WINDOW, batch_size):
        effective = ConsentRecord.from_model(consent).effective(now)
        if effective.status is not consent.status:  # re-checked on the locked row
            lapsed.append(await _lapse(uow, consent, effective))
    return lapsed


async def authorised_consent(
    session: AsyncSession, consent_id: str, *, client_id: str, kind: ConsentKind, now: datetime
) -> ConsentRecord:
    """The client's consent of `kind`, provided it is in force at `now`.

    Another client's consent, or one of another kind, reads as unknown (ConsentNotFound); one that
    grants nothing now (awaiting, rejected, revoked, expired) is ConsentNotAuthorised.
    """
    consent = await repository.get(session, consent_id)
    if consent is None or consent.client_id != client_id or consent.kind is not kind:
        raise ConsentNotFound(consent_id)
    record = ConsentRecord.from_model(consent).effective(now)
    if record.status is not ConsentStatus.AUTHORISED:
        raise ConsentNotAuthorised(consent_id, record.status)
    return record


async def consume_consent(
    uow: UnitOfWork,
    consent_id: str,
    *,
    client_id: str,
    now: datetime,
    kinds: frozenset[ConsentKind] = PAYMENT_KINDS,
) -> ConsentRecord:
    """The payment a domestic payment consent authorised is being made, or the payment order a scheduled
    payment or standing order consent authorised is being set up: Authorised → Consumed, once.

    Called inside the payment's (or order's) own transaction, so the consent is consumed if and only if it is
    recorded. The row stays locked until that transaction ends: a second payment waits, then finds it
    Consumed. Another client's consent, or one of another kind than `kinds` (a payment kind), reads as unknown
    (ConsentNotFound); one not in force (awaiting, rejected, consumed) is ConsentNotAuthorised with its status.
    """
    consent = await repository.get(uow.session, consent_id, for_update=True)
    if consent is None or consent.client_id != client_id or consent.kind not in kinds & PAYMENT_KINDS:
        raise ConsentNotFound(consent_id)
    before = ConsentRecord.from_model(consent)
    effective = before.effective(now)
    if effective.status is not ConsentStatus.AUTHORISED:
        raise ConsentNotAuthorised(consent_id, effective.status)
    consent.status = ConsentStatus.CONSUMED
    consent.status_updated_at = now
    await uow.session.flush()
    after = ConsentRecord.from_model(consent)
    _report(uow, CONSENT_CONSUMED, before, after)
    return after


async def payment_funds_available(
    session: AsyncSession, consent_id: str, *, client_id: str, now: datetime
) -> FundsAvailability:
    """Whether the debtor account of the client's authorised payment consent could pay its amount now (its
    available balance: booked, plus overdraft, less holds; a frozen or closed account has nothing available).
    Nothing is held and nothing is stored: the answer is a moment's (UK OB: no funds are reserved)."""
    consent = await authorised_consent(
        session, consent_id, client_id=client_id, kind=ConsentKind.DOMESTIC_PAYMENT, now=now
    )
    details = consent.details
    assert isinstance(details, DomesticPaymentDetails)
    account = await accounts_service.get_account(session, consent.account_ids[0])
    available = (
        account.status is AccountStatus.ACTIVE
        and account.currency == details.amount.currency
        and account.balances.available.minor >= details.amount.minor
    )
    return FundsAvailability(available=available, checked_at=now)


def require_permission(consent: ConsentRecord, *any_of: Permission) -> None:
    """The consent grants at least one of `any_of` (a Detail permission includes its Basic one)."""
    details = consent.details
    if not isinstance(details, AccountAccessDetails) or not set(any_of) & set(details.permissions):
        raise PermissionNotGranted(f"this needs one of: {', '.join(p.value for p in any_of)}")


def require_account(consent: ConsentRecord, account_id: uuid.UUID) -> None:
    """The account is one the customer chose for the consent."""
    if account_id not in consent.account_ids:
        raise AccountNotInConsent(account_id)
