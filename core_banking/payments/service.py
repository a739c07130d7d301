"""Payments out of customers' accounts, as a saga of idempotent steps driven by the outbox.

1. **Accept** (the request's transaction): check the payee, hold the funds on the debtor account (status,
   funds with overdraft and limits, under the account's row lock), consume the TPP's consent if any; PDNG.
2. **Screen** (on `payment.submitted`): ask the fraud decision interface and record its answer; BLOCK rejects,
   REVIEW holds the payment (funds still held) until the customer confirms it with a fresh strong authentication
   or an analyst releases or rejects it, or its review window ends (rejected); both publish `payment.fraud_flagged`.
3. **Dispatch** (on `payment.screened`): a payee of this bank is paid at once (the hold captured to the payee's
   account: ACSC); another bank's is sent to the Faster Payments scheme as a pacs.008 (ACSP).
4. **Answer** (on the scheme's pacs.002): ACSC captures the hold to the scheme's settlement account; RJCT voids
   it. A payment the scheme leaves unanswered is asked about (pacs.028) after its timeout, a few times, then
   rejected and its hold voided.

Each step locks the payment row and acts only if the payment is at the step before it (`Payment.step`), in
one transaction with its ledger change, its events and its audit record: a crash between two steps replays
the next one from the outbox, and a redelivered event finds its step done. A payment therefore ends settled
or rejected, exactly once, whatever dies when.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts import identifiers
from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountClosed, AccountFrozen, AccountNotFound
from core_banking.accounts.models import AccountKind, AccountStatus, InternalPurpose
from core_banking.consents import service as consents_service
from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.customers import service as customers_service
from core_banking.customers.errors import CustomerNotFound
from core_banking.ledger import service as ledger_service
from core_banking.ledger.errors import SameAccount
from core_banking.payees import service as payees_service
from core_banking.payments import creditors, repository
from core_banking.payments.errors import InvalidPayment, PaymentNotFound, PaymentNotHeld
from core_banking.payments.models import Payment, ReceivedPayment
from core_banking.payments.schemas import (
    HoldReason,
    PaymentInitiation,
    PaymentOrigin,
    PaymentRecord,
    PaymentStatus,
    Route,
    StatusChange,
)
from faster_payments import messages
from fraud.decisions import Decision, FraudDecisions, PaymentFacts, Recommendation
from obank import metrics
from obank.crypto import KeyRing, seal, unseal
from obank.money import Money
from obank.settings import Settings
from obank.topics import FPS_TO_SCHEME_TOPIC, PAYMENTS_TOPIC
from obank.unit_of_work import UnitOfWork

# Saga steps (`Payment.step`); IN_REVIEW sits between ACCEPTED and SCREENED (held by the fraud decision).
HELD, ACCEPTED, SCREENED, SENT, ANSWERED, IN_REVIEW = 0, 1, 2, 3, 4, 5

HELD_EVENT = "payment.held"
CONFIRMED_EVENT = "payment.confirmed"
SUBMITTED = "payment.submitted"
SCREENED_EVENT = "payment.screened"
STATUS_CHANGED = "payment.status_changed"
RECEIVED = "payment.received"
RECONCILIATION_REQUIRED = "payment.reconciliation_required"
FRAUD_FLAGGED = "payment.fraud_flagged"  # the fraud decision was REVIEW or BLOCK: an alert for analysts
RELEASED = "payment.released"  # a payment held for a fraud review goes on (the customer's SCA, or an analyst)

# Long enough for any saga to end; the hold-expiry job never releases the funds of a payment in flight.
HOLD_LIFETIME = timedelta(days=7)
MAX_REFERENCE = 35
_NAME_PURPOSE = "creditor_name"

# ISO 20022 ExternalStatusReason1Code values the bank gives itself.
REASON_FRAUD = "FRAD"
REASON_TIMEOUT = "AB05"
REASON_CLOSED = "AC04"
REASON_UNKNOWN_ACCOUNT = "AC01"
REASON_BLOCKED = "AC06"
REASON_CURRENCY = "AM03"
REASON_CUSTOMER = "CUST"  # cancelled by the customer
REASON_NOT_CONFIRMED = "NOAS"  # no answer from the customer
FRAUD_TEXT = "The payment was stopped by the bank's fraud checks"


@dataclass(frozen=True, slots=True)
class CoolingOff:
    """A payment above `limit_minor` to a saved payee still in its cooling-off waits, funds held, for the
    customer to confirm it (step-up SCA) or cancel it; unconfirmed after `confirmation_window`, it is rejected."""

    limit_minor: int = 10_000
    confirmation_window: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: Settings) -> CoolingOff:
        return cls(
            limit_minor=settings.payees_cooling_off_limit_minor,
            confirmation_window=timedelta(seconds=settings.payments_confirmation_window_s),
        )


@dataclass(frozen=True, slots=True)
class FraudReview:
    """A payment the fraud decision holds (REVIEW) waits this long for the customer's confirmation or an
    analyst's decision; then it is rejected and its funds released."""

    window: timedelta = timedelta(days=3)

    @classmethod
    def from_settings(cls, settings: Settings) -> FraudReview:
        return cls(window=timedelta(seconds=settings.fraud_review_window_s))


@dataclass(frozen=True, slots=True)
class SchemeTiming:
    """How long the scheme may take to answer, how often it is asked, and its acceptance window.

    The scheme refuses a payment that reaches it later than `scheme_window` after its creation (AB05), and
    answers a status request about a payment it never saw by refusing it for good. So once the window has
    passed and the scheme has been asked `status_requests` times without an answer, rejecting the payment
    cannot contradict the scheme unless every one of its answers was lost.
    """

    answer_timeout: timedelta = timedelta(seconds=10)
    status_requests: int = 3
    scheme_window: timedelta = timedelta(seconds=10)


def _reference_id() -> str:
    """A 35-character-safe identifier (ISO 20022 Max35Text) for message, instruction and transaction ids."""
    return secrets.token_hex(16)


def _creditor_name(keyring: KeyRing, payment: Payment) -> str:
    return unseal(keyring, payment.id, _NAME_PURPOSE, payment.creditor_name_sealed).decode()


def to_record(keyring: KeyRing, payment: Payment, history: Sequence[StatusChange] = ()) -> PaymentRecord:
    return PaymentRecord(
        id=payment.id,
        origin=payment.origin,
        route=payment.route,
        customer_id=payment.customer_id,
        debtor_account_id=payment.debtor_account_id,
        amount=Money(payment.amount_minor, payment.currency),
        creditor=CreditorAccount(
            name=_creditor_name(keyring, payment),
            scheme=CreditorScheme(payment.creditor_scheme),
            identification=payment.creditor_identification,
        ),
        creditor_account_id=payment.creditor_account_id,
        reference=payment.reference,
        end_to_end_id=payment.end_to_end_id,
        instruction_id=payment.instruction_id,
        consent_id=payment.consent_id,
        client_id=payment.client_id,
        status=payment.status,
        reason=payment.reason,
        reason_text=payment.reason_text,
        created_at=payment.created_at,
        status_updated_at=payment.status_updated_at,
        payee_id=payment.payee_id,
        confirm_by=payment.answer_due_at if _held_for(payment) is not None else None,
        held_for=_held_for(payment),
        history=tuple(history),
    )


def _held_for(payment: Payment) -> HoldReason | None:
    if payment.status.final:
        return None
    return {HELD: HoldReason.PAYEE_COOLING_OFF, IN_REVIEW: HoldReason.FRAUD_REVIEW}.get(payment.step)


def _creditor_account(payment: Payment) -> str:
    """The payee's sort code and account number, 14 digits: the fraud engine's key for a payee."""
    return f"{payment.creditor_sort_code or ''}{payment.creditor_account_number or ''}"


def _snapshot(payment: Payment) -> dict[str, Any]:
    """The event payload and audit `after` of a payment: no personal data (the payee's name stays sealed)."""
    return {
        "payment_id": str(payment.id),
        "origin": payment.origin.value,
        "route": payment.route.value,
        "customer_id": str(payment.customer_id),
        "debtor_account_id": str(payment.debtor_account_id),
        "creditor_account_id": None if payment.creditor_account_id is None else str(payment.creditor_account_id),
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "status": payment.status.value,
        "reason": payment.reason,
        "consent_id": payment.consent_id,
        "client_id": payment.client_id,
        "scheme_transaction_id": payment.scheme_transaction_id,
        "payee_id": None if payment.payee_id is None else str(payment.payee_id),
        "creditor_account": _creditor_account(payment),
        "session_id": payment.session_id,
        "created_at": payment.created_at.isoformat(),
    }


def _report(uow: UnitOfWork, payment: Payment, event_type: str, *, before: dict[str, Any] | None = None) -> None:
    snapshot = _snapshot(payment)
    uow.publish(topic=PAYMENTS_TOPIC, event_type=event_type, key=str(payment.id), payload=snapshot)
    uow.audit(action=event_type, entity_type="payment", entity_id=str(payment.id), before=before, after=snapshot)


async def _set_status(
    uow: UnitOfWork,
    payment: Payment,
    status: PaymentStatus,
    now: datetime,
    *,
    reason: str | None = None,
    reason_text: str | None = None,
) -> None:
    before = {"status": payment.status.value, "step": payment.step}
    payment.status = status
    payment.reason = reason
    payment.reason_text = None if reason_text is None else reason_text[:140]
    payment.status_updated_at = now
    await repository.add_status_change(uow.session, payment.id, status, now, reason, payment.reason_text)
    _report(uow, payment, STATUS_CHANGED, before=before)
    metrics.payment_status_changed(uow.session, status.value)


# 1. Accept -------------------------------------------------------------------------------------------------


async def _route(
    session: AsyncSession, initiation: PaymentInitiation
) -> tuple[Route, creditors.UkAccount, uuid.UUID | None]:
    payee = creditors.uk_account(initiation.creditor)
    if not payee.ours:
        if initiation.amount.currency != creditors.FASTER_PAYMENTS_CURRENCY:
            raise InvalidPayment(
                "payments to other banks are in GBP (Faster Payments)",
                field="Data.Initiation.InstructedAmount.Currency",
            )
        return Route.FASTER_PAYMENTS, payee, None
    account = await repository.customer_account_by_number(session, payee.sort_code, payee.account_number)
    if account is None:
        raise InvalidPayment(
            "no account of this bank has that number", field="Data.Initiation.CreditorAccount.Identification"
        )
    if account.id == initiation.debtor_account_id:
        raise SameAccount(account.id)
    if account.currency != initiation.amount.currency:
        raise InvalidPayment(
            f"the payee's account holds {account.currency}", field="Data.Initiation.InstructedAmount.Currency"
        )
    return Route.INTERNAL, payee, account.id


def _check_initiation(initiation: PaymentInitiation) -> None:
    if initiation.amount.minor <= 0:
        raise InvalidPayment("the amount must be positive", field="Data.Initiation.InstructedAmount.Amount")
    reference = initiation.reference
    if reference is not None and not 0 < len(reference) <= MAX_REFERENCE:
        raise InvalidPayment(
            f"the reference must be 1 to {MAX_REFERENCE} characters",
            field="Data.Initiation.RemittanceInformation.Reference",
        )
    for value, name in (
        (initiation.end_to_end_id, "EndToEndIdentification"),
        (initiation.instruction_id, "InstructionIdentification"),
    ):
        if value is not None and not 0 < len(value) <= 35:
            raise InvalidPayment("must be 1 to 35 characters", field=f"Data.Initiation.{name}")


async def _held_for_confirmation(
    uow: UnitOfWork, initiation: PaymentInitiation, cooling_off: CoolingOff | None, now: datetime
) -> bool:
    if initiation.payee_id is None or cooling_off is None or initiation.amount.minor <= cooling_off.limit_minor:
        return False
    payee = await payees_service.resolve_payee(uow.session, uow.keyring, initiation.customer_id, initiation.payee_id)
    return payee.cooling_off_until > now


async def submit_payment(
    uow: UnitOfWork,
    initiation: PaymentInitiation,
    *,
    now: datetime | None = None,
    cooling_off: CoolingOff | None = None,
) -> PaymentRecord:
    """Accept a payment (step 1): the payee checked, the funds held, the consent consumed; PDNG.

    A payment to a saved payee in its cooling-off above `cooling_off.limit_minor` is accepted at step HELD
    instead: its funds held, it waits for `confirm_payment` (or `cancel_payment`, or the deadline).

    Raises InvalidPayment (naming the field), AccountNotFound for an account not the customer's, and the
    ledger's refusals (InsufficientFunds, LimitExceeded, AccountFrozen, AccountClosed); nothing is kept then.
    """
    _check_initiation(initiation)
    session = uow.session
    now = now or datetime.now(UTC)
    debtor = await accounts_service.get_account(session, initiation.debtor_account_id)
    if debtor.kind is not AccountKind.CUSTOMER or debtor.customer_id != initiation.customer_id:
        raise AccountNotFound(initiation.debtor_account_id)
    route, payee, creditor_account_id = await _route(session, initiation)
    if initiation.consent_id is not None:
        if initiation.client_id is None:
            raise InvalidPayment("a consent belongs to a TPP", field="Data.ConsentId")
        # In this transaction: the consent is consumed if and only if the payment is accepted.
        await consents_service.consume_consent(uow, initiation.consent_id, client_id=initiation.client_id, now=now)
    held = await _held_for_confirmation(uow, initiation, cooling_off, now)
    payment_id = uuid.uuid4()
    hold = await ledger_service.place_hold(
        session,
        initiation.debtor_account_id,
        initiation.amount,
        expires_at=now + HOLD_LIFETIME,
        description=f"Payment to {initiation.creditor.name.strip()}"[:140],
        reference=str(payment_id),
        now=now,
    )
    origin = PaymentOrigin.OPEN_BANKING if initiation.client_id is not None else PaymentOrigin.CUSTOMER
    payment = Payment(
        id=payment_id,
        origin=origin,
        route=route,
        customer_id=initiation.customer_id,
        debtor_account_id=initiation.debtor_account_id,
        amount_minor=initiation.amount.minor,
        currency=initiation.amount.currency,
        creditor_name_sealed=seal(uow.keyring, payment_id, _NAME_PURPOSE, initiation.creditor.name.strip().encode()),
        creditor_scheme=initiation.creditor.scheme.value,
        creditor_identification=initiation.creditor.identification,
        creditor_sort_code=payee.sort_code,
        creditor_account_number=payee.account_number,
        creditor_account_id=creditor_account_id,
        reference=initiation.reference,
        end_to_end_id=initiation.end_to_end_id or _reference_id(),
        instruction_id=initiation.instruction_id or _reference_id(),
        scheme_transaction_id=_reference_id(),
        consent_id=initiation.consent_id,
        client_id=initiation.client_id,
        status=PaymentStatus.PENDING,
        step=HELD if held else ACCEPTED,
        hold_id=hold.id,
        status_requests=0,
        payee_id=initiation.payee_id,
        session_id=initiation.session_id,
        answer_due_at=now + cooling_off.confirmation_window if held and cooling_off else None,
        created_at=now,
        status_updated_at=now,
    )
    await repository.add(session, payment)
    await repository.add_status_change(session, payment.id, PaymentStatus.PENDING, now)
    _report(uow, payment, HELD_EVENT if held else SUBMITTED)
    return to_record(uow.keyring, payment, (StatusChange(PaymentStatus.PENDING, None, None, now),))


# Held for the customer's confirmation ---------------------------------------------------------------------


async def _held(uow: UnitOfWork, payment_id: uuid.UUID, customer_id: uuid.UUID) -> Payment:
    payment = await repository.get(uow.session, payment_id, for_update=True)
    if payment is None or payment.customer_id != customer_id:
        raise PaymentNotFound(payment_id)
    return payment


async def confirm_payment(
    uow: UnitOfWork, payment_id: uuid.UUID, customer_id: uuid.UUID, *, now: datetime | None = None
) -> PaymentRecord:
    """The customer confirms a payment held in its payee's cooling-off (it goes on to screening) or held for a
    fraud review (it goes on to its payee). Confirming again changes nothing; a payment that ended (cancelled,
    rejected, or its deadline passed) cannot be confirmed."""
    payment = await _held(uow, payment_id, customer_id)
    now = now or datetime.now(UTC)
    if payment.step in (HELD, IN_REVIEW):
        if payment.status.final or (payment.answer_due_at is not None and payment.answer_due_at <= now):
            raise PaymentNotHeld("the payment's time to be confirmed has passed")
        if payment.step == IN_REVIEW:
            _release(uow, payment, released_by="customer", staff_id=None)
        else:
            payment.step = ACCEPTED
            payment.answer_due_at = None
            uow.audit(
                action=CONFIRMED_EVENT, entity_type="payment", entity_id=str(payment.id), after=_snapshot(payment)
            )
            _report(uow, payment, SUBMITTED)
    elif payment.status is PaymentStatus.REJECTED and payment.reason in (
        REASON_CUSTOMER,
        REASON_NOT_CONFIRMED,
        REASON_FRAUD,
    ):
        raise PaymentNotHeld("the payment was cancelled before it was confirmed")
    return (await _with_history(uow.session, uow.keyring, [payment]))[0]


async def cancel_payment(
    uow: UnitOfWork, payment_id: uuid.UUID, customer_id: uuid.UUID, *, now: datetime | None = None
) -> PaymentRecord:
    """The customer cancels a payment held for confirmation or for a fraud review: rejected (CUST), its funds
    released. Cancelling a cancelled one again changes nothing; a payment already on its way cannot be cancelled."""
    payment = await _held(uow, payment_id, customer_id)
    if payment.step in (HELD, IN_REVIEW) and not payment.status.final:
        await _compensate(uow, payment, now or datetime.now(UTC), REASON_CUSTOMER, "Cancelled by the customer")
    elif payment.reason != REASON_CUSTOMER:
        raise PaymentNotHeld("only a payment waiting for confirmation can be cancelled")
    return (await _with_history(uow.session, uow.keyring, [payment]))[0]


async def reject_unconfirmed(uow: UnitOfWork, *, now: datetime | None = None, batch_size: int = 100) -> int:
    """Reject held payments whose customer did not confirm them in time (NOAS), and payments held for a fraud
    review that neither the customer nor an analyst released in time (FRAD), releasing their funds."""
    now = now or datetime.now(UTC)
    expired = await repository.unconfirmed(uow.session, HELD, now, batch_size)
    for payment in expired:
        await _compensate(uow, payment, now, REASON_NOT_CONFIRMED, "Not confirmed by the customer in time")
    unreviewed = await repository.unconfirmed(uow.session, IN_REVIEW, now, batch_size)
    for payment in unreviewed:
        await _compensate(uow, payment, now, REASON_FRAUD, FRAUD_TEXT)
    return len(expired) + len(unreviewed)


# Held for a fraud review ----------------------------------------------------------------------------------


def _release(uow: UnitOfWork, payment: Payment, *, released_by: str, staff_id: str | None) -> None:
    """A payment held for review goes on to its payee (dispatch, on `payment.screened`)."""
    payment.step = SCREENED
    payment.answer_due_at = None
    payload = {**_snapshot(payment), "released_by": released_by, "staff_id": staff_id}
    uow.publish(topic=PAYMENTS_TOPIC, event_type=RELEASED, key=str(payment.id), payload=payload)
    uow.audit(action=RELEASED, entity_type="payment", entity_id=str(payment.id), after=payload)
    _report(uow, payment, SCREENED_EVENT)


def _was_released(payment: Payment) -> bool:
    return (
        payment.fraud_recommendation == Recommendation.REVIEW.value
        and payment.step not in (HELD, ACCEPTED, IN_REVIEW)
        and payment.reason not in (REASON_FRAUD, REASON_CUSTOMER)
    )


async def _in_review(uow: UnitOfWork, payment_id: uuid.UUID) -> Payment:
    payment = await repository.get(uow.session, payment_id, for_update=True)
    if payment is None:
        raise PaymentNotFound(payment_id)
    return payment


async def release_reviewed_payment(
    uow: UnitOfWork, payment_id: uuid.UUID, *, staff_id: str, now: datetime | None = None
) -> PaymentRecord:
    """An analyst releases a payment held for a fraud review: it goes on. Releasing it again changes nothing;
    one that ended, or was never held for review, cannot be released."""
    payment = await _in_review(uow, payment_id)
    if payment.step == IN_REVIEW and not payment.status.final:
        if payment.answer_due_at is not None and payment.answer_due_at <= (now or datetime.now(UTC)):
            raise PaymentNotHeld("the payment's review window has passed")
        _release(uow, payment, released_by="staff", staff_id=staff_id)
    elif not _was_released(payment):
        raise PaymentNotHeld("the payment is not held for a fraud review")
    return (await _with_history(uow.session, uow.keyring, [payment]))[0]


async def reject_reviewed_payment(
    uow: UnitOfWork, payment_id: uuid.UUID, *, staff_id: str, now: datetime | None = None
) -> PaymentRecord:
    """An analyst rejects a payment held for a fraud review (FRAD): its funds are released. Rejecting it again
    changes nothing; one already on its way or never held for review cannot be rejected."""
    payment = await _in_review(uow, payment_id)
    if payment.step == IN_REVIEW and not payment.status.final:
        await _compensate(uow, payment, now or datetime.now(UTC), REASON_FRAUD, FRAUD_TEXT)
        uow.audit(
            action="payment.review_rejected",
            entity_type="payment",
            entity_id=str(payment.id),
            after={"staff_id": staff_id, "reason": REASON_FRAUD},
        )
    elif not (
        payment.status is PaymentStatus.REJECTED
        and payment.reason == REASON_FRAUD
        and payment.fraud_recommendation == Recommendation.REVIEW.value
    ):
        raise PaymentNotHeld("the payment is not held for a fraud review")
    return (await _with_history(uow.session, uow.keyring, [payment]))[0]


# Strong customer authentication ---------------------------------------------------------------------------

NEW_PAYEE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class StepUpPolicy:
    """When a customer's own payment needs a fresh strong authentication (PSD2 SCA, RFC 9470 step-up)."""

    above_minor: int = 25_000
    max_age: timedelta = timedelta(minutes=5)


async def step_up_reason(
    session: AsyncSession, initiation: PaymentInitiation, policy: StepUpPolicy, now: datetime
) -> str | None:
    """Why this payment needs a fresh strong authentication (a large amount, a new payee), or None."""
    if initiation.amount.minor > policy.above_minor:
        return f"payments above {policy.above_minor} minor units need a fresh strong authentication"
    if initiation.payee_id is not None:
        return None  # a saved payee: added with a strong authentication
    payee = creditors.uk_account(initiation.creditor)
    if not await repository.paid_before(
        session, initiation.customer_id, payee.sort_code, payee.account_number, now - NEW_PAYEE_WINDOW
    ):
        return "a payee first paid less than 24 hours ago needs a fresh strong authentication"
    return None


# Reads -----------------------------------------------------------------------------------------------------


async def _with_history(session: AsyncSession, keyring: KeyRing, payments: Sequence[Payment]) -> list[PaymentRecord]:
    changes: dict[uuid.UUID, list[StatusChange]] = {payment.id: [] for payment in payments}
    for change in await repository.history(session, list(changes)):
        changes[change.payment_id].append(
            StatusChange(change.status, change.reason, change.reason_text, change.changed_at)
        )
    return [to_record(keyring, payment, changes[payment.id]) for payment in payments]


async def get_payment(
    session: AsyncSession,
    keyring: KeyRing,
    payment_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
    client_id: str | None = None,
) -> PaymentRecord:
    """A payment with its history; one of another customer or TPP is not found."""
    payment = await repository.get(session, payment_id)
    if (
        payment is None
        or (customer_id is not None and payment.customer_id != customer_id)
        or (client_id is not None and payment.client_id != client_id)
    ):
        raise PaymentNotFound(payment_id)
    return (await _with_history(session, keyring, [payment]))[0]


async def list_payments(
    session: AsyncSession, keyring: KeyRing, customer_id: uuid.UUID, *, limit: int = 50, before: datetime | None = None
) -> list[PaymentRecord]:
    """The customer's payments, newest first."""
    return await _with_history(
        session, keyring, await repository.list_for_customer(session, customer_id, limit=limit, before=before)
    )


async def list_customer_payments(
    session: AsyncSession, keyring: KeyRing, customer_id: uuid.UUID, *, limit: int = 50, before: datetime | None = None
) -> list[PaymentRecord]:
    """Staff's view of a customer's payments, newest first; an unknown customer is CustomerNotFound."""
    if not await customers_service.customer_exists(session, customer_id):
        raise CustomerNotFound(customer_id)
    return await list_payments(session, keyring, customer_id, limit=limit, before=before)


# 2. Screen -------------------------------------------------------------------------------------------------


async def _locked_at(session: AsyncSession, payment_id: uuid.UUID, step: int) -> Payment | None:
    """The payment, locked, if it waits for the step after `step`; None when that step is done (a redelivery)."""
    payment = await repository.get(session, payment_id, for_update=True)
    if payment is None or payment.step != step or payment.status.final:
        return None
    return payment


async def _compensate(uow: UnitOfWork, payment: Payment, now: datetime, reason: str, text: str) -> None:
    """Reject the payment and release its hold: the money never left."""
    await ledger_service.void_hold(uow.session, payment.hold_id, now=now)
    payment.step = ANSWERED
    payment.answer_due_at = None
    await _set_status(uow, payment, PaymentStatus.REJECTED, now, reason=reason, reason_text=text)


async def screen(
    uow: UnitOfWork,
    payment_id: uuid.UUID,
    fraud: FraudDecisions,
    *,
    review: FraudReview | None = None,
    now: datetime | None = None,
) -> bool:
    """Step 2: the fraud decision, recorded with the payment; BLOCK rejects it, REVIEW holds it for the
    customer's confirmation or an analyst (`review.window`). False if already screened."""
    payment = await _locked_at(uow.session, payment_id, ACCEPTED)
    if payment is None:
        return False
    decision: Decision = await fraud.decide(
        PaymentFacts(
            payment_id=payment.id,
            customer_id=payment.customer_id,
            debtor_account_id=payment.debtor_account_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            creditor_identification=payment.creditor_identification,
            external=payment.route is Route.FASTER_PAYMENTS,
            client_id=payment.client_id,
            created_at=payment.created_at,
            creditor_account=_creditor_account(payment),
            payee_id=payment.payee_id,
            session_id=payment.session_id,
        )
    )
    now = now or datetime.now(UTC)
    payment.fraud_score = decision.score
    payment.fraud_recommendation = decision.recommendation.value
    uow.audit(
        action="payment.fraud_decision",
        entity_type="payment",
        entity_id=str(payment.id),
        after=decision.snapshot(),
    )
    if decision.recommendation in (Recommendation.REVIEW, Recommendation.BLOCK):
        payload = {**_snapshot(payment), "fraud": decision.snapshot()}
        uow.publish(topic=PAYMENTS_TOPIC, event_type=FRAUD_FLAGGED, key=str(payment.id), payload=payload)
    if decision.recommendation is Recommendation.BLOCK:
        await _compensate(uow, payment, now, REASON_FRAUD, FRAUD_TEXT)
        return True
    if decision.recommendation is Recommendation.REVIEW:
        payment.step = IN_REVIEW
        payment.answer_due_at = now + (review or FraudReview()).window
        uow.audit(action="payment.held_for_review", entity_type="payment", entity_id=str(payment.id))
        return True
    payment.step = SCREENED
    _report(uow, payment, SCREENED_EVENT)
    return True


# 3. Dispatch -----------------------------------------------------------------------------------------------


async def _settlement_account(uow: UnitOfWork, currency: str, now: datetime) -> uuid.UUID:
    account = await accounts_service.ensure_internal_account(uow, InternalPurpose.FASTER_PAYMENTS, currency, now=now)
    return account.id


async def _capture(uow: UnitOfWork, payment: Payment, credit_account_id: uuid.UUID, now: datetime) -> None:
    captured = await ledger_service.capture_hold(
        uow.session,
        payment.hold_id,
        credit_account_id,
        description=f"Payment to {_creditor_name(uow.keyring, payment)}"[:140],
        reference=str(payment.id),
        now=now,
    )
    payment.settlement_entry_id = captured.entry.id
    payment.step = ANSWERED
    payment.answer_due_at = None
    await _set_status(uow, payment, PaymentStatus.ACCEPTED_SETTLEMENT_COMPLETED, now)


def credit_transfer(
    keyring: KeyRing, payment: Payment, debtor_sort_code: str, debtor_number: str, debtor_name: str
) -> messages.CreditTransfer:
    assert payment.creditor_sort_code is not None and payment.creditor_account_number is not None
    return messages.CreditTransfer(
        message_id=_credit_transfer_message_id(payment),
        transaction_id=payment.scheme_transaction_id,
        end_to_end_id=payment.end_to_end_id,
        instruction_id=payment.instruction_id,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        debtor=messages.Party(name=debtor_name, sort_code=debtor_sort_code, account_number=debtor_number),
        creditor=messages.Party(
            name=_creditor_name(keyring, payment),
            sort_code=payment.creditor_sort_code,
            account_number=payment.creditor_account_number,
        ),
        reference=payment.reference,
        created_at=payment.created_at,
        settlement_date=payment.created_at.date(),
    )


def _credit_transfer_message_id(payment: Payment) -> str:
    """The pacs.008's MsgId, derived from the transaction id: a status request names it without storing it."""
    return f"M{payment.scheme_transaction_id}"


def _send(uow: UnitOfWork, message: messages.Message, transaction_id: str) -> None:
    definition, xml = messages.encode(message)
    uow.publish(topic=FPS_TO_SCHEME_TOPIC, event_type=definition, key=transaction_id, payload={"xml": xml})


async def dispatch(
    uow: UnitOfWork, payment_id: uuid.UUID, timing: SchemeTiming, *, now: datetime | None = None
) -> bool:
    """Step 3: pay a payee of this bank at once, or send the payment to the scheme. False if already done."""
    payment = await _locked_at(uow.session, payment_id, SCREENED)
    if payment is None:
        return False
    now = now or datetime.now(UTC)
    if payment.route is Route.INTERNAL:
        assert payment.creditor_account_id is not None
        try:
            async with uow.savepoint():
                await _capture(uow, payment, payment.creditor_account_id, now)
        except (AccountClosed, AccountFrozen, AccountNotFound) as refusal:
            # The payee's account closed after acceptance; frozen debtors cannot pay either.
            reason = REASON_CLOSED if isinstance(refusal, AccountClosed) else REASON_BLOCKED
            await _compensate(uow, payment, now, reason, refusal.title)
        return True
    debtor = await accounts_service.get_account(uow.session, payment.debtor_account_id)
    customer = await customers_service.get_customer(uow.session, uow.keyring, payment.customer_id)
    transfer = credit_transfer(uow.keyring, payment, debtor.sort_code, debtor.account_number, customer.full_name)
    _send(uow, transfer, payment.scheme_transaction_id)
    payment.step = SENT
    payment.answer_due_at = now + timing.answer_timeout
    await _set_status(uow, payment, PaymentStatus.ACCEPTED_SETTLEMENT_IN_PROCESS, now)
    return True


# 4. The scheme's answer ------------------------------------------------------------------------------------


async def apply_status_report(uow: UnitOfWork, report: messages.StatusReport, *, now: datetime | None = None) -> bool:
    """Step 4: settle (ACSC) or compensate (RJCT) a payment sent to the scheme; False when nothing changed.

    A repeated answer finds the payment final and changes nothing; an answer contradicting a final status
    (the scheme settled a payment the bank gave up on) is published for reconciliation, never booked twice.
    """
    session = uow.session
    payment = await repository.get_by_transaction(session, report.original_transaction_id, for_update=True)
    if payment is None or payment.route is not Route.FASTER_PAYMENTS:
        return False
    now = now or datetime.now(UTC)
    status = report.status
    if payment.status.final:
        answered = PaymentStatus.ACCEPTED_SETTLEMENT_COMPLETED if status == "ACSC" else PaymentStatus.REJECTED
        if status in ("ACSC", "RJCT") and answered is not payment.status and payment.contradicted_at is None:
            # Once per payment: the scheme's duplicates and later answers say the same again.
            payment.contradicted_at = now
            _report(uow, payment, RECONCILIATION_REQUIRED, before={"scheme_status": str(status)})
        return False
    if payment.step != SENT:
        return False  # not sent yet: an answer cannot precede its question
    if status == "ACSC":
        await _capture(uow, payment, await _settlement_account(uow, payment.currency, now), now)
        return True
    if status == "RJCT":
        await _compensate(
            uow, payment, now, (report.reason or "NARR")[:4], "Rejected by the payee's bank or the scheme"
        )
        return True
    return False  # ACSP / PDNG: still in process; the chase asks again when due


async def chase_overdue(
    uow: UnitOfWork, timing: SchemeTiming, *, now: datetime | None = None, batch_size: int = 100
) -> int:
    """Ask the scheme about payments whose answer is overdue; once asked enough and past the scheme's
    window, reject them (AB05) and release their funds."""
    now = now or datetime.now(UTC)
    chased = 0
    for payment in await repository.overdue(uow.session, now, batch_size):
        window_closed = now >= payment.created_at + timing.scheme_window + timing.answer_timeout
        if payment.status_requests >= timing.status_requests and window_closed:
            await _compensate(uow, payment, now, REASON_TIMEOUT, "The scheme did not answer in time")
        else:
            _send(
                uow,
                messages.StatusRequest(
                    message_id=_reference_id(),
                    original_message_id=_credit_transfer_message_id(payment),
                    original_transaction_id=payment.scheme_transaction_id,
                    original_end_to_end_id=payment.end_to_end_id,
                    created_at=now,
                ),
                payment.scheme_transaction_id,
            )
            payment.status_requests += 1
            payment.answer_due_at = now + timing.answer_timeout
            uow.audit(
                action="payment.status_requested",
                entity_type="payment",
                entity_id=str(payment.id),
                after={"status_requests": payment.status_requests},
            )
        chased += 1
    return chased


# Payments received -----------------------------------------------------------------------------------------


async def receive(uow: UnitOfWork, transfer: messages.CreditTransfer, *, now: datetime | None = None) -> bool:
    """Credit a payment another bank sent through the scheme, once per transaction id, and answer the scheme.

    A duplicated message is answered again with the first answer and credits nothing.
    """
    session = uow.session
    now = now or datetime.now(UTC)
    claimed = await repository.claim_received(
        session,
        ReceivedPayment(
            scheme_transaction_id=transfer.transaction_id,
            message_id=transfer.message_id,
            end_to_end_id=transfer.end_to_end_id,
            amount_minor=transfer.amount_minor,
            currency=transfer.currency,
            status=PaymentStatus.PENDING,
            received_at=now,
        ),
    )
    if not claimed:
        received = await repository.get_received(session, transfer.transaction_id)
        if received is not None and received.status.final:
            _answer(uow, transfer, received.status, received.reason, now)
        return False
    status: PaymentStatus = PaymentStatus.REJECTED
    reason: str | None = REASON_UNKNOWN_ACCOUNT
    entry_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    creditor = transfer.creditor
    account = (
        await repository.customer_account_by_number(session, creditor.sort_code, creditor.account_number)
        if creditor.sort_code == identifiers.SORT_CODE
        else None
    )
    if account is not None:
        account_id = account.id
        if account.status is AccountStatus.CLOSED:
            reason = REASON_CLOSED
        elif account.currency != transfer.currency:
            reason = REASON_CURRENCY
        else:
            entry = await ledger_service.post_transfer(
                session,
                await _settlement_account(uow, transfer.currency, now),
                account.id,
                Money(transfer.amount_minor, transfer.currency),
                description=f"Payment from {transfer.debtor.name}"[:140],
                reference=transfer.reference or transfer.end_to_end_id,
                apply_limits=False,
                now=now,
            )
            status, reason, entry_id = PaymentStatus.ACCEPTED_SETTLEMENT_COMPLETED, None, entry.id
    await repository.settle_received(session, transfer.transaction_id, status, reason, entry_id, account_id)
    payload = {
        "scheme_transaction_id": transfer.transaction_id,
        "account_id": None if account_id is None else str(account_id),
        "amount_minor": transfer.amount_minor,
        "currency": transfer.currency,
        "status": status.value,
        "reason": reason,
        "entry_id": None if entry_id is None else str(entry_id),
    }
    uow.publish(
        topic=PAYMENTS_TOPIC, event_type=RECEIVED, key=str(account_id or transfer.transaction_id), payload=payload
    )
    uow.audit(action=RECEIVED, entity_type="received_payment", entity_id=transfer.transaction_id, after=payload)
    _answer(uow, transfer, status, reason, now)
    return True


def _answer(
    uow: UnitOfWork, transfer: messages.CreditTransfer, status: PaymentStatus, reason: str | None, now: datetime
) -> None:
    _send(
        uow,
        messages.StatusReport(
            message_id=_reference_id(),
            original_message_id=transfer.message_id,
            original_transaction_id=transfer.transaction_id,
            original_end_to_end_id=transfer.end_to_end_id,
            status=messages.TransactionStatus(status.value),
            reason=reason,
            created_at=now,
        ),
        transfer.transaction_id,
    )
