"""Consent errors."""

from __future__ import annotations

import uuid

from core_banking.consents.models import ConsentStatus
from core_banking.errors import DomainError


class ConsentNotFound(DomainError):
    status = 404
    code = "consent_not_found"
    title = "Consent not found"

    def __init__(self, consent_id: str) -> None:
        super().__init__(f"no consent {consent_id}")
        self.consent_id = consent_id


class ConsentNotAwaitingAuthorisation(DomainError):
    status = 409
    code = "consent_not_awaiting_authorisation"
    title = "The consent is not awaiting authorisation"

    def __init__(self, consent_id: str, status: ConsentStatus) -> None:
        super().__init__(f"consent {consent_id} is {status.value}")
        self.consent_status = status


class ConsentExpired(DomainError):
    status = 409
    code = "consent_expired"
    title = "The consent has expired"

    def __init__(self, consent_id: str) -> None:
        super().__init__(f"consent {consent_id} is past its expiration date")


class ConsentNotRevocable(DomainError):
    status = 409
    code = "consent_not_revocable"
    title = "Only an authorised account access consent can be revoked"

    def __init__(self, consent_id: str, status: ConsentStatus) -> None:
        super().__init__(f"consent {consent_id} is {status.value}")


class InvalidConsent(DomainError):
    status = 422
    code = "invalid_consent"
    title = "The consent request is invalid"


class InvalidConsentAccounts(DomainError):
    status = 422
    code = "invalid_consent_accounts"
    title = "The chosen accounts cannot be used for this consent"

    def __init__(self, detail: str, account_ids: tuple[uuid.UUID, ...] = ()) -> None:
        super().__init__(detail)
        self.account_ids = account_ids
