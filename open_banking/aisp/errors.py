"""Errors of the Account and Transaction API, and core banking's refusals translated into them.

Statuses and codes as the R/W API Profile names them: an id that names nothing is 400 `U011` ("400 (Bad
Request) v/s 404 (Not Found)"); data the consent does not open is 403 ("403 (Forbidden)": another TPP's
resource, a permission not granted, an AccountId the PSU did not select); a consent past its expiry is 401
`TKXP` ("401 (Unauthorized)": the consent has expired); a consent in any other state that grants nothing is
400 `U009` (UK.OBIE.Resource.InvalidConsentStatus).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from core_banking.facade import (
    AccountNotInConsent,
    ConsentNotAuthorised,
    ConsentNotFound,
    ConsentNotRevocable,
    ConsentStatus,
    IdempotencyKeyReused,
    InvalidConsent,
    InvalidCursor,
    InvalidFilter,
    PermissionNotGranted,
    StatementNotFound,
)
from obank.ob_errors import OBErrorCode
from open_banking.errors import (
    FieldInvalid,
    FieldInvalidDate,
    Forbidden,
    HeaderInvalid,
    OpenBankingError,
    ResourceNotFound,
)

# The query parameter carrying core banking's opaque page cursor in Links.Next and Links.Prev.
PAGE_PARAMETER = "page"
IDEMPOTENCY_KEY = "x-idempotency-key"


class AccountAccessConsentNotFound(ResourceNotFound):
    def __init__(self) -> None:
        super().__init__("no account access consent has this id", "ConsentId")


class AccountAccessConsentDeleted(ResourceNotFound):
    """R/W API Profile, "Changes to an Intent's Authorized State": after the TPP's DELETE, a GET is 400."""

    def __init__(self) -> None:
        super().__init__("the TPP deleted this account access consent", "ConsentId")


def _status_words(status: ConsentStatus | None) -> str:
    return "no longer in force" if status is None else status.value


class ConsentNotInForce(OpenBankingError):
    """The consent behind the token grants nothing now: awaiting, rejected or revoked (InvalidConsentStatus)."""

    code = OBErrorCode.RESOURCE_INVALID_CONSENT_STATUS

    def __init__(self, status: ConsentStatus | None) -> None:
        super().__init__(f"the account access consent is {_status_words(status)} and grants no access")


class ConsentNotDeletable(OpenBankingError):
    """A consent that already ended otherwise (rejected, expired) stays as it is."""

    code = OBErrorCode.RESOURCE_INVALID_CONSENT_STATUS

    def __init__(self, status: ConsentStatus | None) -> None:
        super().__init__(f"the account access consent is {_status_words(status)} and cannot be deleted", "ConsentId")


class ConsentExpired(OpenBankingError):
    """R/W API Profile, "401 (Unauthorized)": the consent's ExpirationDateTime has passed (`TKXP`)."""

    status = 401
    code = OBErrorCode.TOKEN_EXPIRED

    def __init__(self) -> None:
        super().__init__("the account access consent has expired; the PSU must authorise a new one")


class ConsentNotUsable(Forbidden):
    """The access token's consent is not an account access consent of this TPP and this PSU."""

    def __init__(self) -> None:
        super().__init__("the access token is not bound to an account access consent of this TPP")


class NotAnAccountInformationToken(Forbidden):
    """Account information takes the token a PSU authorised for a consent, not the TPP's client credentials."""

    def __init__(self) -> None:
        super().__init__("this resource takes the access token the PSU authorised for an account access consent")


class PermissionMissing(Forbidden):
    """R/W API Profile, "403 (Forbidden)": the consent lacks the permission the resource needs."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"the account access consent does not grant this resource ({detail})")


class AccountNotCovered(Forbidden):
    """R/W API Profile, "403 (Forbidden)": an AccountId the PSU did not select, whoever's it is (or none)."""

    def __init__(self) -> None:
        super().__init__("the account access consent does not cover this account", "AccountId")


class StatementUnknown(ResourceNotFound):
    def __init__(self) -> None:
        super().__init__("no statement of this account has this id", "StatementId")


class PageCursorInvalid(FieldInvalid):
    def __init__(self) -> None:
        super().__init__(
            "not a page of this resource: follow Links.Next or Links.Prev of its first page", PAGE_PARAMETER
        )


class IdempotencyKeyConflict(HeaderInvalid):
    """R/W API Profile, "Idempotency": the key came first with another body; the first resource is untouched."""

    def __init__(self) -> None:
        super().__init__("this x-idempotency-key was used with another request body; use a new key", IDEMPOTENCY_KEY)


@contextmanager
def consent_errors() -> Iterator[None]:
    """Core banking's refusals of a consent request or deletion, as OB errors naming the field at fault."""
    try:
        yield
    except ConsentNotFound:
        raise AccountAccessConsentNotFound from None
    except IdempotencyKeyReused:
        raise IdempotencyKeyConflict from None
    except InvalidConsent as exc:
        reason = str(exc).partition(": ")[2] or str(exc)
        if exc.field == IDEMPOTENCY_KEY:
            raise HeaderInvalid(reason, IDEMPOTENCY_KEY) from None
        if exc.field is not None and exc.field.endswith("DateTime"):
            # U003 covers a date of the wrong kind too (an expiry in the past), as the CBPII answers it.
            raise FieldInvalidDate(reason, exc.field) from None
        raise FieldInvalid(reason, exc.field) from None
    except ConsentNotRevocable as exc:
        raise ConsentNotDeletable(exc.consent_status) from None


def refused_consent(status: ConsentStatus | None) -> OpenBankingError:
    """The error for reading through a consent that is not in force."""
    if status is ConsentStatus.EXPIRED:
        return ConsentExpired()
    return ConsentNotInForce(status)


@contextmanager
def information_errors() -> Iterator[None]:
    """Core banking's refusals of a read through the token's consent, as OB errors."""
    try:
        yield
    except ConsentNotFound:
        raise ConsentNotUsable from None
    except ConsentNotAuthorised as exc:
        raise refused_consent(exc.consent_status) from None
    except PermissionNotGranted as exc:
        raise PermissionMissing(str(exc)) from None
    except AccountNotInConsent:
        raise AccountNotCovered from None
    except StatementNotFound:
        raise StatementUnknown from None
    except InvalidCursor:
        raise PageCursorInvalid from None
    except InvalidFilter as exc:
        raise FieldInvalid(str(exc)) from None
