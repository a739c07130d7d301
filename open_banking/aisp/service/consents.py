"""Account access consents as a TPP creates, reads and deletes them; core banking owns them.

What the TPP tells of its PSU (x-fapi headers: IP address, user agent, last login) goes with each change to
core banking, onto the change's audit record; the TPP client is its actor.
"""

from __future__ import annotations

from core_banking.facade import (
    ConsentKind,
    ConsentNotFound,
    ConsentRecord,
    ConsentStatus,
    CoreBanking,
    PsuContext,
    RevokedBy,
)
from open_banking.aisp.errors import (
    AccountAccessConsentDeleted,
    AccountAccessConsentNotFound,
    consent_errors,
)
from open_banking.aisp.schemas.consents import OBReadConsent1
from open_banking.errors import ConsentOfAnotherTpp
from open_banking.fapi import FapiHeaders


def _deleted_by_its_tpp(consent: ConsentRecord) -> bool:
    return consent.status is ConsentStatus.REVOKED and consent.revoked_by is RevokedBy.CLIENT


def _psu(fapi: FapiHeaders) -> PsuContext | None:
    """What the TPP told of its PSU, for core banking's audit record of the change; None when nothing."""
    if fapi.customer_ip_address is None and fapi.customer_user_agent is None and fapi.auth_date is None:
        return None
    return PsuContext(fapi.customer_ip_address, fapi.customer_user_agent, fapi.auth_date)


async def create_account_access_consent(
    core_banking: CoreBanking,
    client_id: str,
    request: OBReadConsent1,
    idempotency_key: str | None,
    fapi: FapiHeaders,
) -> ConsentRecord:
    """A consent awaiting the PSU; with a key, the same request within 24 hours gets the same consent."""
    with consent_errors():
        return await core_banking.create_account_access_consent(
            client_id, request.Data.details(), idempotency_key=idempotency_key, psu=_psu(fapi)
        )


async def get_account_access_consent(core_banking: CoreBanking, client_id: str, consent_id: str) -> ConsentRecord:
    """The TPP `client_id`'s account access consent; another kind of consent reads as unknown, a deleted one too."""
    try:
        consent = await core_banking.get_consent(consent_id)
    except ConsentNotFound:
        raise AccountAccessConsentNotFound from None
    if consent.kind is not ConsentKind.ACCOUNT_ACCESS:
        raise AccountAccessConsentNotFound
    if consent.client_id != client_id:
        raise ConsentOfAnotherTpp
    if _deleted_by_its_tpp(consent):
        raise AccountAccessConsentDeleted
    return consent


async def delete_account_access_consent(
    core_banking: CoreBanking, client_id: str, consent_id: str, fapi: FapiHeaders
) -> None:
    """The TPP deletes its consent: awaiting or authorised, it is Cancelled from now, its tokens refused.

    Another TPP's consent is 403 (R/W API Profile, "403 (Forbidden)"), an unknown id 400. Deleting it again
    changes nothing: 204.
    """
    with consent_errors():
        consent = await core_banking.get_consent(consent_id)
    # Withdrawal alone would end the TPP's consent of any kind: only account access consents are deleted here.
    if consent.kind is not ConsentKind.ACCOUNT_ACCESS:
        raise AccountAccessConsentNotFound
    if consent.client_id != client_id:
        raise ConsentOfAnotherTpp
    with consent_errors():
        await core_banking.withdraw_consent(consent_id, client_id=client_id, psu=_psu(fapi))
