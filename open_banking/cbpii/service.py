"""Funds confirmation consents and checks as a CBPII sees them; core banking owns both, behind its facade."""

from __future__ import annotations

from core_banking.facade import (
    ConsentKind,
    ConsentRecord,
    CoreBanking,
    DebtorAccount,
    DebtorScheme,
    FundsConfirmationDetails,
    FundsConfirmationRecord,
    PsuContext,
)
from obank.money import Money, MoneyError, currency_exponent
from open_banking.amounts import OBAmount
from open_banking.auth import TppUnderConsent
from open_banking.cbpii.errors import ConsentOfAnotherToken, FundsConfirmationConsentNotFound, answered_in_ob_terms
from open_banking.cbpii.schemas import FundsConfirmationConsentData, FundsConfirmationData, RequestedDebtorAccount
from open_banking.errors import ConsentOfAnotherTpp, FieldInvalid
from open_banking.fapi import FapiHeaders

DEBTOR = "Data.DebtorAccount"
INSTRUCTED_AMOUNT = "Data.InstructedAmount"


def _psu(fapi: FapiHeaders) -> PsuContext | None:
    """What the TPP told of its PSU, for core banking's audit record of the change; None when nothing."""
    if fapi.customer_ip_address is None and fapi.customer_user_agent is None and fapi.auth_date is None:
        return None
    return PsuContext(fapi.customer_ip_address, fapi.customer_user_agent, fapi.auth_date)


def _debtor_account(requested: RequestedDebtorAccount) -> DebtorAccount:
    """The DebtorAccount in core banking's terms; what no account of this bank carries is refused by name."""
    try:
        scheme = DebtorScheme(requested.SchemeName)
    except ValueError:
        schemes = " or ".join(scheme.value for scheme in DebtorScheme)
        raise FieldInvalid(f"this bank's accounts are named by {schemes}", f"{DEBTOR}.SchemeName") from None
    if requested.SecondaryIdentification is not None:
        raise FieldInvalid("this bank's accounts have no secondary identification", f"{DEBTOR}.SecondaryIdentification")
    if requested.Proxy is not None:
        raise FieldInvalid("this bank's accounts are not named by proxy", f"{DEBTOR}.Proxy")
    return DebtorAccount(scheme, requested.Identification, requested.Name)


async def create_consent(
    core_banking: CoreBanking,
    client_id: str,
    data: FundsConfirmationConsentData,
    idempotency_key: str | None,
    fapi: FapiHeaders,
) -> ConsentRecord:
    """A consent awaiting the PSU; under a key already used with the same body, the consent it created, as it is now."""
    details = FundsConfirmationDetails(_debtor_account(data.DebtorAccount), data.ExpirationDateTime)
    with answered_in_ob_terms("ConsentId"):
        return await core_banking.create_funds_confirmation_consent(
            client_id, details, idempotency_key=idempotency_key, psu=_psu(fapi)
        )


async def get_consent(core_banking: CoreBanking, client_id: str, consent_id: str) -> ConsentRecord:
    """The TPP's funds confirmation consent; another kind reads as an unknown id, another TPP's is 403
    (R/W API Profile, "403 (Forbidden)")."""
    with answered_in_ob_terms("ConsentId"):
        consent = await core_banking.get_consent(consent_id)
    if consent.kind is not ConsentKind.FUNDS_CONFIRMATION:
        raise FundsConfirmationConsentNotFound
    if consent.client_id != client_id:
        raise ConsentOfAnotherTpp
    return consent


async def delete_consent(core_banking: CoreBanking, client_id: str, consent_id: str, fapi: FapiHeaders) -> None:
    """The TPP ends its consent (Cancelled) and every token issued for it; deleting it again changes nothing."""
    await get_consent(core_banking, client_id, consent_id)  # withdrawal alone would end any kind of consent
    with answered_in_ob_terms("ConsentId"):
        await core_banking.withdraw_consent(consent_id, client_id=client_id, psu=_psu(fapi))


def instructed_money(amount: OBAmount) -> Money:
    """The exact amount asked about, in integer minor units: an unknown currency or excess decimals refused."""
    try:
        currency_exponent(amount.Currency)
    except MoneyError as exc:
        raise FieldInvalid(str(exc), f"{INSTRUCTED_AMOUNT}.Currency") from None
    try:
        return amount.to_money()
    except MoneyError as exc:
        raise FieldInvalid(str(exc), f"{INSTRUCTED_AMOUNT}.Amount") from None


async def confirm_funds(
    core_banking: CoreBanking, tpp: TppUnderConsent, data: FundsConfirmationData, fapi: FapiHeaders
) -> FundsConfirmationRecord:
    """Whether the account of the token's consent could pay the amount now (core banking counts holds and
    overdraft); each answer is recorded there."""
    if data.ConsentId != tpp.consent_id:
        raise ConsentOfAnotherToken
    amount = instructed_money(data.InstructedAmount)
    with answered_in_ob_terms("Data.ConsentId"):
        return await core_banking.confirm_funds(
            tpp.consent_id, client_id=tpp.client_id, amount=amount, reference=data.Reference, psu=_psu(fapi)
        )
