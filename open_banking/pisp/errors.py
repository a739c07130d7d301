"""Errors of the Payment Initiation API, and core banking's refusals in its words.

Statuses and codes as the R/W API Profile names them: an id that names nothing is 400 `U011` ("400 (Bad
Request) v/s 404 (Not Found)"); another TPP's consent or payment is 403 ("403 (Forbidden)"); a consent that
allows no payment now (awaiting, rejected, consumed) is 400 `U009`; a payment whose Initiation differs from
its consent's is 400 `U008` (UK.OBIE.Resource.ConsentMismatch), naming the field that differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from core_banking.facade import (
    AccountClosed,
    AccountFrozen,
    ConsentNotAuthorised,
    ConsentNotFound,
    ConsentStatus,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidConsent,
    InvalidPayment,
    InvalidPaymentOrder,
    LimitExceeded,
    PaymentNotFound,
    SameAccount,
)
from obank.ob_errors import OBError, OBErrorCode
from open_banking.errors import FieldInvalid, Forbidden, HeaderInvalid, OpenBankingError, ResourceNotFound
from open_banking.pisp.schemas import CONSENT_STATUS_CODES

IDEMPOTENCY_KEY = "x-idempotency-key"
AMOUNT = "Data.Initiation.InstructedAmount.Amount"
CREDITOR = "Data.Initiation.CreditorAccount"


class PaymentConsentNotFound(ResourceNotFound):
    """An unknown id, and equally a consent of another kind: nothing of it is told."""

    def __init__(self, path: str = "ConsentId", what: str = "domestic payment consent") -> None:
        super().__init__(f"no {what} has this id", path)


class PaymentNotKnown(ResourceNotFound):
    """An unknown id, and equally a resource of another kind (`what`, named by the path parameter `path`)."""

    def __init__(self, path: str = "DomesticPaymentId", what: str = "domestic payment") -> None:
        super().__init__(f"no {what} has this id", path)


class PaymentOfAnotherTpp(Forbidden):
    """R/W API Profile, "403 (Forbidden)": GET /domestic-payments/1001 where 1001 belongs to another TPP."""

    def __init__(self, path: str = "DomesticPaymentId", what: str = "payment") -> None:
        super().__init__(f"the {what} belongs to another TPP", path)


class FieldMissing(OpenBankingError):
    """A field the spec leaves optional that this bank needs to act (U004)."""

    code = OBErrorCode.FIELD_MISSING


class NotThisConsentsToken(Forbidden):
    """The access token was issued for another consent, or to another PSU, than the one the request names."""

    def __init__(self, path: str) -> None:
        super().__init__("the access token was not issued for this consent", path)


class ConsentMismatch(OpenBankingError):
    """The payment's Initiation is not the consent's: the PSU authorised something else (U008)."""

    code = OBErrorCode.RESOURCE_CONSENT_MISMATCH

    def __init__(self, path: str) -> None:
        super().__init__("differs from the Initiation of the consent the PSU authorised", path)


def _status_words(status: ConsentStatus | None) -> str:
    if status is None:
        return "not in force"
    code = CONSENT_STATUS_CODES.get(status)
    return f"{status.value} ({code})" if code else status.value


class ConsentNotInForce(OpenBankingError):
    """The consent allows no payment now: awaiting authorisation, rejected, or consumed (InvalidConsentStatus)."""

    code = OBErrorCode.RESOURCE_INVALID_CONSENT_STATUS

    def __init__(self, status: ConsentStatus | None, path: str = "Data.ConsentId") -> None:
        super().__init__(f"the consent is {_status_words(status)}", path)


class ConsentExpired(OpenBankingError):
    """R/W API Profile, "401 (Unauthorized)": the consent's time ran out (`TKXP`)."""

    status = 401
    code = OBErrorCode.TOKEN_EXPIRED

    def __init__(self) -> None:
        super().__init__("the payment consent has expired; the PSU must authorise a new one")


class IdempotencyKeyConflict(HeaderInvalid):
    """R/W API Profile, "Idempotency": the key came first with another body; nothing is created or changed."""

    def __init__(self) -> None:
        super().__init__("this x-idempotency-key was used with another request body; use a new key", IDEMPOTENCY_KEY)


class PaymentRefused(OpenBankingError):
    """Core banking refused the payment itself (funds, limits, the debtor account's state); nothing was made
    and the consent stays Authorised. The code is ISO 20022's reason (`OBExternalStatusReason1Code`)."""

    def __init__(self, code: OBErrorCode, message: str, path: str | None = None) -> None:
        super().__init__(message, path)
        self.refusal = code

    def errors(self) -> list[OBError]:
        return [OBError(self.refusal, self.message, self.path)]


def _reason(detail: str, field: str | None) -> str:
    """A field error's reason without the `<field>: ` its detail starts with."""
    prefix, separator, reason = detail.partition(": ")
    return reason if separator and prefix == field else detail


@contextmanager
def answered_in_ob_terms(
    consent_path: str = "ConsentId", consent_words: str = "domestic payment consent"
) -> Iterator[None]:
    """Core banking's refusals as the R/W API Profile answers them; `consent_path` names where the id came from,
    `consent_words` the kind of consent it should name."""
    try:
        yield
    except ConsentNotFound:
        raise PaymentConsentNotFound(consent_path, consent_words) from None
    except ConsentNotAuthorised as exc:
        if exc.consent_status is ConsentStatus.EXPIRED:
            raise ConsentExpired from None
        raise ConsentNotInForce(exc.consent_status, consent_path) from None
    except IdempotencyKeyReused:
        raise IdempotencyKeyConflict from None
    except (InvalidConsent, InvalidPayment, InvalidPaymentOrder) as exc:
        if exc.field == IDEMPOTENCY_KEY:
            raise HeaderInvalid(_reason(exc.detail, exc.field), IDEMPOTENCY_KEY) from None
        raise FieldInvalid(_reason(exc.detail, exc.field), exc.field) from None
    except PaymentNotFound:
        raise PaymentNotKnown from None
    except InsufficientFunds:
        raise PaymentRefused(OBErrorCode.INSUFFICIENT_FUNDS, "the debtor account lacks the funds") from None
    except LimitExceeded as exc:
        raise PaymentRefused(OBErrorCode.NOT_ALLOWED_AMOUNT, exc.detail, AMOUNT) from None
    except AccountFrozen:
        raise PaymentRefused(OBErrorCode.BLOCKED_ACCOUNT, "the debtor account is blocked") from None
    except AccountClosed:
        raise PaymentRefused(OBErrorCode.CLOSED_ACCOUNT, "the debtor account is closed") from None
    except SameAccount:
        raise FieldInvalid("the payee is the debtor account itself", f"{CREDITOR}.Identification") from None
