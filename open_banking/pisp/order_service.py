"""Domestic scheduled payments and standing orders as a PISP sees them; core banking owns the consents and the
payment orders behind its facade, and runs each occurrence through the payment saga.

As for a domestic payment, a consent keeps the PISP's Initiation and Risk as sent; the order names its
consent and repeats the Initiation, which must mean the same (else 400 U008 naming the first field that
differs); core banking consumes the consent in the order's own transaction, so a consent sets up at most one
order, and the same x-idempotency-key again gets that order. A requested date is the bank day it falls on
in London (Europe/London); the payment is made at the bank's execution hour that day, or the next business
day.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from core_banking.facade import (
    ConsentKind,
    ConsentRecord,
    ConsentStatus,
    CoreBanking,
    Frequency,
    OrderKind,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    PaymentOrderDetails,
    PaymentOrderNotFound,
    PaymentRecord,
    RunOutcome,
)
from obank.ob_errors import OBErrorCode
from open_banking.auth import TppUnderConsent
from open_banking.errors import ConsentOfAnotherTpp, FieldInvalid
from open_banking.fapi import FapiHeaders
from open_banking.pisp import service
from open_banking.pisp.errors import (
    ConsentNotInForce,
    FieldMissing,
    NotThisConsentsToken,
    PaymentConsentNotFound,
    PaymentNotKnown,
    PaymentOfAnotherTpp,
    answered_in_ob_terms,
)
from open_banking.pisp.order_schemas import (
    OBFrequency6,
    OBWriteDomesticScheduledResponse5,
    OBWriteDomesticStandingOrderResponse6,
    ScheduledInitiation,
    ScheduledResponseData,
    ScheduledStatusCode,
    StandingOrderInitiation,
    StandingOrderResponseData,
    StandingOrderStatusCode,
)
from open_banking.pisp.schemas import (
    OBRisk1,
    OBStatusDetail,
    OBStatusReason,
    OBWritePaymentDetailsResponse1,
    PaymentStatusEntry,
    clip,
    payment_status_entries,
    status_code,
    status_reasons,
)
from open_banking.schemas import Links

INITIATION = service.INITIATION
MANDATE = f"{INITIATION}.MandateRelatedInformation"
FREQUENCY = f"{MANDATE}.Frequency"
NUMBER_OF_PAYMENTS = f"{INITIATION}.NumberOfPayments"
_WHOLE_NUMBER = re.compile(r"[0-9]{1,35}")
# Why an occurrence was refused (core banking's codes), as ISO 20022 status reasons (`OBExternalStatusReason1Code`).
_RUN_REASONS = {
    "insufficient_funds": OBErrorCode.INSUFFICIENT_FUNDS,
    "limit_exceeded": OBErrorCode.NOT_ALLOWED_AMOUNT,
    "account_frozen": OBErrorCode.BLOCKED_ACCOUNT,
    "account_closed": OBErrorCode.CLOSED_ACCOUNT,
}


@dataclass(frozen=True, slots=True)
class OrderFamily:
    """One kind of payment order as the API serves it: its consent kind, its words and its id's path name."""

    consent_kind: ConsentKind
    order_kind: OrderKind
    consent_words: str
    order_words: str
    id_path: str


SCHEDULED = OrderFamily(
    ConsentKind.DOMESTIC_SCHEDULED_PAYMENT,
    OrderKind.SCHEDULED,
    "domestic scheduled payment consent",
    "domestic scheduled payment",
    "DomesticScheduledPaymentId",
)
STANDING_ORDERS = OrderFamily(
    ConsentKind.DOMESTIC_STANDING_ORDER,
    OrderKind.STANDING_ORDER,
    "domestic standing order consent",
    "domestic standing order",
    "DomesticStandingOrderId",
)


def _refuse_refund_account(read_refund_account: str | None) -> None:
    if read_refund_account == "Yes":
        raise FieldInvalid("this bank does not share refund accounts", "Data.ReadRefundAccount")


def scheduled_details(initiation: ScheduledInitiation, risk: OBRisk1) -> PaymentOrderDetails:
    """A scheduled payment consent in core banking's terms, with the Initiation and Risk as the PISP sent them."""
    service.check_local_instrument(initiation)
    return PaymentOrderDetails(
        amount=service.instructed_money(initiation.InstructedAmount),
        creditor=service.creditor(initiation),
        first_payment_at=initiation.RequestedExecutionDateTime,
        reference=initiation.reference,
        instruction_id=initiation.InstructionIdentification,
        end_to_end_id=initiation.EndToEndIdentification,
        debtor_account=service.debtor(initiation),
        initiation=initiation.as_sent(),
        risk=risk.as_sent(),
    )


def _frequency(frequency: OBFrequency6) -> Frequency:
    """The `OBFrequency6Code` this bank pays at; schedule patterns and counts within a period it does not."""
    try:
        paid = Frequency(frequency.Type)
    except ValueError:
        codes = ", ".join(f.value for f in Frequency)
        raise FieldInvalid(f"this bank pays standing orders at {codes}", f"{FREQUENCY}.Type") from None
    if frequency.CountPerPeriod not in (None, 1):
        raise FieldInvalid("this bank pays one payment per period", f"{FREQUENCY}.CountPerPeriod")
    if frequency.PointInTime is not None:
        raise FieldInvalid("this bank pays on the first payment date's day of each period", f"{FREQUENCY}.PointInTime")
    return paid


def _number_of_payments(text: str | None) -> int | None:
    if text is None:
        return None
    if not _WHOLE_NUMBER.fullmatch(text):
        raise FieldInvalid("must be a whole number of payments, in digits", NUMBER_OF_PAYMENTS)
    return int(text)


def standing_order_details(initiation: StandingOrderInitiation, risk: OBRisk1) -> PaymentOrderDetails:
    """A standing order consent in core banking's terms, with the Initiation and Risk as the PISP sent them."""
    mandate = initiation.MandateRelatedInformation
    if mandate.Classification not in (None, "FIXE"):
        raise FieldInvalid("this bank pays standing orders of fixed amounts (FIXE)", f"{MANDATE}.Classification")
    if mandate.FirstPaymentDateTime is None:
        raise FieldMissing("this bank needs the first payment's date", f"{MANDATE}.FirstPaymentDateTime")
    frequency = _frequency(mandate.Frequency)
    recurring = initiation.RecurringPaymentAmount
    final = initiation.FinalPaymentAmount
    details = PaymentOrderDetails(
        amount=service.instructed_money(initiation.FirstPaymentAmount, f"{INITIATION}.FirstPaymentAmount"),
        creditor=service.creditor(initiation),
        first_payment_at=mandate.FirstPaymentDateTime,
        frequency=frequency,
        final_payment_at=mandate.FinalPaymentDateTime,
        payments_total=_number_of_payments(initiation.NumberOfPayments),
        recurring_amount=None
        if recurring is None
        else service.instructed_money(recurring, f"{INITIATION}.RecurringPaymentAmount"),
        final_amount=None if final is None else service.instructed_money(final, f"{INITIATION}.FinalPaymentAmount"),
        reference=initiation.reference,
        debtor_account=service.debtor(initiation),
        initiation=initiation.as_sent(),
        risk=risk.as_sent(),
    )
    second = mandate.RecurringPaymentDateTime
    if second is not None and not details.recurs_from(second):
        raise FieldInvalid(
            f"this bank pays the recurring payments every {frequency.value} from the first payment date"
            f" (the second on {details.second_date})",
            f"{MANDATE}.RecurringPaymentDateTime",
        )
    return details


async def create_consent(
    core_banking: CoreBanking,
    family: OrderFamily,
    client_id: str,
    details: PaymentOrderDetails,
    read_refund_account: str | None,
    idempotency_key: str,
    fapi: FapiHeaders,
) -> ConsentRecord:
    """A consent awaiting the PSU; under a key already used with the same body, the consent it created, as it is now."""
    _refuse_refund_account(read_refund_account)
    with answered_in_ob_terms("ConsentId", family.consent_words):
        return await core_banking.create_payment_order_consent(
            client_id, family.consent_kind, details, idempotency_key=idempotency_key, psu=service.psu_of(fapi)
        )


def scheduled_initiation(consent: ConsentRecord) -> tuple[ScheduledInitiation, OBRisk1]:
    """The scheduled payment consent's Initiation and Risk as the PISP sent them."""
    details = consent.details
    assert isinstance(details, PaymentOrderDetails) and details.initiation is not None  # made through this API
    return ScheduledInitiation.model_validate(details.initiation), OBRisk1.model_validate(details.risk or {})


def standing_order_initiation(consent: ConsentRecord) -> tuple[StandingOrderInitiation, OBRisk1]:
    """The standing order consent's Initiation and Risk as the PISP sent them."""
    details = consent.details
    assert isinstance(details, PaymentOrderDetails) and details.initiation is not None  # made through this API
    return StandingOrderInitiation.model_validate(details.initiation), OBRisk1.model_validate(details.risk or {})


async def get_consent(
    core_banking: CoreBanking, family: OrderFamily, client_id: str, consent_id: str, path: str = "ConsentId"
) -> ConsentRecord:
    """The TPP's consent of the family's kind; another kind reads as an unknown id, another TPP's is 403."""
    with answered_in_ob_terms(path, family.consent_words):
        consent = await core_banking.get_consent(consent_id)
    if consent.kind is not family.consent_kind:
        raise PaymentConsentNotFound(path, family.consent_words)
    if consent.client_id != client_id:
        raise ConsentOfAnotherTpp
    return consent


async def make_order(
    core_banking: CoreBanking,
    family: OrderFamily,
    tpp: TppUnderConsent,
    consent_id: str,
    submitted: ScheduledInitiation | StandingOrderInitiation,
    idempotency_key: str,
    fapi: FapiHeaders,
) -> tuple[OrderRecord, ConsentRecord]:
    """The order the PSU authorised, from the account they chose; once per consent (and per key).

    The consent's status is left to core banking, which consumes it with the order: the same key and body
    again reach the first order there, anything else finds the consent Consumed.
    """
    path = "Data.ConsentId"
    service.token_for(tpp, consent_id, path)
    consent = await get_consent(core_banking, family, tpp.client_id, consent_id, path)
    consented = scheduled_initiation(consent)[0] if family is SCHEDULED else standing_order_initiation(consent)[0]
    service.check_same_initiation(consented, submitted)
    if consent.status not in (ConsentStatus.AUTHORISED, ConsentStatus.CONSUMED) or consent.customer_id is None:
        raise ConsentNotInForce(consent.status)
    if str(consent.customer_id) != tpp.principal.subject:
        raise NotThisConsentsToken(path)
    details = consent.details
    assert isinstance(details, PaymentOrderDetails)
    request = OrderRequest(
        kind=family.order_kind,
        customer_id=consent.customer_id,
        debtor_account_id=consent.account_ids[0],
        creditor=details.creditor,
        first=details.amount,
        first_date=details.first_date,
        recurring=details.recurring_amount,
        final=details.final_amount,
        frequency=details.frequency,
        final_date=details.final_date,
        payments_total=details.payments_total,
        reference=details.reference,
        end_to_end_id=details.end_to_end_id,
        instruction_id=details.instruction_id,
        client_id=tpp.client_id,
        consent_id=consent.id,
    )
    with answered_in_ob_terms(path, family.consent_words):
        order = await core_banking.create_payment_order(
            request, idempotency_key=idempotency_key, psu=service.psu_of(fapi)
        )
    return order, consent


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order with what its reads show: its consent, and the payment each paid occurrence made."""

    order: OrderRecord
    consent: ConsentRecord
    payments: dict[uuid.UUID, PaymentRecord]


async def view(core_banking: CoreBanking, order: OrderRecord) -> OrderView:
    assert order.consent_id is not None
    with answered_in_ob_terms("ConsentId"):
        consent = await core_banking.get_consent(order.consent_id)
        payments = {
            run.payment_id: await core_banking.get_payment(run.payment_id)
            for run in order.runs
            if run.payment_id is not None
        }
    return OrderView(order, consent, payments)


async def get_order(core_banking: CoreBanking, family: OrderFamily, client_id: str, order_id: str) -> OrderView:
    """The TPP's order of the family's kind with its runs' payments; another TPP's is 403 (R/W API Profile,
    "403 (Forbidden)"), an unknown id or one of another kind 400 U011."""
    try:
        order_uuid = uuid.UUID(order_id)
    except ValueError:
        raise PaymentNotKnown(family.id_path, family.order_words) from None
    try:
        order = await core_banking.get_payment_order(order_uuid)
    except PaymentOrderNotFound:
        raise PaymentNotKnown(family.id_path, family.order_words) from None
    if order.kind is not family.order_kind or order.consent_id is None or order.client_id is None:
        raise PaymentNotKnown(family.id_path, family.order_words)  # the customer's own, or another kind
    if order.client_id != client_id:
        raise PaymentOfAnotherTpp(family.id_path, family.order_words)
    return await view(core_banking, order)


def _run_reason(code: str | None) -> OBStatusReason:
    reason = _RUN_REASONS.get(code or "", OBErrorCode.NARRATIVE)
    return OBStatusReason(StatusReasonCode=reason.value, StatusReasonDescription=clip(code, 500))


def scheduled_status(seen: OrderView) -> tuple[ScheduledStatusCode, datetime, list[OBStatusReason] | None]:
    """PDNG until the payment is made, then the payment's own status (RJCT when refused on its day); CANC when
    cancelled before it ran."""
    order = seen.order
    if order.runs:
        run = order.runs[-1]
        if run.outcome is RunOutcome.FAILED or run.payment_id is None:
            return "RJCT", run.ran_at, [_run_reason(run.reason)]
        payment = seen.payments[run.payment_id]
        return status_code(payment.status), payment.status_updated_at, status_reasons(payment)
    if order.status is OrderStatus.CANCELLED:
        return "CANC", order.updated_at, None
    return "PDNG", order.created_at, None


def scheduled_response(seen: OrderView, self_url: str) -> OBWriteDomesticScheduledResponse5:
    order = seen.order
    assert order.consent_id is not None
    status, updated, reasons = scheduled_status(seen)
    initiation, _ = scheduled_initiation(seen.consent)
    expected = order.runs[0].ran_at if order.runs else order.next_payment_at
    return OBWriteDomesticScheduledResponse5(
        Data=ScheduledResponseData(
            DomesticScheduledPaymentId=str(order.id),
            ConsentId=order.consent_id,
            CreationDateTime=order.created_at,
            Status=status,
            StatusUpdateDateTime=updated,
            StatusReason=reasons,
            ExpectedExecutionDateTime=expected,
            Initiation=initiation,
        ),
        Links=Links(Self=self_url),
    )


def standing_order_status(order: OrderRecord) -> tuple[StandingOrderStatusCode, datetime]:
    """INCO (InitiationCompleted) from the moment it is set up, its payments then reported one by one in its
    payment details; CANC once cancelled."""
    if order.status is OrderStatus.CANCELLED:
        return "CANC", order.updated_at
    return "INCO", order.created_at


def standing_order_response(seen: OrderView, self_url: str) -> OBWriteDomesticStandingOrderResponse6:
    order = seen.order
    assert order.consent_id is not None
    status, updated = standing_order_status(order)
    initiation, _ = standing_order_initiation(seen.consent)
    return OBWriteDomesticStandingOrderResponse6(
        Data=StandingOrderResponseData(
            DomesticStandingOrderId=str(order.id),
            ConsentId=order.consent_id,
            CreationDateTime=order.created_at,
            Status=status,
            StatusUpdateDateTime=updated,
            Initiation=initiation,
        ),
        Links=Links(Self=self_url),
    )


def payment_details(seen: OrderView, local_instrument: str | None, self_url: str) -> OBWritePaymentDetailsResponse1:
    """Each occurrence that ran, oldest first: its payment's steps, or its refusal (RJCT). None before the first."""
    entries: list[PaymentStatusEntry] = []
    for run in seen.order.runs:
        if run.payment_id is not None:
            entries += payment_status_entries(seen.payments[run.payment_id], local_instrument)
            continue
        reason = _run_reason(run.reason)
        entries.append(
            PaymentStatusEntry(
                PaymentTransactionId=f"{seen.order.id}-{run.sequence}",
                Status="RJCT",
                StatusUpdateDateTime=run.ran_at,
                StatusDetail=OBStatusDetail(
                    LocalInstrument=local_instrument,
                    Status="RJCT",
                    StatusReason=reason.StatusReasonCode,
                    StatusReasonDescription=clip(reason.StatusReasonDescription, 256),
                ),
            )
        )
    return OBWritePaymentDetailsResponse1.of_entries(entries, self_url)
