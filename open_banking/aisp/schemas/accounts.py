"""Accounts (`OBReadAccount6`) and their products (`OBReadProduct2`), written from core banking's account records.

An account is shown in its Basic form (`OBAccount6Basic`: what it is) unless the consent grants
ReadAccountsDetail (`OBAccount6Detail`: also its identifiers). ReadPAN unmasks card numbers; this bank
issues no cards, so no PAN ever appears, whatever the consent grants.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core_banking.facade import AccountRecord
from open_banking import schemas as envelope

SORT_CODE_ACCOUNT_NUMBER = "UK.OBIE.SortCodeAccountNumber"
IBAN = "UK.OBIE.IBAN"

AccountStatusCode = Literal["Deleted", "Disabled", "Enabled", "Pending", "ProForma"]
# Core banking's account statuses: ACTIVE takes everything, FROZEN credits only, CLOSED nothing.
_STATUSES: dict[str, AccountStatusCode] = {"ACTIVE": "Enabled", "FROZEN": "Disabled", "CLOSED": "Deleted"}
# Core banking's account types as OB's account categories and ISO 20022 cash account types.
CategoryCode = Literal["Business", "Personal"]
CashAccountTypeCode = Literal["CACC", "SVGS"]
_CATEGORIES: dict[str, CategoryCode] = {"CHECKING": "Personal", "SAVINGS": "Personal", "BUSINESS": "Business"}
_TYPE_CODES: dict[str, CashAccountTypeCode] = {"CHECKING": "CACC", "SAVINGS": "SVGS", "BUSINESS": "CACC"}


class OBAccountIdentification(BaseModel):
    """One way of naming the account for payments (`OBAccount6Detail.Account[]`)."""

    model_config = ConfigDict(extra="forbid")

    SchemeName: str
    Identification: str = Field(min_length=1, max_length=256)


class OBAccount6(BaseModel):
    """An account; `Account` (its identifiers) only with ReadAccountsDetail."""

    model_config = ConfigDict(extra="forbid")

    AccountId: str = Field(min_length=1, max_length=40)
    Status: AccountStatusCode | None = None
    StatusUpdateDateTime: datetime | None = None
    Currency: str = Field(pattern=r"^[A-Z]{3,3}$")
    AccountCategory: CategoryCode | None = None
    AccountTypeCode: CashAccountTypeCode | None = None
    Nickname: str | None = Field(default=None, min_length=1, max_length=70)
    OpeningDate: datetime | None = None
    Account: list[OBAccountIdentification] | None = None

    @classmethod
    def of(cls, account: AccountRecord, *, detail: bool) -> OBAccount6:
        kind = None if account.account_type is None else str(account.account_type)
        return cls(
            AccountId=str(account.id),
            Status=_STATUSES.get(str(account.status)),
            # The only status change core banking dates is the closure.
            StatusUpdateDateTime=account.closed_at,
            Currency=account.currency,
            AccountCategory=_CATEGORIES.get(kind or ""),
            AccountTypeCode=_TYPE_CODES.get(kind or ""),
            Nickname=account.name,
            OpeningDate=account.opened_at,
            Account=[
                OBAccountIdentification(
                    SchemeName=SORT_CODE_ACCOUNT_NUMBER, Identification=account.sort_code + account.account_number
                ),
                OBAccountIdentification(SchemeName=IBAN, Identification=account.iban),
            ]
            if detail
            else None,
        )


class OBReadAccount6Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Account: list[OBAccount6]


class OBReadAccount6(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadAccount6Data
    Links: envelope.Links
    Meta: envelope.Meta


ProductTypeCode = Literal["BusinessCurrentAccount", "Other", "PersonalCurrentAccount"]
_PRODUCT_TYPES: dict[str, ProductTypeCode] = {
    "CHECKING": "PersonalCurrentAccount",
    "BUSINESS": "BusinessCurrentAccount",
    "SAVINGS": "Other",
}
_PRODUCT_NAMES = {"CHECKING": "Current account", "BUSINESS": "Business current account", "SAVINGS": "Savings account"}


class OBOtherProductType(BaseModel):
    """A product outside OB's product types (our savings account), named and described."""

    model_config = ConfigDict(extra="forbid")

    Name: str = Field(min_length=1, max_length=350)
    Description: str = Field(min_length=1, max_length=350)


class OBProduct(BaseModel):
    """The product an account is (`OBReadProduct2.Data.Product[]`): the account's type, as core banking keeps it."""

    model_config = ConfigDict(extra="forbid")

    ProductName: str = Field(min_length=1, max_length=350)
    ProductId: str = Field(min_length=1, max_length=40)
    AccountId: str = Field(min_length=1, max_length=40)
    ProductType: ProductTypeCode
    OtherProductType: OBOtherProductType | None = None

    @classmethod
    def of(cls, account: AccountRecord) -> OBProduct:
        assert account.account_type is not None  # a customer's account: consents cover no other
        kind = str(account.account_type)
        product_type = _PRODUCT_TYPES[kind]
        name = _PRODUCT_NAMES[kind]
        return cls(
            ProductName=name,
            ProductId=kind,
            AccountId=str(account.id),
            ProductType=product_type,
            OtherProductType=OBOtherProductType(Name=name, Description=f"A {name.lower()} held with this bank")
            if product_type == "Other"
            else None,
        )


class OBReadProduct2Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Product: list[OBProduct]


class OBReadProduct2(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadProduct2Data
    Links: envelope.Links
    Meta: envelope.Meta
