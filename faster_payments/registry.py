"""The scheme's directory of other participant banks' accounts: fictitious banks, real modulus-valid numbers.

Sort codes sit in ranges of VocaLink's modulus table, so each account number passes a real check (and a
mistyped one fails it); none is the bank's own 04-00-75.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict

from sqlalchemy.ext.asyncio import AsyncSession

from faster_payments import repository
from faster_payments.models import AccountStatus
from faster_payments.schemas import RegistryAccount

_OPEN, _CLOSED = AccountStatus.OPEN, AccountStatus.CLOSED


def _account(bank: str, sort_code: str, number: str, holder: str, status: AccountStatus = _OPEN) -> RegistryAccount:
    return RegistryAccount(
        bank_name=bank, sort_code=sort_code, account_number=number, holder_name=holder, status=status
    )


DIRECTORY: tuple[RegistryAccount, ...] = (
    _account("Albion Mutual", "309634", "56100526", "Ada Lovelace"),
    _account("Albion Mutual", "309634", "73632401", "Isambard Kingdom Brunel"),
    _account("Albion Mutual", "309634", "18142912", "Mary Seacole", _CLOSED),
    _account("Pennine Building Society", "400515", "76262352", "Alan Turing"),
    _account("Pennine Building Society", "400515", "98384612", "Rosalind Franklin"),
    _account("Severn Bank", "601613", "63550032", "Florence Nightingale"),
    _account("Severn Bank", "601613", "17056578", "Charles Babbage"),
    _account("Thames & Mercia Bank", "560027", "29552354", "Dorothy Hodgkin"),
    _account("Thames & Mercia Bank", "560027", "66230047", "Tim Berners-Lee"),
    _account("Thames & Mercia Bank", "560027", "71289682", "Brunel Engineering Ltd"),
)


async def ensure_registry(session: AsyncSession) -> int:
    """Add the directory's accounts the scheme does not know yet (idempotent); how many were added."""
    return await repository.add_accounts(session, (asdict(account) for account in DIRECTORY))


async def list_accounts(session: AsyncSession) -> list[RegistryAccount]:
    return [RegistryAccount.from_model(row) for row in await repository.list_accounts(session)]


async def find_account(session: AsyncSession, sort_code: str, account_number: str) -> RegistryAccount | None:
    row = await repository.get_account(session, sort_code, account_number)
    return None if row is None else RegistryAccount.from_model(row)


def normalise_name(name: str) -> str:
    """A name as a payee check compares it: case, accents, whitespace and punctuation ignored."""
    decomposed = unicodedata.normalize("NFKD", name).casefold()
    return re.sub(r"[\W_]", "", "".join(char for char in decomposed if not unicodedata.combining(char)))


def names_match(given: str, holder: str) -> bool:
    return normalise_name(given) == normalise_name(holder)
