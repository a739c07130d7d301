"""Shapes of the Account and Transaction API, as its OpenAPI document names them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core_banking.facade import AccountAccessDetails, ConsentRecord, ConsentStatus, Permission
from open_banking import schemas as envelope

# OBReadConsentResponse1 Data.Status: AwaitingAuthorisation, Rejected, Authorised, Expired, Cancelled.
ConsentStatusCode = Literal["AWAU", "RJCT", "AUTH", "EXPD", "CANC"]
_STATUS_CODES: dict[ConsentStatus, ConsentStatusCode] = {
    ConsentStatus.AWAITING_AUTHORISATION: "AWAU",
    ConsentStatus.REJECTED: "RJCT",
    ConsentStatus.AUTHORISED: "AUTH",
    ConsentStatus.REVOKED: "CANC",
}


class OBRisk2(BaseModel):
    """The Risk section of account access: an empty object in v4.0."""

    model_config = ConfigDict(extra="forbid")


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
        status = _STATUS_CODES[consent.status]
        updated = consent.status_updated_at
        # Past its ExpirationDateTime a consent still open reads as Expired, from that instant.
        if status in ("AWAU", "AUTH") and details.expires_at is not None and consent.is_expired(now):
            status, updated = "EXPD", max(updated, details.expires_at)
        return cls(
            Data=AccountAccessConsentData(
                ConsentId=consent.id,
                CreationDateTime=consent.created_at,
                Status=status,
                StatusUpdateDateTime=updated,
                Permissions=list(details.permissions),
                ExpirationDateTime=details.expires_at,
                TransactionFromDateTime=details.transactions_from,
                TransactionToDateTime=details.transactions_to,
            ),
            Links=envelope.Links(Self=self_url),
        )
