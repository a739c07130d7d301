"""Shapes of customers: what staff submit, what the service returns, what the admin API shows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from core_banking.customers.models import KycStatus

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=70)]
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class Address(BaseModel):
    """A postal address; `country` is ISO 3166-1 alpha-2."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lines: list[Line] = Field(min_length=1, max_length=4)
    city: Line
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class CustomerCreate(BaseModel):
    """A new customer as staff capture it."""

    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)]
    # Deliberately loose (RFC 5322 addresses are too varied to validate by pattern); ownership is
    # proven by the login flow, not here.
    email: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ]
    # E.164: a plus, a country code, at most 15 digits.
    phone: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+[1-9]\d{6,14}$")]
    date_of_birth: date
    address: Address
    national_id: Annotated[
        str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z0-9][A-Z0-9 -]{2,30}$")
    ]

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth_date(cls, value: date) -> date:
        if not EARLIEST_BIRTH_DATE <= value <= date.today():
            raise ValueError("date of birth must be between 1900-01-01 and today")
        return value


class KycStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: KycStatus


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A customer with personal data decrypted, for callers entitled to see it."""

    id: uuid.UUID
    full_name: str
    email: str
    phone: str
    date_of_birth: date
    address: Address
    national_id: str
    kyc_status: KycStatus
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerContact:
    """How the bank reaches a customer (notifications): personal data, never logged or stored in clear."""

    customer_id: uuid.UUID
    full_name: str
    email: str
    phone: str


class CustomerRead(BaseModel):
    """A customer as the admin API shows it; the national id is masked to its last three characters."""

    id: uuid.UUID
    full_name: str
    email: str
    phone: str
    date_of_birth: date
    address: Address
    national_id_masked: str
    kyc_status: KycStatus
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: CustomerRecord) -> CustomerRead:
        visible = record.national_id[-3:]
        return cls(
            id=record.id,
            full_name=record.full_name,
            email=record.email,
            phone=record.phone,
            date_of_birth=record.date_of_birth,
            address=record.address,
            national_id_masked="*" * (len(record.national_id) - len(visible)) + visible,
            kyc_status=record.kyc_status,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )
