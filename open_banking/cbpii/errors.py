"""Errors of the Confirmation of Funds API, and core banking's refusals in its words."""

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
    InvalidFundsConfirmation,
    PermissionNotGranted,
)
from obank.ob_errors import OBErrorCode
from open_banking.cbpii.schemas import STATUS_CODES
from open_banking.errors import (
    FieldInvalid,
    FieldInvalidDate,
    Forbidden,
    HeaderInvalid,
    OpenBankingError,
    ResourceNotFound,
)

IDEMPOTENCY_KEY = "x-idempotency-key"
EXPIRATION = "Data.ExpirationDateTime"


class FundsConfirmationConsentNotFound(ResourceNotFound):
    """An unknown id, and equally another TPP's consent or another kind of consent: nothing of it is told."""

    def __init__(self, path: str = "ConsentId") -> None:
        super().__init__("no funds confirmation consent of this TPP has this id", path)


class ConsentOfAnotherToken(FieldInvalid):
    """`Data.ConsentId` names another consent than the one the access token was issued for.

    v3 named this UK.OBIE.Resource.ConsentMismatch (v4.0 U008), which `obank.ob_errors` does not carry yet.
    """

    def __init__(self) -> None:
        super().__init__("the access token was issued for another consent", "Data.ConsentId")


def _status_words(status: ConsentStatus | None) -> str:
    """The status as people and as the consent resource write it: `Expired (EXPD)`."""
    if status is None:
        return "not in force"
    return f"{status.value} ({STATUS_CODES[status]})" if status in STATUS_CODES else status.value


class ConsentNotInForce(OpenBankingError):
    """The TPP's consent grants nothing now: awaiting, rejected or revoked (UK.OBIE.Resource.InvalidConsentStatus)."""

    code = OBErrorCode.RESOURCE_INVALID_CONSENT_STATUS

    def __init__(self, status: ConsentStatus | None, path: str) -> None:
        super().__init__(f"the consent is {_status_words(status)}", path)


class ConsentExpired(OpenBankingError):
    """R/W API Profile, "401 (Unauthorized)": the consent's ExpirationDateTime has passed (`TKXP`)."""

    status = 401
    code = OBErrorCode.TOKEN_EXPIRED

    def __init__(self) -> None:
        super().__init__("the funds confirmation consent has expired; the PSU must authorise a new one")


class ConsentNotDeletable(OpenBankingError):
    """A consent that already ended otherwise (rejected, expired) stays as it is."""

    code = OBErrorCode.RESOURCE_INVALID_CONSENT_STATUS

    def __init__(self, status: ConsentStatus | None) -> None:
        super().__init__(f"the consent is {_status_words(status)} and can no longer be deleted", "ConsentId")


def _reason(error: InvalidConsent | InvalidFundsConfirmation) -> str:
    """The refusal without the `<field>: ` its detail starts with."""
    field, separator, reason = error.detail.partition(": ")
    return reason if separator and field == error.field else error.detail


def _field_error(error: InvalidConsent | InvalidFundsConfirmation) -> OpenBankingError:
    path = error.field
    if path == IDEMPOTENCY_KEY:
        return HeaderInvalid(_reason(error), path)
    if path == EXPIRATION:
        # OB's U003 covers a date of the wrong kind too: "a future date is expected, a date in past is supplied".
        return FieldInvalidDate(_reason(error), path)
    return FieldInvalid(_reason(error), path)


@contextmanager
def answered_in_ob_terms(consent_path: str) -> Iterator[None]:
    """Core banking's refusals as the R/W API Profile answers them; `consent_path` names where the id came from."""
    try:
        yield
    except ConsentNotFound:
        raise FundsConfirmationConsentNotFound(consent_path) from None
    except ConsentNotAuthorised as exc:
        if exc.consent_status is ConsentStatus.EXPIRED:
            raise ConsentExpired from None
        raise ConsentNotInForce(exc.consent_status, consent_path) from None
    except ConsentNotRevocable as exc:
        raise ConsentNotDeletable(exc.consent_status) from None
    except (InvalidConsent, InvalidFundsConfirmation) as exc:
        raise _field_error(exc) from None
    except IdempotencyKeyReused:
        # R/W API Profile, "Idempotency": the TPP must not change the body under a key; nothing is created.
        raise HeaderInvalid(
            "this key was first used with another request body; the consent was not created", IDEMPOTENCY_KEY
        ) from None
    except (PermissionNotGranted, AccountNotInConsent) as exc:
        raise Forbidden(exc.detail) from None
