"""Beneficiaries, standing orders, scheduled payments and direct debits: none kept by this bank yet.

Core banking keeps no payees, standing orders, scheduled payments or direct debit mandates until the
beneficiaries and scheduled payments work builds them; these resources answer their empty lists (R/W API
Profile, "400 (Bad Request) v/s 404 (Not Found)": no business data is 200 with an empty array), typed as
arrays that hold nothing so that the OpenAPI document promises no more than the bank serves.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from open_banking import schemas as envelope


class OBReadBeneficiary5Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Beneficiary: tuple[()] = ()


class OBReadBeneficiary5(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadBeneficiary5Data
    Links: envelope.Links
    Meta: envelope.Meta


class OBReadStandingOrder6Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    StandingOrder: tuple[()] = ()


class OBReadStandingOrder6(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: OBReadStandingOrder6Data
    Links: envelope.Links
    Meta: envelope.Meta


class OBReadScheduledPayment3Data(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ScheduledPayment: tuple[()] = ()


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
