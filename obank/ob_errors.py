"""UK Open Banking's error response (`OBErrorResponse1`), in one shape for the gateway and the open_banking app.

Read/Write API Profile v4.0, "Error Response Structure": `Errors[].ErrorCode` is an `OBExternalStatusReason1Code`,
four characters. v4.0 replaced the v3 namespaced codes (`UK.OBIE.Field.Missing`) by `U001`-`U042` and writes the
old name at the start of the message, as the profile's example does: "UK.OBIE.Field.Missing - ...". Codes and
names are those of the OB_Internal_CodeSet; ISO 20022 reason codes fill the gaps (`AG01`, `TKXP`, `NARR`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_MESSAGE = 500  # Max500Text
MAX_ID = 40  # Max40Text


class OBErrorCode(StrEnum):
    """The reason codes obank answers with (`OBExternalStatusReason1Code`)."""

    UNEXPECTED_ERROR = "U000"
    FIELD_EXPECTED = "U001"
    FIELD_INVALID = "U002"
    FIELD_INVALID_DATE = "U003"
    FIELD_MISSING = "U004"
    FIELD_UNEXPECTED = "U005"
    HEADER_INVALID = "U006"
    HEADER_MISSING = "U007"
    RESOURCE_CONSENT_MISMATCH = "U008"
    RESOURCE_INVALID_CONSENT_STATUS = "U009"
    RESOURCE_INVALID_FORMAT = "U010"
    RESOURCE_NOT_FOUND = "U011"
    # R/W API Profile, "Message Signing": an x-jws-signature that does not verify, or a claim in it.
    SIGNATURE_INVALID = "U015"
    SIGNATURE_INVALID_CLAIM = "U016"
    SIGNATURE_MISSING_CLAIM = "U017"
    SIGNATURE_MALFORMED = "U018"
    SIGNATURE_MISSING = "U019"
    REAUTHENTICATE = "U028"
    RESOURCE_ALREADY_EXISTS = "U029"
    # ISO 20022 ExternalStatusReason1Code, where no UK.OBIE code says it.
    TRANSACTION_FORBIDDEN = "AG01"
    CLOSED_ACCOUNT = "AC04"
    BLOCKED_ACCOUNT = "AC06"
    NOT_ALLOWED_AMOUNT = "AM02"
    INSUFFICIENT_FUNDS = "AM04"
    TOKEN_EXPIRED = "TKXP"  # noqa: S105 (a reason code, not a secret)
    NARRATIVE = "NARR"


# The v3 names of the UK.OBIE codes, which the v4.0 message starts with.
_NAMES: dict[OBErrorCode, str] = {
    OBErrorCode.UNEXPECTED_ERROR: "UK.OBIE.UnexpectedError",
    OBErrorCode.FIELD_EXPECTED: "UK.OBIE.Field.Expected",
    OBErrorCode.FIELD_INVALID: "UK.OBIE.Field.Invalid",
    OBErrorCode.FIELD_INVALID_DATE: "UK.OBIE.Field.InvalidDate",
    OBErrorCode.FIELD_MISSING: "UK.OBIE.Field.Missing",
    OBErrorCode.FIELD_UNEXPECTED: "UK.OBIE.Field.Unexpected",
    OBErrorCode.HEADER_INVALID: "UK.OBIE.Header.Invalid",
    OBErrorCode.HEADER_MISSING: "UK.OBIE.Header.Missing",
    OBErrorCode.RESOURCE_CONSENT_MISMATCH: "UK.OBIE.Resource.ConsentMismatch",
    OBErrorCode.RESOURCE_INVALID_CONSENT_STATUS: "UK.OBIE.Resource.InvalidConsentStatus",
    OBErrorCode.RESOURCE_INVALID_FORMAT: "UK.OBIE.Resource.InvalidFormat",
    OBErrorCode.RESOURCE_NOT_FOUND: "UK.OBIE.Resource.NotFound",
    OBErrorCode.SIGNATURE_INVALID: "UK.OBIE.Signature.Invalid",
    OBErrorCode.SIGNATURE_INVALID_CLAIM: "UK.OBIE.Signature.InvalidClaim",
    OBErrorCode.SIGNATURE_MISSING_CLAIM: "UK.OBIE.Signature.MissingClaim",
    OBErrorCode.SIGNATURE_MALFORMED: "UK.OBIE.Signature.Malformed",
    OBErrorCode.SIGNATURE_MISSING: "UK.OBIE.Signature.Missing",
    OBErrorCode.REAUTHENTICATE: "UK.OBIE.Reauthenticate",
    OBErrorCode.RESOURCE_ALREADY_EXISTS: "UK.OBIE.Rules.ResourceAlreadyExists",
}

# `Code` (deprecated in v4.0, still allowed): the status in words, as the profile's example writes it.
_STATUS_WORDS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
_STATUS_MESSAGES = {
    400: "The request is invalid.",
    401: "The request is not authorised.",
    403: "The request is forbidden.",
    404: "No such resource.",
    405: "The resource does not support this method.",
    406: "The requested media type cannot be produced.",
    409: "The request conflicts with the resource's state.",
    413: "The request body is too large.",
    415: "The request body's media type is not supported.",
    500: "Something went wrong; try again later.",
    502: "The service is unavailable; try again.",
    503: "The service is unavailable; try again.",
    504: "The service did not answer in time.",
}


class OBError1(BaseModel):
    """One error: its reason code, what went wrong, and the JSON path or header it concerns."""

    model_config = ConfigDict(extra="forbid")

    ErrorCode: str = Field(min_length=4, max_length=4)
    Message: str | None = Field(default=None, min_length=1, max_length=MAX_MESSAGE)
    Path: str | None = Field(default=None, min_length=1, max_length=MAX_MESSAGE)
    Url: str | None = None


class OBErrorResponse1(BaseModel):
    """The error response of every Open Banking API call; `Id` is the request's interaction id."""

    model_config = ConfigDict(extra="forbid")

    Id: str | None = Field(default=None, min_length=1, max_length=MAX_ID)
    Code: str | None = Field(default=None, min_length=1, max_length=MAX_ID)
    Message: str | None = Field(default=None, min_length=1, max_length=MAX_MESSAGE)
    Errors: list[OBError1] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class OBError:
    """What one error says; `path` names the JSON field ("Data.Permissions") or the header."""

    code: OBErrorCode
    message: str
    path: str | None = None

    def to_model(self) -> OBError1:
        name = _NAMES.get(self.code)
        message = f"{name} - {self.message}" if name else self.message
        path = self.path[:MAX_MESSAGE] if self.path else None
        return OBError1(ErrorCode=self.code.value, Message=_clip(message), Path=path)


_CODES_BY_STATUS = {
    400: OBErrorCode.FIELD_INVALID,
    403: OBErrorCode.TRANSACTION_FORBIDDEN,
    404: OBErrorCode.RESOURCE_NOT_FOUND,
    409: OBErrorCode.RESOURCE_ALREADY_EXISTS,
}


def code_for_status(status: int) -> OBErrorCode:
    """The reason code of an error known only by its status: the profile's where one fits, else narrative."""
    if status >= 500:
        return OBErrorCode.UNEXPECTED_ERROR
    return _CODES_BY_STATUS.get(status, OBErrorCode.NARRATIVE)


def status_code_text(status: int) -> str:
    """`Code` for a status: "400 BadRequest"."""
    return f"{status} {_STATUS_WORDS.get(status, 'Error')}"


def ob_error_body(status: int, errors: Sequence[OBError], interaction_id: str) -> dict[str, Any]:
    """The `OBErrorResponse1` document of a refused request, without the fields it leaves empty."""
    if not errors:
        raise ValueError("an error response names at least one error")
    response = OBErrorResponse1(
        Id=interaction_id[:MAX_ID] or None,
        Code=status_code_text(status),
        Message=_STATUS_MESSAGES.get(status, "The request failed."),
        Errors=[error.to_model() for error in errors],
    )
    return response.model_dump(exclude_none=True)


def _clip(text: str) -> str:
    text = text.strip() or "error"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."
