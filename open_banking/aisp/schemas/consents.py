"""Account access consents as the TPP asks for them (`OBReadConsent1`) and reads them (`OBReadConsentResponse1`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core_banking.facade import AccountAccessDetails, ConsentRecord, ConsentStatus, Permission
from obank.inputs import BoundedDateTime
from open_banking import schemas as envelope

# OBReadConsentResponse1 Data.Status: AwaitingAuthorisation, Rejected, Authorised, Expired, Cancelled.
ConsentStatusCode = Literal["AWAU", "RJCT", "AUTH", "EXPD", "CANC"]
_STATUS_CODES: dict[ConsentStatus, ConsentStatusCode] = {
    ConsentStatus.AWAITING_AUTHORISATION: "AWAU",
    ConsentStatus.REJECTED: "RJCT",
    ConsentStatus.AUTHORISED: "AUTH",
    ConsentStatus.EXPIRED: "EXPD",
    ConsentStatus.REVOKED: "CANC",
}


def _utc(moment: datetime | None) -> datetime | None:
    """The instant in UTC: the consent reads the same however the TPP wrote its dates."""
    return None if moment is None else moment.astimezone(UTC)


# R/W API Profile, "Date Formats": date-times in payloads carry their time zone.


class OBRisk2(BaseModel):
    """The Risk section of account access: an empty object in v4.0."""

    model_config = ConfigDict(extra="forbid")


class OBReadConsent1Data(BaseModel):
    """What the TPP asks the PSU to grant: data clusters, until when, over which transaction window."""

    model_config = ConfigDict(extra="forbid")  # a misspelt optional field is refused, never silently ignored

    Permissions: list[Permission] = Field(min_length=1)
    ExpirationDateTime: BoundedDateTime | None = None
    TransactionFromDateTime: BoundedDateTime | None = None
    TransactionToDateTime: BoundedDateTime | None = None

    def details(self) -> AccountAccessDetails:
        # In UTC: the same instants written with another offset are the same request (x-idempotency-key).
        return AccountAccessDetails(
            permissions=tuple(self.Permissions),
            expires_at=_utc(self.ExpirationDateTime),
            transactions_from=_utc(self.TransactionFromDateTime),
            transactions_to=_utc(self.TransactionToDateTime),
        )


class OBReadConsent1(BaseModel):
    """The body of POST /account-access-consents."""

    model_config = ConfigDict(extra="forbid")

    Data: OBReadConsent1Data
    Risk: OBRisk2


class AccountAccessConsentData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ConsentId: str = Field(min_length=1, max_length=128)
    CreationDateTime: datetime
    Status: ConsentStatusCode
    StatusUpdateDateTime: datetime
    Permissions: list[Permission] = Field(min_length=1)
    ExpirationDateTime: datetime | None = None
    TransactionFromDateTime: datetime | None = None
    TransactionToDateTime: datetime | None = None


class OBReadConsentResponse1(BaseModel):
    """An account access consent as the TPP reads it."""

    model_config = ConfigDict(extra="forbid")

    Data: AccountAccessConsentData
    Risk: OBRisk2 = Field(default_factory=OBRisk2)
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)

    @classmethod
    def of(cls, consent: ConsentRecord, self_url: str, now: datetime) -> OBReadConsentResponse1:
        details = consent.details
        assert isinstance(details, AccountAccessDetails)
        # Past its ExpirationDateTime a consent still open reads as Expired from that instant, and one left
        # unanswered past its authorisation window as Rejected (core banking's effective status).
        effective = consent.effective(now)
        return cls(
            Data=AccountAccessConsentData(
                ConsentId=consent.id,
                CreationDateTime=consent.created_at,
                Status=_STATUS_CODES[effective.status],
                StatusUpdateDateTime=effective.status_updated_at,
                Permissions=list(details.permissions),
                ExpirationDateTime=_utc(details.expires_at),
                TransactionFromDateTime=_utc(details.transactions_from),
                TransactionToDateTime=_utc(details.transactions_to),
            ),
            Links=envelope.Links(Self=self_url),
        )
