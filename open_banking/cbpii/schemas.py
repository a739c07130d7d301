"""Shapes of the Confirmation of Funds API, as its OpenAPI document names them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from core_banking.facade import ConsentRecord, ConsentStatus, FundsConfirmationDetails, FundsConfirmationRecord
from obank.inputs import BoundedDateTime
from open_banking import schemas as envelope
from open_banking.amounts import OBAmount

# OBFundsConfirmationConsentResponse1 Data.Status: AwaitingAuthorisation, Rejected, Authorised, Cancelled, Expired.
ConsentStatusCode = Literal["AWAU", "RJCT", "AUTH", "CANC", "EXPD"]
STATUS_CODES: dict[ConsentStatus, ConsentStatusCode] = {
    ConsentStatus.AWAITING_AUTHORISATION: "AWAU",
    ConsentStatus.REJECTED: "RJCT",
    ConsentStatus.AUTHORISED: "AUTH",
    ConsentStatus.REVOKED: "CANC",
    ConsentStatus.EXPIRED: "EXPD",
}


def _date_time_text(value: Any) -> Any:
    """ISO 8601 text only, as the spec's `date-time` format: no epoch numbers."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


ISODateTime = Annotated[BoundedDateTime, BeforeValidator(_date_time_text)]


class RequestedDebtorAccount(BaseModel):
    """The account a CBPII may ask about, as the PSU knows it (`OBFundsConfirmationConsent1` DebtorAccount).

    `SecondaryIdentification` and `Proxy` are the spec's; this bank's accounts have neither, so the service
    refuses them by name rather than as unknown fields.
    """

    model_config = ConfigDict(extra="forbid")

    SchemeName: str = Field(min_length=1, max_length=40)
    Identification: str = Field(min_length=1, max_length=256)
    Name: str | None = Field(default=None, min_length=1, max_length=350)
    SecondaryIdentification: str | None = Field(default=None, min_length=1, max_length=34)
    Proxy: dict[str, Any] | None = None


class FundsConfirmationConsentData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ExpirationDateTime: ISODateTime | None = None
    DebtorAccount: RequestedDebtorAccount


class OBFundsConfirmationConsent1(BaseModel):
    """What a CBPII asks the PSU to authorise."""

    model_config = ConfigDict(extra="forbid")

    Data: FundsConfirmationConsentData


class ConsentDebtorAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    SchemeName: str
    Identification: str
    Name: str | None = None


class FundsConfirmationConsentResponseData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ConsentId: str = Field(min_length=1, max_length=128)
    CreationDateTime: datetime
    Status: ConsentStatusCode
    StatusUpdateDateTime: datetime
    ExpirationDateTime: datetime | None = None
    DebtorAccount: ConsentDebtorAccount


class OBFundsConfirmationConsentResponse1(BaseModel):
    """A funds confirmation consent as the CBPII reads it."""

    model_config = ConfigDict(extra="forbid")

    Data: FundsConfirmationConsentResponseData
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)

    @classmethod
    def of(cls, consent: ConsentRecord, self_url: str) -> OBFundsConfirmationConsentResponse1:
        """`consent` as core banking reads it now (its effective status: Expired from its expiry on)."""
        details = consent.details
        assert isinstance(details, FundsConfirmationDetails)
        debtor = details.debtor_account
        return cls(
            Data=FundsConfirmationConsentResponseData(
                ConsentId=consent.id,
                CreationDateTime=consent.created_at,
                Status=STATUS_CODES[consent.status],
                StatusUpdateDateTime=consent.status_updated_at,
                ExpirationDateTime=details.expires_at,
                DebtorAccount=ConsentDebtorAccount(
                    SchemeName=debtor.scheme.value, Identification=debtor.identification, Name=debtor.name
                ),
            ),
            Links=envelope.Links(Self=self_url),
        )


class FundsConfirmationData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ConsentId: str = Field(min_length=1, max_length=128)
    Reference: str = Field(min_length=1, max_length=35)
    InstructedAmount: OBAmount


class OBFundsConfirmation1(BaseModel):
    """A CBPII's question: could the consent's account pay this amount now?"""

    model_config = ConfigDict(extra="forbid")

    Data: FundsConfirmationData


class FundsConfirmationResponseData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    FundsConfirmationId: str = Field(min_length=1, max_length=40)
    ConsentId: str = Field(min_length=1, max_length=128)
    CreationDateTime: datetime
    FundsAvailable: bool
    Reference: str
    InstructedAmount: OBAmount


class OBFundsConfirmationResponse1(BaseModel):
    """The answer: `FundsAvailable` at `CreationDateTime` (v4.0 has no separate FundsAvailableDateTime)."""

    model_config = ConfigDict(extra="forbid")

    Data: FundsConfirmationResponseData
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)

    @classmethod
    def of(cls, answer: FundsConfirmationRecord, self_url: str) -> OBFundsConfirmationResponse1:
        return cls(
            Data=FundsConfirmationResponseData(
                FundsConfirmationId=str(answer.id),
                ConsentId=answer.consent_id,
                CreationDateTime=answer.created_at,
                FundsAvailable=answer.available,
                Reference=answer.reference,
                InstructedAmount=OBAmount.from_money(answer.amount),
            ),
            Links=envelope.Links(Self=self_url),
        )
