"""Consent errors.

Errors that carry data other contexts act on (a status, the field at fault) write it into their detail
in a fixed shape and read it back in `revive`, so they arrive whole over the internal HTTP facade.
"""

from __future__ import annotations

import uuid
from typing import Self

from core_banking.consents.models import ConsentStatus
from core_banking.errors import DomainError, FieldError


class ConsentStatusError(DomainError):
    """A refusal because of the consent's status, which it carries (`consent {id} is <Status>`)."""

    def __init__(self, consent_id: str, status: ConsentStatus) -> None:
        super().__init__(f"consent {consent_id} is {status.value}")
        self.consent_status: ConsentStatus | None = status

    @classmethod
    def revive(cls, detail: str) -> Self:
        error = cls.__new__(cls)
        DomainError.__init__(error, detail)
        try:
            error.consent_status = ConsentStatus(detail.rsplit(" ", 1)[-1])
        except ValueError:
            error.consent_status = None
        return error


class ConsentNotFound(DomainError):
    status = 404
    code = "consent_not_found"
    title = "Consent not found"

    def __init__(self, consent_id: str) -> None:
        super().__init__(f"no consent {consent_id}")
        self.consent_id = consent_id

    @classmethod
    def revive(cls, detail: str) -> Self:
        error = cls.__new__(cls)
        DomainError.__init__(error, detail)
        error.consent_id = detail.removeprefix("no consent ")
        return error


class ConsentNotAwaitingAuthorisation(ConsentStatusError):
    status = 409
    code = "consent_not_awaiting_authorisation"
    title = "The consent is not awaiting authorisation"


class ConsentExpired(DomainError):
    status = 409
    code = "consent_expired"
    title = "The consent has expired"

    def __init__(self, consent_id: str) -> None:
        super().__init__(f"consent {consent_id} is past its expiration date")


class ConsentNotRevocable(ConsentStatusError):
    status = 409
    code = "consent_not_revocable"
    title = "Only an account access or funds confirmation consent still in force can be revoked"


class ConsentNotAuthorised(ConsentStatusError):
    """The consent exists and is the caller's, but grants nothing now (not yet, or no longer, authorised)."""

    status = 403
    code = "consent_not_authorised"
    title = "The consent is not authorised"


class PermissionNotGranted(DomainError):
    """The consent does not include the permission the data asked for needs (UK OB: 403)."""

    status = 403
    code = "permission_not_granted"
    title = "The consent does not grant access to this data"


class AccountNotInConsent(DomainError):
    """The account is not one the customer chose for this consent (UK OB: 403), whoever's it is."""

    status = 403
    code = "account_not_in_consent"
    title = "The account is not covered by the consent"

    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"account {account_id} is not covered by the consent")


class InvalidConsent(FieldError):
    """A consent request refused; `field` names the part at fault as the Open Banking request spells it."""

    code = "invalid_consent"
    title = "The consent request is invalid"


class InvalidConsentAccounts(DomainError):
    status = 422
    code = "invalid_consent_accounts"
    title = "The chosen accounts cannot be used for this consent"

    def __init__(self, detail: str, account_ids: tuple[uuid.UUID, ...] = ()) -> None:
        super().__init__(detail)
        self.account_ids = account_ids
