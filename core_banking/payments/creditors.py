"""Who is paid: a payee's account checked (UK modulus rules, IBAN) and routed to this bank or the scheme.

Faster Payments is a domestic sterling scheme: a payee is a UK sort code and account number, written as such
(`UK.OBIE.SortCodeAccountNumber`, 14 digits) or inside a GB IBAN. A sort code and account number that fail
VocaLink's modulus check cannot exist and are refused before any money is held; a valid IBAN of another
country is refused too, since no international scheme is offered.
"""

from __future__ import annotations

from dataclasses import dataclass

import ukmodulus
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from core_banking.accounts import identifiers
from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.payments.errors import InvalidPayment

FASTER_PAYMENTS_CURRENCY = "GBP"
MAX_CREDITOR_NAME = 140
_IDENTIFICATION = "Data.Initiation.CreditorAccount.Identification"


@dataclass(frozen=True, slots=True)
class UkAccount:
    """A UK account as the scheme addresses it."""

    sort_code: str
    account_number: str

    @property
    def ours(self) -> bool:
        return self.sort_code == identifiers.SORT_CODE


def modulus_valid(sort_code: str, account_number: str) -> bool:
    """VocaLink's modulus check (a sort code outside the table has no check and passes)."""
    try:
        return bool(ukmodulus.validate_number(sort_code, account_number))
    except (ValueError, KeyError, IndexError):
        return False


def uk_account(creditor: CreditorAccount) -> UkAccount:
    """The payee's sort code and account number, checked; raises InvalidPayment naming the field."""
    name = creditor.name.strip()
    if not name or len(name) > MAX_CREDITOR_NAME:
        raise InvalidPayment(
            f"the payee's name must be 1 to {MAX_CREDITOR_NAME} characters",
            field="Data.Initiation.CreditorAccount.Name",
        )
    identification = creditor.identification
    if creditor.scheme is CreditorScheme.SORT_CODE_ACCOUNT_NUMBER:
        if len(identification) != 14 or not identification.isascii() or not identification.isdigit():
            raise InvalidPayment("a sort code and account number are 14 digits", field=_IDENTIFICATION)
        account = UkAccount(identification[:6], identification[6:])
    elif creditor.scheme is CreditorScheme.IBAN:
        try:
            iban = IBAN(identification)
        except (SchwiftyException, ValueError):
            raise InvalidPayment(f"{identification!r} is not a valid IBAN", field=_IDENTIFICATION) from None
        if iban.country_code != "GB":
            raise InvalidPayment("only UK (GB) IBANs can be paid: no international scheme", field=_IDENTIFICATION)
        bban = iban.bban
        account = UkAccount(bban[4:10], bban[10:18])
    else:
        raise InvalidPayment(
            f"{creditor.scheme.value} payees cannot be paid; use a sort code and account number or an IBAN",
            field="Data.Initiation.CreditorAccount.SchemeName",
        )
    if not modulus_valid(account.sort_code, account.account_number):
        raise InvalidPayment(
            f"sort code {identifiers.format_sort_code(account.sort_code)} and account number "
            f"{account.account_number} fail the UK modulus check",
            field=_IDENTIFICATION,
        )
    return account
