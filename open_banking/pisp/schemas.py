"""Shapes of the Payment Initiation API's domestic payments, as its OpenAPI document names them.

The `Initiation` is one shape in the consent, the payment and both their responses. What this bank does
not act on (CreditorAgent, CreditorPostalAddress, UltimateCreditor/Debtor, RegulatoryReporting, multiple
authorisation, SCA support data) is not modelled, so a request carrying it is refused by name (U005)
rather than accepted and ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from core_banking.facade import ConsentRecord, ConsentStatus, FundsAvailability, PaymentRecord, PaymentStatus
from open_banking import schemas as envelope
from open_banking.amounts import OBAmount

# OBWriteDomesticConsentResponse5 Data.Status: a payment consent is never Cancelled or Expired in v4.0.
ConsentStatusCode = Literal["AWAU", "RJCT", "AUTH", "COND"]
CONSENT_STATUS_CODES: dict[ConsentStatus, ConsentStatusCode] = {
    ConsentStatus.AWAITING_AUTHORISATION: "AWAU",
    ConsentStatus.REJECTED: "RJCT",
    ConsentStatus.AUTHORISED: "AUTH",
    ConsentStatus.CONSUMED: "COND",
}
# ExternalPaymentTransactionStatus1Code: this bank's payment statuses are ISO 20022's own codes.
PaymentStatusCode = Literal["PDNG", "ACSP", "ACSC", "RJCT"]

Max35Text = Annotated[str, StringConstraints(min_length=1, max_length=35)]
Max70Text = Annotated[str, StringConstraints(min_length=1, max_length=70)]
Max140Text = Annotated[str, StringConstraints(min_length=1, max_length=140)]
Code4 = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{4}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountIdentification(Strict):
    """`DebtorAccount` / `CreditorAccount`: a scheme and an identification (OBInternalAccountIdentification4Code).

    `SecondaryIdentification` and `Proxy` are the spec's; this bank pays neither, so the service refuses them
    by name.
    """

    SchemeName: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    Identification: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    Name: Annotated[str, StringConstraints(min_length=1, max_length=350)] | None = None
    SecondaryIdentification: Annotated[str, StringConstraints(min_length=1, max_length=34)] | None = None
    Proxy: dict[str, Any] | None = None


class OBCreditorAccount(AccountIdentification):
    Name: Annotated[str, StringConstraints(min_length=1, max_length=350)]


class OBCreditorReference(Strict):
    Code: Literal["DISP", "FXDR", "PUOR", "RPIN", "RADM", "SCOR"] | None = None
    Issuer: Max35Text | None = None
    Reference: Max35Text | None = None


class StructuredRemittance(Strict):
    """One `Structured` entry: the creditor's reference (what the payee sees) and free text around it."""

    CreditorReferenceInformation: OBCreditorReference | None = None
    AdditionalRemittanceInformation: list[Max140Text] | None = Field(default=None, max_length=3)


class OBRemittanceInformation2(Strict):
    """`OBRemittanceInformation2`."""

    Structured: list[StructuredRemittance] | None = Field(default=None, max_length=10)
    Unstructured: list[Max140Text] | None = Field(default=None, max_length=10)


class DomesticInitiation(Strict):
    """The `Initiation` of a single immediate domestic payment, in the consent and in the payment."""

    InstructionIdentification: Max35Text
    EndToEndIdentification: Max35Text
    LocalInstrument: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    InstructedAmount: OBAmount
    DebtorAccount: AccountIdentification | None = None
    CreditorAccount: OBCreditorAccount
    RemittanceInformation: OBRemittanceInformation2 | None = None
    SupplementaryData: dict[str, Any] | None = None

    def as_sent(self) -> dict[str, Any]:
        """The Initiation as the TPP wrote it (nothing it left out added)."""
        return self.model_dump(mode="json", exclude_unset=True)

    @property
    def reference(self) -> str | None:
        """What the payee sees: the creditor's reference of the first structured entry that has one."""
        for entry in (self.RemittanceInformation and self.RemittanceInformation.Structured) or ():
            if entry.CreditorReferenceInformation is not None and entry.CreditorReferenceInformation.Reference:
                return entry.CreditorReferenceInformation.Reference
        return None


class PostalAddress(Strict):
    """`OBPostalAddress7`."""

    AddressType: Literal["BIZZ", "DLVY", "MLTO", "PBOX", "ADDR", "HOME", "CORR", "STAT"] | None = None
    Department: Max70Text | None = None
    SubDepartment: Max70Text | None = None
    StreetName: Max140Text | None = None
    BuildingNumber: Annotated[str, StringConstraints(min_length=1, max_length=16)] | None = None
    BuildingName: Max140Text | None = None
    Floor: Max70Text | None = None
    UnitNumber: Annotated[str, StringConstraints(min_length=1, max_length=16)] | None = None
    Room: Max70Text | None = None
    PostBox: Annotated[str, StringConstraints(min_length=1, max_length=16)] | None = None
    TownLocationName: Max140Text | None = None
    DistrictName: Max140Text | None = None
    CareOf: Max140Text | None = None
    PostCode: Annotated[str, StringConstraints(min_length=1, max_length=16)] | None = None
    TownName: Max140Text | None = None
    CountrySubDivision: Max35Text | None = None
    Country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    AddressLine: list[Max70Text] | None = Field(default=None, max_length=7)


class OBRisk1(Strict):
    """What the PISP tells of the payment's context, for the bank's risk scoring; kept and echoed as sent."""

    PaymentContextCode: (
        Literal[
            "BillingGoodsAndServicesInAdvance",
            "BillingGoodsAndServicesInArrears",
            "EcommerceMerchantInitiatedPayment",
            "FaceToFacePointOfSale",
            "TransferToSelf",
            "TransferToThirdParty",
        ]
        | None
    ) = None
    MerchantCategoryCode: Annotated[str, StringConstraints(min_length=3, max_length=4)] | None = None
    MerchantCustomerIdentification: Max70Text | None = None
    ContractPresentIndicator: StrictBool | None = None
    BeneficiaryPrepopulatedIndicator: StrictBool | None = None
    PaymentPurposeCode: Code4 | None = None
    CategoryPurposeCode: Code4 | None = None
    BeneficiaryAccountType: (
        Literal[
            "Business",
            "BusinessSavingsAccount",
            "Charity",
            "Collection",
            "Corporate",
            "Ewallet",
            "Government",
            "Investment",
            "ISA",
            "JointPersonal",
            "Pension",
            "Personal",
            "PersonalSavingsAccount",
            "Premier",
            "Wealth",
        ]
        | None
    ) = None
    DeliveryAddress: PostalAddress | None = None

    def as_sent(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class DomesticPaymentConsentData(Strict):
    ReadRefundAccount: Literal["No", "Yes"] | None = None
    Initiation: DomesticInitiation


class OBWriteDomesticConsent4(Strict):
    """The body of POST /domestic-payment-consents."""

    Data: DomesticPaymentConsentData
    Risk: OBRisk1


class DomesticPaymentConsentResponseData(Strict):
    ConsentId: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    CreationDateTime: datetime
    Status: ConsentStatusCode
    StatusUpdateDateTime: datetime
    Initiation: DomesticInitiation


class OBWriteDomesticConsentResponse5(Strict):
    """A domestic payment consent as the PISP reads it: its Initiation and Risk as the PISP sent them."""

    Data: DomesticPaymentConsentResponseData
    Risk: OBRisk1
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)

    @classmethod
    def of(
        cls, consent: ConsentRecord, initiation: DomesticInitiation, risk: OBRisk1, self_url: str
    ) -> OBWriteDomesticConsentResponse5:
        return cls(
            Data=DomesticPaymentConsentResponseData(
                ConsentId=consent.id,
                CreationDateTime=consent.created_at,
                Status=CONSENT_STATUS_CODES[consent.status],
                StatusUpdateDateTime=consent.status_updated_at,
                Initiation=initiation,
            ),
            Risk=risk,
            Links=envelope.Links(Self=self_url),
        )


class FundsAvailableResult(Strict):
    FundsAvailableDateTime: datetime
    FundsAvailable: bool


class FundsConfirmationData(Strict):
    FundsAvailableResult: FundsAvailableResult


class OBWriteFundsConfirmationResponse1(Strict):
    """Whether the consent's debtor account has the instructed amount available at `FundsAvailableDateTime`."""

    Data: FundsConfirmationData
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)

    @classmethod
    def of(cls, answer: FundsAvailability, self_url: str) -> OBWriteFundsConfirmationResponse1:
        result = FundsAvailableResult(FundsAvailableDateTime=answer.checked_at, FundsAvailable=answer.available)
        return cls(Data=FundsConfirmationData(FundsAvailableResult=result), Links=envelope.Links(Self=self_url))


class DomesticPaymentData(Strict):
    ConsentId: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    Initiation: DomesticInitiation


class OBWriteDomestic2(Strict):
    """The body of POST /domestic-payments: the consent, and its Initiation again."""

    Data: DomesticPaymentData
    Risk: OBRisk1


class OBStatusReason(Strict):
    StatusReasonCode: Annotated[str, StringConstraints(min_length=1, max_length=4)]
    StatusReasonDescription: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None


def status_reasons(payment: PaymentRecord) -> list[OBStatusReason] | None:
    if not payment.reason:
        return None
    description = clip(payment.reason_text, 500)
    return [OBStatusReason(StatusReasonCode=payment.reason[:4], StatusReasonDescription=description)]


def clip(text: str | None, limit: int) -> str | None:
    return text[:limit] if text else None


class DomesticPaymentResponseData(Strict):
    DomesticPaymentId: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    ConsentId: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    CreationDateTime: datetime
    Status: PaymentStatusCode
    StatusUpdateDateTime: datetime
    StatusReason: list[OBStatusReason] | None = None
    Initiation: DomesticInitiation


class OBWriteDomesticResponse5(Strict):
    """A domestic payment with its status now; its Initiation is its consent's."""

    Data: DomesticPaymentResponseData
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)

    @classmethod
    def of(cls, payment: PaymentRecord, initiation: DomesticInitiation, self_url: str) -> OBWriteDomesticResponse5:
        assert payment.consent_id is not None
        return cls(
            Data=DomesticPaymentResponseData(
                DomesticPaymentId=str(payment.id),
                ConsentId=payment.consent_id,
                CreationDateTime=payment.created_at,
                Status=status_code(payment.status),
                StatusUpdateDateTime=payment.status_updated_at,
                StatusReason=status_reasons(payment),
                Initiation=initiation,
            ),
            Links=envelope.Links(Self=self_url),
        )


def status_code(status: PaymentStatus) -> PaymentStatusCode:
    code: PaymentStatusCode = status.value  # PDNG, ACSP, ACSC, RJCT: ISO 20022 codes as OB writes them
    return code


class OBStatusDetail(Strict):
    LocalInstrument: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    Status: PaymentStatusCode
    StatusReason: Annotated[str, StringConstraints(min_length=1, max_length=4)] | None = None
    StatusReasonDescription: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None


class PaymentStatusEntry(Strict):
    """`OBWritePaymentDetails1`: one step of the payment's life."""

    PaymentTransactionId: Annotated[str, StringConstraints(min_length=1, max_length=210)]
    Status: PaymentStatusCode
    StatusUpdateDateTime: datetime
    StatusDetail: OBStatusDetail | None = None


class PaymentDetailsData(Strict):
    PaymentStatus: list[PaymentStatusEntry]


class OBWritePaymentDetailsResponse1(Strict):
    """The payment's status history, oldest first."""

    Data: PaymentDetailsData
    Links: envelope.Links
    Meta: envelope.Meta = Field(default_factory=envelope.Meta)

    @classmethod
    def of(cls, payment: PaymentRecord, local_instrument: str | None, self_url: str) -> OBWritePaymentDetailsResponse1:
        return cls.of_entries(payment_status_entries(payment, local_instrument), self_url)

    @classmethod
    def of_entries(cls, entries: list[PaymentStatusEntry], self_url: str) -> OBWritePaymentDetailsResponse1:
        return cls(Data=PaymentDetailsData(PaymentStatus=entries), Links=envelope.Links(Self=self_url))


def payment_status_entries(payment: PaymentRecord, local_instrument: str | None) -> list[PaymentStatusEntry]:
    """Each step of a payment's life, oldest first, as `OBWritePaymentDetails1` entries."""
    return [
        PaymentStatusEntry(
            PaymentTransactionId=str(payment.id),
            Status=status_code(change.status),
            StatusUpdateDateTime=change.at,
            StatusDetail=OBStatusDetail(
                LocalInstrument=local_instrument,
                Status=status_code(change.status),
                StatusReason=change.reason[:4] if change.reason else None,
                StatusReasonDescription=clip(change.reason_text, 256),
            ),
        )
        for change in payment.history
    ]
