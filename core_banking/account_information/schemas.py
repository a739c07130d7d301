"""Shapes of account information read through a consent: balances, the account holder, statements, payees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from core_banking.consents.schemas import CreditorAccount
from core_banking.customers.schemas import Address
from obank.money import Money


@dataclass(frozen=True, slots=True)
class AccountBalances:
    """An account's balances now: booked, available (booked + overdraft - holds), pending (open holds), and the
    overdraft (OB `CreditLine`)."""

    account_id: uuid.UUID
    as_of: datetime
    booked: Money
    available: Money
    pending: Money
    overdraft_limit: Money


@dataclass(frozen=True, slots=True)
class PartyRecord:
    """The account holder as the bank knows them (OB `Party`); personal data, opened for this read only."""

    party_id: uuid.UUID
    full_name: str
    email: str
    phone: str
    address: Address


@dataclass(frozen=True, slots=True)
class StatementRecord:
    """One monthly statement of an account (id `YYYY-MM`) over [start, end): the month to date, clipped to the
    consent's transaction window."""

    id: str
    account_id: uuid.UUID
    start: datetime
    end: datetime
    created_at: datetime
    opening_balance: Money
    closing_balance: Money
    paid_in: Money
    paid_out: Money


@dataclass(frozen=True, slots=True)
class BeneficiaryRecord:
    """One of the customer's payees as it applies to one account of the consent (OB `Beneficiary`): a UK bank's
    payees are the customer's, and each of their accounts may pay them."""

    account_id: uuid.UUID
    payee_id: uuid.UUID
    creditor: CreditorAccount
    reference: str | None
