"""Parties (`OBReadParty2`, `OBReadParty3`): the PSU who authorised the consent, or an account's holder.

Every account has one holder, a person: `Sole`, `UK.OBIE.Individual`, in the role `UK.OBIE.Principal`.
Core banking keeps the phone number in E.164 (`+447700900123`); OB's pattern sets the country code apart
(`+44-7700900123`), which takes a numbering plan (`phonenumbers`). A mobile number is `Mobile`, any other `Phone`.
"""

from __future__ import annotations

from typing import Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field

from core_banking.facade import PartyRecord
from open_banking import schemas as envelope

INDIVIDUAL = "UK.OBIE.Individual"
PHONE_PATTERN = r"^\+[0-9]{1,3}-[0-9()+\-]{1,30}$"
PRINCIPAL = "UK.OBIE.Principal"


def ob_phone_number(e164: str | None) -> tuple[str | None, bool]:
    """An E.164 number as OB writes it (`+44-2079460000`), and whether it is a mobile's; None if unreadable."""
    if not e164:
        return None, False
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None, False
    formatted = f"+{number.country_code}-{phonenumbers.national_significant_number(number)}"
    return formatted, phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE


class OBPostalAddress(BaseModel):
    """The party's address as core banking keeps it: up to four lines, the town, the postcode, the country."""

    model_config = ConfigDict(extra="forbid")

    AddressLine: list[str] = Field(max_length=7)
    TownName: str = Field(min_length=1, max_length=140)
    PostCode: str = Field(min_length=1, max_length=16)
    Country: str = Field(pattern=r"^[A-Z]{2,2}$")


class OBRelatedAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Related: str
    Id: str = Field(min_length=1, max_length=40)


class OBPartyRelationships(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Account: OBRelatedAccount


class OBParty2(BaseModel):
    """A person; `PartyType`, `AccountRole` and `Relationships` when read as an account's holder."""

    model_config = ConfigDict(extra="forbid")

    PartyId: str = Field(min_length=1, max_length=40)
    PartyType: Literal["Sole"] | None = None
    Name: str = Field(min_length=1, max_length=350)
    LegalStructure: str
    AccountRole: str | None = None
    EmailAddress: str = Field(min_length=1, max_length=256)
    Phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    Mobile: str | None = Field(default=None, pattern=PHONE_PATTERN)
    Relationships: OBPartyRelationships | None = None
    Address: list[OBPostalAddress]

    @classmethod
    def person(cls, party: PartyRecord) -> OBParty2:
        """The party in their own right (the PSU of GET /party), related to no account."""
        address = party.address
        number, is_mobile = ob_phone_number(party.phone)
        return cls(
            PartyId=str(party.party_id),
            Name=party.full_name,
            LegalStructure=INDIVIDUAL,
            EmailAddress=party.email,
            Phone=None if is_mobile else number,
            Mobile=number if is_mobile else None,
            Address=[
                OBPostalAddress(
                    AddressLine=list(address.lines),
                    TownName=address.city,
                    PostCode=address.postcode,
                    Country=address.country,
                )
            ],
        )

    @classmethod
    def holder(cls, party: PartyRecord, account_id: str, account_url: str) -> OBParty2:
        """The sole holder of the account at `account_url`."""
        relationships = OBPartyRelationships(Account=OBRelatedAccount(Related=account_url, Id=account_id))
        return cls.person(party).model_copy(
            update={"PartyType": "Sole", "AccountRole": PRINCIPAL, "Relationships": relationships}
        )


class OBReadParty2Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Party: OBParty2


class OBReadParty2(BaseModel):
    """One party: the PSU (GET /party) or the account's holder (GET /accounts/{AccountId}/party)."""

    model_config = ConfigDict(extra="forbid")

    Data: OBReadParty2Data
    Links: envelope.Links
    Meta: envelope.Meta


class OBReadParty3Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Party: list[OBParty2]


class OBReadParty3(BaseModel):
    """Every party of an account (GET /accounts/{AccountId}/parties): its one holder."""

    model_config = ConfigDict(extra="forbid")

    Data: OBReadParty3Data
    Links: envelope.Links
    Meta: envelope.Meta
