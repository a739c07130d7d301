"""Account access consents as a TPP sees them; core banking owns them and answers through its facade."""

from __future__ import annotations

from core_banking.facade import ConsentKind, ConsentNotFound, ConsentRecord, CoreBanking
from open_banking.aisp.errors import AccountAccessConsentNotFound, ConsentOfAnotherTpp


async def get_account_access_consent(core_banking: CoreBanking, client_id: str, consent_id: str) -> ConsentRecord:
    """The TPP `client_id`'s account access consent; another kind of consent reads as unknown."""
    try:
        consent = await core_banking.get_consent(consent_id)
    except ConsentNotFound:
        raise AccountAccessConsentNotFound from None
    if consent.kind is not ConsentKind.ACCOUNT_ACCESS:
        raise AccountAccessConsentNotFound
    if consent.client_id != client_id:
        raise ConsentOfAnotherTpp
    return consent
