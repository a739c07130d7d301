"""Shapes of the Payment Initiation API's domestic scheduled payments and standing orders, as its OpenAPI
document names them.

As for domestic payments, the `Initiation` is one shape in the consent, the order and both their responses,
and what this bank does not act on (CreditorPostalAddress, UltimateCreditor/Debtor, RegulatoryReporting,
multiple authorisation, SCA support data) is not modelled, so a request carrying it is refused by name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictInt, StringConstraints

from core_banking.facade import ConsentRecord
from obank.inputs import BoundedDateTime
from open_banking import schemas as envelope
from open_banking.amounts import OBAmount
from open_banking.pisp.schemas import (
    CONSENT_STATUS_CODES,
    AccountIdentification,
    Code4,
    ConsentStatusCode,
    Max35Text,
    OBCreditorAccount,
    OBRemittanceInformation2,
    OBRisk1,
    OBStatusReason,
    Strict,
)

# OBWriteDomesticScheduledResponse5 Data.Status: this bank's answers among the spec's (ExternalPaymentTransaction
# Status1Code): PDNG until the payment is made, then the payment's own status; CANC when cancelled before.
ScheduledStatusCode = Literal["PDNG", "ACSP", "ACSC", "RJCT", "CANC"]
# OBWriteDomesticStandingOrderResponse6 Data.Status: INCO (InitiationCompleted: the standing order is set up
# at the bank, whatever its payments then do), CANC once cancelled.
StandingOrderStatusCode = Literal["INCO", "CANC"]


def _date_time_text(value: Any) -> Any:
    """ISO 8601 text only, as the spec's `date-time` format: no epoch numbers."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


ISODateTime = Annotated[BoundedDateTime, BeforeValidator(_date_time_text)]


class _Initiation(Strict):
    def as_sent(self) -> dict[str, Any]:
        """The Initiation as the TPP wrote it (nothing it left out added)."""
        return self.model_dump(mode="json", exclude_unset=True)

    @property
    def reference(self) -> str | None:
        """What the payee sees: the creditor's reference of the first structured entry that has one."""
        remittance: OBRemittanceInformation2 | None = getattr(self, "RemittanceInformation", None)
        for entry in (remittance and remittance.Structured) or ():
            if entry.CreditorReferenceInformation is not None and entry.CreditorReferenceInformation.Reference:
                return entry.CreditorReferenceInformation.Reference
        return None


class ScheduledInitiation(_Initiation):
    """The `Initiation` of a domestic payment on a date, in the consent and in the scheduled payment."""

    InstructionIdentification: Max35Text
    EndToEndIdentification: Max35Text | None = None
    LocalInstrument: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    RequestedExecutionDateTime: ISODateTime
    InstructedAmount: OBAmount
    DebtorAccount: AccountIdentification | None = None
    CreditorAccount: OBCreditorAccount
    RemittanceInformation: OBRemittanceInformation2 | None = None
    SupplementaryData: dict[str, Any] | None = None


class OBFrequency6(Strict):
    """`OBFrequency6`: an `OBFrequency6Code` or an ISO 20022 schedule pattern; the service takes the codes it
    pays at (core_banking.payment_orders.schedule.Frequency) and refuses the others by name."""

    Type: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    CountPerPeriod: StrictInt | None = None
    PointInTime: Annotated[str, StringConstraints(max_length=2)] | None = None


class OBMandateRelatedInformation1(Strict):
    MandateIdentification: Max35Text | None = None
    Classification: Literal["FIXE", "USGB", "VARI"] | None = None
    CategoryPurposeCode: Code4 | None = None
    FirstPaymentDateTime: ISODateTime | None = None
    RecurringPaymentDateTime: ISODateTime | None = None
    FinalPaymentDateTime: ISODateTime | None = None
    Frequency: OBFrequency6
    Reason: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None


class StandingOrderInitiation(_Initiation):
    """The `Initiation` of a domestic standing order, in the consent and in the standing order."""

    RemittanceInformation: OBRemittanceInformation2 | None = None
    NumberOfPayments: Annotated[str, StringConstraints(min_length=1, max_length=35)] | None = None
    FirstPaymentAmount: OBAmount
    RecurringPaymentAmount: OBAmount | None = None
    FinalPaymentAmount: OBAmount | None = None
    DebtorAccount: AccountIdentification | None = None
    CreditorAccount: OBCreditorAccount
    MandateRelatedInformation: OBMandateRelatedInformation1
    SupplementaryData: dict[str, Any] | None = None


ConsentId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
ResourceId = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class ScheduledConsentData(Strict):
    Permission: Literal["Create"]
    ReadRefundAccount: Literal["No", "Yes"] | None = None
    Initiation: ScheduledInitiation


class OBWriteDomesticScheduledConsent4(Strict):
    """The body of POST /domestic-scheduled-payment-consents."""

    Data: ScheduledConsentData
    Risk: OBRisk1


class StandingOrderConsentData(Strict):
    Permission: Literal["Create"]
    ReadRefundAccount: Literal["No", "Yes"] | None = None
    Initiation: StandingOrderInitiation


class OBWriteDomesticStandingOrderConsent5(Strict):
    """The body of POST /domestic-standing-order-consents."""

    Data: StandingOrderConsentData
    Risk: OBRisk1


class ScheduledConsentResponseData(Strict):
    ConsentId: ConsentId
    CreationDateTime: datetime
    Status: ConsentStatusCode
    StatusUpdateDateTime: datetime
    Permission: Literal["Create"] = "Create"
    ExpectedExecutionDateTime: datetime | None = None
    Initiation: ScheduledInitiation


class OBWriteDomesticScheduledConsentResponse5(Strict):
    """A scheduled payment consent as the PISP reads it: its Initiation and Risk as the PISP sent them."""

    Data: ScheduledConsentResponseData
    Risk: OBRisk1
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)

    @classmethod
    def of(
        cls,
        consent: ConsentRecord,
        initiation: ScheduledInitiation,
        risk: OBRisk1,
        expected_execution: datetime,
        self_url: str,
    ) -> OBWriteDomesticScheduledConsentResponse5:
        return cls(
            Data=ScheduledConsentResponseData(
                ConsentId=consent.id,
                CreationDateTime=consent.created_at,
                Status=CONSENT_STATUS_CODES[consent.status],
                StatusUpdateDateTime=consent.status_updated_at,
                ExpectedExecutionDateTime=expected_execution,
                Initiation=initiation,
            ),
            Risk=risk,
            Links=envelope.Links(Self=self_url),
        )


class StandingOrderConsentResponseData(Strict):
    ConsentId: ConsentId
    CreationDateTime: datetime
    Status: ConsentStatusCode
    StatusUpdateDateTime: datetime
    Permission: Literal["Create"] = "Create"
    Initiation: StandingOrderInitiation


class OBWriteDomesticStandingOrderConsentResponse6(Strict):
    """A standing order consent as the PISP reads it: its Initiation and Risk as the PISP sent them."""

    Data: StandingOrderConsentResponseData
    Risk: OBRisk1
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)

    @classmethod
    def of(
        cls, consent: ConsentRecord, initiation: StandingOrderInitiation, risk: OBRisk1, self_url: str
    ) -> OBWriteDomesticStandingOrderConsentResponse6:
        return cls(
            Data=StandingOrderConsentResponseData(
                ConsentId=consent.id,
                CreationDateTime=consent.created_at,
                Status=CONSENT_STATUS_CODES[consent.status],
                StatusUpdateDateTime=consent.status_updated_at,
                Initiation=initiation,
            ),
            Risk=risk,
            Links=envelope.Links(Self=self_url),
        )


class ScheduledPaymentData(Strict):
    ConsentId: ConsentId
    Initiation: ScheduledInitiation


class OBWriteDomesticScheduled2(Strict):
    """The body of POST /domestic-scheduled-payments: the consent, and its Initiation again."""

    Data: ScheduledPaymentData
    Risk: OBRisk1


class StandingOrderData(Strict):
    ConsentId: ConsentId
    Initiation: StandingOrderInitiation


class OBWriteDomesticStandingOrder3(Strict):
    """The body of POST /domestic-standing-orders: the consent, and its Initiation again."""

    Data: StandingOrderData
    Risk: OBRisk1


class ScheduledResponseData(Strict):
    DomesticScheduledPaymentId: ResourceId
    ConsentId: ConsentId
    CreationDateTime: datetime
    Status: ScheduledStatusCode
    StatusUpdateDateTime: datetime
    StatusReason: list[OBStatusReason] | None = None
    ExpectedExecutionDateTime: datetime | None = None
    Initiation: ScheduledInitiation


class OBWriteDomesticScheduledResponse5(Strict):
    """A scheduled payment with its status now; its Initiation is its consent's."""

    Data: ScheduledResponseData
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)


class StandingOrderResponseData(Strict):
    DomesticStandingOrderId: ResourceId
    ConsentId: ConsentId
    CreationDateTime: datetime
    Status: StandingOrderStatusCode
    StatusUpdateDateTime: datetime
    StatusReason: list[OBStatusReason] | None = None
    Initiation: StandingOrderInitiation


class OBWriteDomesticStandingOrderResponse6(Strict):
    """A standing order with its status now; its Initiation is its consent's."""

    Data: StandingOrderResponseData
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)
