"""Domestic payment consents and payments as a PISP sees them; core banking owns both, behind its facade.

A consent keeps the PISP's Initiation and Risk as sent. A payment names its consent and repeats the
Initiation: it must mean the same (amounts compared as money, IBANs without spaces or case), field for field,
or it is refused naming the first field that differs. Core banking consumes the consent in the payment's own
transaction, so one consent makes at most one payment; the same x-idempotency-key again gets that payment.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from core_banking.facade import (
    ConsentKind,
    ConsentRecord,
    ConsentStatus,
    CoreBanking,
    CreditorAccount,
    CreditorScheme,
    DebtorAccount,
    DebtorScheme,
    DomesticPaymentDetails,
    FundsAvailability,
    PaymentInitiation,
    PaymentRecord,
    PsuContext,
)
from obank.money import Money, MoneyError, currency_exponent
from open_banking.amounts import OBAmount, format_ob_amount
from open_banking.auth import TppUnderConsent
from open_banking.errors import ConsentOfAnotherTpp, FieldInvalid
from open_banking.fapi import FapiHeaders
from open_banking.pisp.errors import (
    ConsentMismatch,
    ConsentNotInForce,
    NotThisConsentsToken,
    PaymentConsentNotFound,
    PaymentNotKnown,
    PaymentOfAnotherTpp,
    answered_in_ob_terms,
)
from open_banking.pisp.order_schemas import ScheduledInitiation, StandingOrderInitiation
from open_banking.pisp.schemas import (
    AccountIdentification,
    DomesticInitiation,
    OBRisk1,
    OBWriteDomestic2,
    OBWriteDomesticConsent4,
)

INITIATION = "Data.Initiation"
# This bank pays within itself or by Faster Payments: the one local instrument a PISP may ask for.
LOCAL_INSTRUMENTS = frozenset({"UK.OBIE.FPS"})
CREDITOR_SCHEMES = (CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, CreditorScheme.IBAN)
AnyInitiation = DomesticInitiation | ScheduledInitiation | StandingOrderInitiation


def psu_of(fapi: FapiHeaders) -> PsuContext | None:
    """What the TPP told of its PSU, for core banking's audit record of the change; None when nothing."""
    if fapi.customer_ip_address is None and fapi.customer_user_agent is None and fapi.auth_date is None:
        return None
    return PsuContext(fapi.customer_ip_address, fapi.customer_user_agent, fapi.auth_date)


def _refuse_what_we_do_not_pay(account: AccountIdentification, path: str) -> None:
    if account.SecondaryIdentification is not None:
        raise FieldInvalid("this bank pays no secondary identification", f"{path}.SecondaryIdentification")
    if account.Proxy is not None:
        raise FieldInvalid("this bank pays no proxy", f"{path}.Proxy")


def _compact_iban(identification: str) -> str:
    return identification.replace(" ", "").upper()


def creditor(initiation: AnyInitiation) -> CreditorAccount:
    path = f"{INITIATION}.CreditorAccount"
    account = initiation.CreditorAccount
    _refuse_what_we_do_not_pay(account, path)
    scheme = next((s for s in CREDITOR_SCHEMES if s.value == account.SchemeName), None)
    if scheme is None:
        schemes = " or ".join(s.value for s in CREDITOR_SCHEMES)
        raise FieldInvalid(f"this bank pays accounts named by {schemes}", f"{path}.SchemeName")
    identification = account.Identification
    if scheme is CreditorScheme.IBAN:
        identification = _compact_iban(identification)
    return CreditorAccount(account.Name, scheme, identification)


def debtor(initiation: AnyInitiation) -> DebtorAccount | None:
    account = initiation.DebtorAccount
    if account is None:
        return None
    path = f"{INITIATION}.DebtorAccount"
    _refuse_what_we_do_not_pay(account, path)
    try:
        scheme = DebtorScheme(account.SchemeName)
    except ValueError:
        schemes = " or ".join(s.value for s in DebtorScheme)
        raise FieldInvalid(f"this bank's accounts are named by {schemes}", f"{path}.SchemeName") from None
    identification = account.Identification
    if scheme is DebtorScheme.IBAN:
        identification = _compact_iban(identification)
    return DebtorAccount(scheme, identification, account.Name)


def instructed_money(amount: OBAmount, path: str = f"{INITIATION}.InstructedAmount") -> Money:
    """The exact amount instructed (at `path`), in integer minor units: an unknown currency, excess decimals
    or nothing to pay refused."""
    try:
        currency_exponent(amount.Currency)
    except MoneyError as exc:
        raise FieldInvalid(str(exc), f"{path}.Currency") from None
    try:
        money = amount.to_money()
    except MoneyError as exc:
        raise FieldInvalid(str(exc), f"{path}.Amount") from None
    if not money.is_positive():
        raise FieldInvalid("the amount must be positive", f"{path}.Amount")
    return money


def check_local_instrument(initiation: DomesticInitiation | ScheduledInitiation) -> None:
    if initiation.LocalInstrument is not None and initiation.LocalInstrument not in LOCAL_INSTRUMENTS:
        raise FieldInvalid(
            f"this bank pays by {', '.join(sorted(LOCAL_INSTRUMENTS))} only", f"{INITIATION}.LocalInstrument"
        )


def payment_details(initiation: DomesticInitiation, risk: OBRisk1) -> DomesticPaymentDetails:
    """The consent in core banking's terms, with the Initiation and Risk as the PISP sent them."""
    check_local_instrument(initiation)
    return DomesticPaymentDetails(
        amount=instructed_money(initiation.InstructedAmount),
        creditor=creditor(initiation),
        reference=initiation.reference,
        instruction_id=initiation.InstructionIdentification,
        end_to_end_id=initiation.EndToEndIdentification,
        debtor_account=debtor(initiation),
        initiation=initiation.as_sent(),
        risk=risk.as_sent(),
    )


async def create_consent(
    core_banking: CoreBanking,
    client_id: str,
    body: OBWriteDomesticConsent4,
    idempotency_key: str,
    fapi: FapiHeaders,
) -> ConsentRecord:
    """A consent awaiting the PSU; under a key already used with the same body, the consent it created, as it is now."""
    if body.Data.ReadRefundAccount == "Yes":
        raise FieldInvalid("this bank does not share refund accounts", "Data.ReadRefundAccount")
    details = payment_details(body.Data.Initiation, body.Risk)
    with answered_in_ob_terms("ConsentId"):
        return await core_banking.create_domestic_payment_consent(
            client_id, details, idempotency_key=idempotency_key, psu=psu_of(fapi)
        )


def consent_initiation(consent: ConsentRecord) -> tuple[DomesticInitiation, OBRisk1]:
    """The consent's Initiation and Risk as the PISP sent them (or, for a consent made outside this API, as
    core banking knows it)."""
    details = consent.details
    assert isinstance(details, DomesticPaymentDetails)
    if details.initiation is not None:
        return DomesticInitiation.model_validate(details.initiation), OBRisk1.model_validate(details.risk or {})
    identification = (details.end_to_end_id or consent.id)[:35]
    initiation: dict[str, Any] = {
        "InstructionIdentification": (details.instruction_id or consent.id)[:35],
        "EndToEndIdentification": identification,
        "InstructedAmount": {"Amount": format_ob_amount(details.amount), "Currency": details.amount.currency},
        "CreditorAccount": {
            "SchemeName": details.creditor.scheme.value,
            "Identification": details.creditor.identification,
            "Name": details.creditor.name,
        },
    }
    if details.reference is not None:
        reference = {"CreditorReferenceInformation": {"Reference": details.reference}}
        initiation["RemittanceInformation"] = {"Structured": [reference]}
    return DomesticInitiation.model_validate(initiation), OBRisk1()


async def get_consent(core_banking: CoreBanking, client_id: str, consent_id: str) -> ConsentRecord:
    """The TPP's domestic payment consent; another kind reads as an unknown id, another TPP's is 403
    (R/W API Profile, "403 (Forbidden)")."""
    with answered_in_ob_terms("ConsentId"):
        consent = await core_banking.get_consent(consent_id)
    if consent.kind is not ConsentKind.DOMESTIC_PAYMENT:
        raise PaymentConsentNotFound
    if consent.client_id != client_id:
        raise ConsentOfAnotherTpp
    return consent


def token_for(tpp: TppUnderConsent, consent_id: str, path: str) -> None:
    if consent_id != tpp.consent_id:
        raise NotThisConsentsToken(path)


async def confirm_funds(core_banking: CoreBanking, tpp: TppUnderConsent, consent_id: str) -> FundsAvailability:
    """Whether the debtor account the PSU chose has the consent's amount available now (nothing is held)."""
    token_for(tpp, consent_id, "ConsentId")
    await get_consent(core_banking, tpp.client_id, consent_id)
    with answered_in_ob_terms("ConsentId"):
        return await core_banking.payment_funds_available(consent_id, client_id=tpp.client_id)


def _comparable(value: Any) -> Any:
    """A value of the Initiation as its meaning, not its spelling: amounts as money, IBANs compact, instants in
    UTC."""
    if isinstance(value, dict):
        if set(value) == {"Amount", "Currency"} and isinstance(value["Amount"], str):
            try:
                money = Money.parse(value["Amount"], str(value["Currency"]))
            except MoneyError:
                return value
            return {"Amount": money.minor, "Currency": money.currency}
        comparable = {key: _comparable(item) for key, item in value.items() if item is not None}
        if comparable.get("SchemeName") in (CreditorScheme.IBAN.value, DebtorScheme.IBAN.value):
            comparable["Identification"] = _compact_iban(str(comparable.get("Identification", "")))
        return comparable
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def _first_difference(consented: Any, submitted: Any, path: str, order: tuple[str, ...] = ()) -> str | None:
    """The path of the first field where the two differ (named fields in `order` first), or None when they
    mean the same."""
    if isinstance(consented, dict) and isinstance(submitted, dict):
        names = [name for name in order if name in consented or name in submitted]
        names += sorted((set(consented) | set(submitted)) - set(names))
        for name in names:
            if name not in consented or name not in submitted:
                return f"{path}.{name}"
            found = _first_difference(consented[name], submitted[name], f"{path}.{name}")
            if found is not None:
                return found
        return None
    if isinstance(consented, list) and isinstance(submitted, list):
        if len(consented) != len(submitted):
            return path
        for index, (left, right) in enumerate(zip(consented, submitted, strict=True)):
            found = _first_difference(left, right, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return None if consented == submitted else path


def check_same_initiation(consented: AnyInitiation, submitted: AnyInitiation) -> None:
    """The submitted Initiation means exactly the consent's; else ConsentMismatch naming the first field that
    differs, in the order the PISP reads them."""
    left = _comparable(consented.model_dump(exclude_none=True))
    right = _comparable(submitted.model_dump(exclude_none=True))
    difference = _first_difference(left, right, INITIATION, tuple(type(consented).model_fields))
    if difference is not None:
        raise ConsentMismatch(difference)


async def make_payment(
    core_banking: CoreBanking, tpp: TppUnderConsent, body: OBWriteDomestic2, idempotency_key: str, fapi: FapiHeaders
) -> tuple[PaymentRecord, DomesticInitiation]:
    """The payment the PSU authorised, from the account they chose; once per consent (and per key).

    The consent's status is left to core banking, which consumes it with the payment: the same key and body
    again reach the first payment there, anything else finds the consent Consumed.
    """
    data = body.Data
    token_for(tpp, data.ConsentId, "Data.ConsentId")
    with answered_in_ob_terms("Data.ConsentId"):
        consent = await core_banking.get_consent(data.ConsentId)
    if consent.kind is not ConsentKind.DOMESTIC_PAYMENT:
        raise PaymentConsentNotFound("Data.ConsentId")
    if consent.client_id != tpp.client_id:
        raise ConsentOfAnotherTpp
    consented, _ = consent_initiation(consent)
    check_same_initiation(consented, data.Initiation)
    if consent.status not in (ConsentStatus.AUTHORISED, ConsentStatus.CONSUMED) or consent.customer_id is None:
        raise ConsentNotInForce(consent.status)
    if str(consent.customer_id) != tpp.principal.subject:
        raise NotThisConsentsToken("Data.ConsentId")
    details = consent.details
    assert isinstance(details, DomesticPaymentDetails)
    initiation = PaymentInitiation(
        customer_id=consent.customer_id,
        debtor_account_id=consent.account_ids[0],
        amount=details.amount,
        creditor=details.creditor,
        reference=details.reference,
        end_to_end_id=details.end_to_end_id or data.Initiation.EndToEndIdentification,
        instruction_id=details.instruction_id or data.Initiation.InstructionIdentification,
        consent_id=consent.id,
        client_id=tpp.client_id,
        session_id=tpp.principal.session_id,
    )
    with answered_in_ob_terms("Data.ConsentId"):
        payment = await core_banking.initiate_payment(initiation, idempotency_key=idempotency_key, psu=psu_of(fapi))
    return payment, consented


async def get_payment(
    core_banking: CoreBanking, client_id: str, payment_id: str
) -> tuple[PaymentRecord, DomesticInitiation]:
    """The TPP's payment with its history, and its consent's Initiation; another TPP's payment is 403."""
    try:
        payment_uuid = uuid.UUID(payment_id)
    except ValueError:
        raise PaymentNotKnown from None
    with answered_in_ob_terms("ConsentId"):
        payment = await core_banking.get_payment(payment_uuid)
    if payment.consent_id is None or payment.client_id is None:
        raise PaymentNotKnown  # the customer's own payment, not made through Open Banking
    if payment.client_id != client_id:
        raise PaymentOfAnotherTpp
    with answered_in_ob_terms("ConsentId"):
        consent = await core_banking.get_consent(payment.consent_id)
    initiation, _ = consent_initiation(consent)
    return payment, initiation
