"""Beneficiaries, standing orders, scheduled payments and direct debits.

Beneficiaries are the customer's payees, under each account of the consent (`OBBeneficiary5`); standing
orders and scheduled payments are core banking's payment orders still to pay from an account
(`OBStandingOrder6`, `OBScheduledPayment3`). The Basic permission shows all but the payee's account, the
Detail one the payee's account too (UK OB: ReadBeneficiariesBasic/Detail, ReadStandingOrdersBasic/Detail,
ReadScheduledPaymentsBasic/Detail). Core banking keeps no direct debit mandates yet: that resource answers its
empty list (R/W API Profile, "400 (Bad Request) v/s 404 (Not Found)": no business data is 200 with an empty
array), typed as an array that holds nothing so that the OpenAPI document promises no more than the bank serves.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core_banking.facade import BeneficiaryRecord, CreditorAccount, OrderRecord, OrderStatus, RunOutcome
from open_banking import schemas as envelope
from open_banking.amounts import OBAmount

Max35Text = Annotated[str, StringConstraints(min_length=1, max_length=35)]
# Payment dates are the bank's days, in London (core banking's bank time zone).
BANK_TIMEZONE = ZoneInfo("Europe/London")


class OBCashAccount5(BaseModel):
    """The payee's account (`OBCashAccount5_1`), shown under the Detail permission only."""

    model_config = ConfigDict(extra="forbid")

    SchemeName: str
    Identification: str = Field(min_length=1, max_length=256)
    Name: str | None = Field(default=None, min_length=1, max_length=350)

    @classmethod
    def of(cls, order: OrderRecord) -> OBCashAccount5:
        return cls.of_creditor(order.creditor)

    @classmethod
    def of_creditor(cls, creditor: CreditorAccount) -> OBCashAccount5:
        return cls(SchemeName=creditor.scheme.value, Identification=creditor.identification, Name=creditor.name[:350])


class OBFrequency(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Type: str


class OBMandateRelatedInformation(BaseModel):
    """When a standing order pays: from its first date, at its frequency, until its final date if it has one."""

    model_config = ConfigDict(extra="forbid")

    Classification: Literal["FIXE"] = "FIXE"
    FirstPaymentDateTime: datetime
    FinalPaymentDateTime: datetime | None = None
    Frequency: OBFrequency


class OBCreditorReference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Reference: Max35Text


class OBStructuredRemittance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    CreditorReferenceInformation: OBCreditorReference


class OBRemittanceInformation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Structured: list[OBStructuredRemittance]

    @classmethod
    def of(cls, reference: str | None) -> OBRemittanceInformation | None:
        if reference is None:
            return None
        return cls(
            Structured=[OBStructuredRemittance(CreditorReferenceInformation=OBCreditorReference(Reference=reference))]
        )


def _midnight(day: date) -> datetime:
    """A nominal payment date as OB writes dates: midnight in the bank's time zone."""
    return datetime.combine(day, time(0, 0), BANK_TIMEZONE)


# ISO 20022 ExternalMandateStatus1Code: a paused order is suspended, one that made its last payment expired.
_MANDATE_STATUS: dict[OrderStatus, Literal["ACTV", "CANC", "EXPI", "SUSP"]] = {
    OrderStatus.ACTIVE: "ACTV",
    OrderStatus.PAUSED: "SUSP",
    OrderStatus.COMPLETED: "EXPI",
    OrderStatus.CANCELLED: "CANC",
}


class OBStandingOrder6(BaseModel):
    """A standing order still paying from the account."""

    model_config = ConfigDict(extra="forbid")

    AccountId: str
    StandingOrderId: str = Field(min_length=1, max_length=40)
    NextPaymentDateTime: datetime | None = None
    LastPaymentDateTime: datetime | None = None
    NumberOfPayments: str | None = None
    StandingOrderStatusCode: Literal["ACTV", "CANC", "EXPI", "SUSP"]
    FirstPaymentAmount: OBAmount
    NextPaymentAmount: OBAmount | None = None
    LastPaymentAmount: OBAmount | None = None
    FinalPaymentAmount: OBAmount | None = None
    CreditorAccount: OBCashAccount5 | None = None
    MandateRelatedInformation: OBMandateRelatedInformation
    RemittanceInformation: OBRemittanceInformation | None = None

    @classmethod
    def of(cls, order: OrderRecord, *, detail: bool) -> OBStandingOrder6:
        assert order.frequency is not None  # a standing order
        paid = [run for run in order.runs if run.outcome is RunOutcome.PAID]
        last = paid[-1] if paid else None
        return cls(
            AccountId=str(order.debtor_account_id),
            StandingOrderId=str(order.id),
            NextPaymentDateTime=order.next_payment_at,
            LastPaymentDateTime=None if last is None else last.ran_at,
            NumberOfPayments=None if order.payments_total is None else str(order.payments_total),
            StandingOrderStatusCode=_MANDATE_STATUS[order.status],
            FirstPaymentAmount=OBAmount.from_money(order.first),
            NextPaymentAmount=None if order.next_amount is None else OBAmount.from_money(order.next_amount),
            FinalPaymentAmount=None if order.final is None else OBAmount.from_money(order.final),
            CreditorAccount=OBCashAccount5.of(order) if detail else None,
            MandateRelatedInformation=OBMandateRelatedInformation(
                FirstPaymentDateTime=_midnight(order.first_date),
                FinalPaymentDateTime=None if order.final_date is None else _midnight(order.final_date),
                Frequency=OBFrequency(Type=order.frequency.value),
            ),
            RemittanceInformation=OBRemittanceInformation.of(order.reference),
        )


class OBScheduledPayment3(BaseModel):
    """A payment scheduled from the account and not yet made."""

    model_config = ConfigDict(extra="forbid")

    AccountId: str
    ScheduledPaymentId: str = Field(min_length=1, max_length=40)
    ScheduledPaymentDateTime: datetime
    ScheduledType: Literal["Execution"] = "Execution"
    Reference: Max35Text | None = None
    InstructedAmount: OBAmount
    CreditorAccount: OBCashAccount5 | None = None

    @classmethod
    def of(cls, order: OrderRecord, *, detail: bool) -> OBScheduledPayment3:
        return cls(
            AccountId=str(order.debtor_account_id),
            ScheduledPaymentId=str(order.id),
            # When the bank executes it: its date (or the next business day) at the execution hour.
            ScheduledPaymentDateTime=order.next_payment_at or _midnight(order.first_date),
            Reference=order.reference,
            InstructedAmount=OBAmount.from_money(order.first),
            CreditorAccount=OBCashAccount5.of(order) if detail else None,
        )


class OBBeneficiary5(BaseModel):
    """One of the customer's payees, under one account of the consent; `CreditorAccount` under Detail only.

    Every payee is `Ordinary`: the bank keeps no list of trusted beneficiaries exempt from strong
    authentication (PSD2 RTS article 13).
    """

    model_config = ConfigDict(extra="forbid")

    AccountId: str
    BeneficiaryId: str = Field(min_length=1, max_length=40)
    BeneficiaryType: Literal["Ordinary"] = "Ordinary"
    Reference: Max35Text | None = None
    CreditorAccount: OBCashAccount5 | None = None

    @classmethod
    def of(cls, beneficiary: BeneficiaryRecord, *, detail: bool) -> OBBeneficiary5:
        return cls(
            AccountId=str(beneficiary.account_id),
            BeneficiaryId=str(beneficiary.payee_id),
            Reference=beneficiary.reference,
            CreditorAccount=OBCashAccount5.of_creditor(beneficiary.creditor) if detail else None,
        )


class OBReadBeneficiary5Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Beneficiary: list[OBBeneficiary5] = Field(default_factory=list)


class OBReadBeneficiary5(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadBeneficiary5Data
    Links: envelope.Links
    Meta: envelope.Meta


class OBReadStandingOrder6Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    StandingOrder: list[OBStandingOrder6] = Field(default_factory=list)


class OBReadStandingOrder6(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadStandingOrder6Data
    Links: envelope.Links
    Meta: envelope.Meta


class OBReadScheduledPayment3Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ScheduledPayment: list[OBScheduledPayment3] = Field(default_factory=list)


class OBReadScheduledPayment3(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadScheduledPayment3Data
    Links: envelope.Links
    Meta: envelope.Meta


class OBReadDirectDebit2Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    DirectDebit: tuple[()] = ()


class OBReadDirectDebit2(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadDirectDebit2Data
    Links: envelope.Links
    Meta: envelope.Meta
