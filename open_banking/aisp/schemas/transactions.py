"""Transactions (`OBReadTransaction6`): booked ledger lines of the consent's accounts, newest first.

A line is shown in its Basic form (`OBTransaction6Basic`) unless the consent grants ReadTransactionsDetail
(`OBTransaction6Detail`: also the narrative and the account's balance after it). Lines are booked postings,
which never change: Status `BOOK`, `Immutable`; the first page also lists money held for payments on their way
out, Status `PDNG`, `Mutable`. This bank issues no cards: no `CardInstrument`, no PAN.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core_banking.facade import Money, PendingLine, TransactionLine
from open_banking import schemas as envelope
from open_banking.aisp.schemas.balances import INTERIM_BOOKED, BalanceTypeCode
from open_banking.amounts import CreditDebitIndicator as Indicator
from open_banking.amounts import OBAmount, signed_ob_amount


class OBProprietaryBankTransactionCode(BaseModel):
    """Why the bank booked the line, in its own words (deposit, transfer, interest...)."""

    model_config = ConfigDict(extra="forbid")

    Code: str = Field(min_length=1, max_length=35)


class OBTransactionCashBalance(BaseModel):
    """The account's booked balance just after the line (Detail only)."""

    model_config = ConfigDict(extra="forbid")

    CreditDebitIndicator: Indicator
    Type: BalanceTypeCode
    Amount: OBAmount


class OBTransaction6(BaseModel):
    """One booked line of an account; `TransactionInformation` and `Balance` only with ReadTransactionsDetail."""

    model_config = ConfigDict(extra="forbid")

    AccountId: str = Field(min_length=1, max_length=40)
    TransactionId: str = Field(min_length=1, max_length=210)
    TransactionReference: str | None = Field(default=None, min_length=1, max_length=210)
    CreditDebitIndicator: Indicator
    Status: Literal["BOOK", "PDNG"]
    TransactionMutability: Literal["Immutable", "Mutable"]
    BookingDateTime: datetime
    Amount: OBAmount
    ProprietaryBankTransactionCode: OBProprietaryBankTransactionCode
    TransactionInformation: str | None = Field(default=None, min_length=1, max_length=500)
    Balance: OBTransactionCashBalance | None = None

    @classmethod
    def of(cls, line: TransactionLine, *, detail: bool) -> OBTransaction6:
        amount, indicator = signed_ob_amount(Money(line.amount_minor, line.currency))
        balance = None
        if detail:
            after, after_indicator = signed_ob_amount(Money(line.balance_after_minor, line.currency))
            balance = OBTransactionCashBalance(CreditDebitIndicator=after_indicator, Type=INTERIM_BOOKED, Amount=after)
        return cls(
            AccountId=str(line.account_id),
            TransactionId=str(line.posting_id),
            TransactionReference=line.reference or None,
            CreditDebitIndicator=indicator,
            Status="BOOK",
            TransactionMutability="Immutable",
            BookingDateTime=line.booked_at,
            Amount=amount,
            ProprietaryBankTransactionCode=OBProprietaryBankTransactionCode(Code=line.kind),
            TransactionInformation=(line.description or None) if detail else None,
            Balance=balance,
        )


def pending_transaction(line: PendingLine, *, detail: bool) -> OBTransaction6:
    """Money held for a payment on its way out: Status PDNG, Mutable (it is booked, or released, later)."""
    amount, indicator = signed_ob_amount(Money(line.amount_minor, line.currency))
    return OBTransaction6(
        AccountId=str(line.account_id),
        TransactionId=f"hold-{line.hold_id}",
        TransactionReference=line.reference or None,
        CreditDebitIndicator=indicator,
        Status="PDNG",
        TransactionMutability="Mutable",
        BookingDateTime=line.created_at,
        Amount=amount,
        ProprietaryBankTransactionCode=OBProprietaryBankTransactionCode(Code="PAYMENT_PENDING"),
        TransactionInformation=(line.description or None) if detail else None,
    )


class OBReadDataTransaction6(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Transaction: list[OBTransaction6]


class OBReadTransaction6(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadDataTransaction6
    Links: envelope.Links
    Meta: envelope.Meta
