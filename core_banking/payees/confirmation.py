"""Confirmation of payee (Pay.UK CoP): is the name the customer typed the name on the account they will pay?

The answer is MATCH; CLOSE_MATCH, with the holder's actual name (reason MBAM); NO_MATCH, for another name
(ANNM) or an account that does not exist (AC01); or UNAVAILABLE when the payee's bank does not answer.
This bank answers for its own sort code from its accounts and customers. For other banks it asks a
`PayeeNameDirectory` handed in by the composition root (in this deployment, the simulated Faster Payments
scheme's directory); core banking never imports the scheme.

Names are compared after normalisation (case, accents, punctuation, whitespace, titles such as Mr or Dr,
"Ltd"/"Limited"): equal is a MATCH; a near spelling (rapidfuzz, at least `CLOSE_MATCH_SCORE` of 100) or the
same surname with forenames given as initials or left out ("J Smith", "John Smith") is a CLOSE_MATCH.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import fuzz
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.customers import service as customers_service
from core_banking.payees import repository
from core_banking.payees.models import CopResult
from core_banking.payments.creditors import UkAccount
from obank.crypto import KeyRing

# ISO 20022 / Pay.UK CoP reason codes.
REASON_CLOSE_MATCH = "MBAM"
REASON_NO_MATCH = "ANNM"
REASON_NO_ACCOUNT = "AC01"
CLOSE_MATCH_SCORE = 85.0

_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "revd"})
_COMPANY_SUFFIXES = frozenset({"ltd", "limited"})


class HolderLookup(Protocol):
    """What a directory says of one account: whether its bank answers, and the open account's holder."""

    @property
    def bank_answers(self) -> bool:
        """The sort code is a bank that answers confirmation of payee."""

    @property
    def holder_name(self) -> str | None:
        """The holder's name; None when the bank has no open account with that number."""


class PayeeNameDirectory(Protocol):
    """Other banks' answers to confirmation of payee, by sort code and account number."""

    async def account_holder(self, sort_code: str, account_number: str) -> HolderLookup:
        """The account's holder as its bank knows it; a sort code of no answering bank gives `bank_answers` False."""


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A lookup no bank answered."""

    bank_answers: bool = False
    holder_name: str | None = None


class NoDirectory:
    """A directory of no bank: every account of another bank is UNAVAILABLE."""

    async def account_holder(self, sort_code: str, account_number: str) -> HolderLookup:
        return Unanswered()


@dataclass(frozen=True, slots=True)
class CopAnswer:
    """The answer to one check; `actual_name` only for a CLOSE_MATCH (the one case CoP shows it)."""

    result: CopResult
    reason: str | None
    actual_name: str | None = None


def name_tokens(name: str) -> list[str]:
    """A name's words as CoP compares them: accents and case dropped, apostrophes removed (O'Brien is OBrien),
    other punctuation separating words, '&' read as 'and', titles and Ltd/Limited left out."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    plain = re.sub(r"['\u2019`]", "", plain.replace("&", " and "))
    words = re.findall(r"[^\W_]+", plain)
    kept = [word for word in words if word not in _TITLES and word not in _COMPANY_SUFFIXES]
    return kept or words


def _same_forename(one: str, other: str) -> bool:
    return one == other or (len(one) == 1 and other.startswith(one)) or (len(other) == 1 and one.startswith(other))


def _initials_agree(given: list[str], holder: list[str]) -> bool:
    """The same surname, and forenames that agree in order, some as initials or left out ("J Smith")."""
    if len(given) < 2 or len(holder) < 2 or given[-1] != holder[-1]:
        return False
    first, second = given[:-1], holder[:-1]
    if not _same_forename(first[0], second[0]):
        return False
    shorter, longer = sorted((first, second), key=len)
    position = 0
    for forename in shorter:
        while position < len(longer) and not _same_forename(forename, longer[position]):
            position += 1
        if position == len(longer):
            return False
        position += 1
    return True


def match_name(given: str, holder: str) -> CopResult:
    """MATCH, CLOSE_MATCH or NO_MATCH of the name given against the holder's."""
    given_words, holder_words = name_tokens(given), name_tokens(holder)
    if given_words == holder_words:
        return CopResult.MATCH
    if _initials_agree(given_words, holder_words):
        return CopResult.CLOSE_MATCH
    one, other = " ".join(given_words), " ".join(holder_words)
    if max(fuzz.ratio(one, other), fuzz.token_sort_ratio(one, other)) >= CLOSE_MATCH_SCORE:
        return CopResult.CLOSE_MATCH
    return CopResult.NO_MATCH


async def _our_holder(session: AsyncSession, keyring: KeyRing, account: UkAccount) -> str | None:
    """The name of the customer holding this bank's account (open or frozen: it can be paid), if any."""
    customer_id = await repository.holder_of_account(session, account.sort_code, account.account_number)
    if customer_id is None:
        return None
    return (await customers_service.get_customer(session, keyring, customer_id)).full_name


async def confirm_payee(
    session: AsyncSession, keyring: KeyRing, directory: PayeeNameDirectory, account: UkAccount, name: str
) -> CopAnswer:
    """Check `name` against the holder of `account`: this bank's own, or another's through `directory`."""
    if account.ours:
        holder = await _our_holder(session, keyring, account)
    else:
        lookup = await directory.account_holder(account.sort_code, account.account_number)
        if not lookup.bank_answers:
            return CopAnswer(CopResult.UNAVAILABLE, None)
        holder = lookup.holder_name
    if holder is None:
        return CopAnswer(CopResult.NO_MATCH, REASON_NO_ACCOUNT)
    result = match_name(name, holder)
    if result is CopResult.MATCH:
        return CopAnswer(result, None)
    if result is CopResult.CLOSE_MATCH:
        return CopAnswer(result, REASON_CLOSE_MATCH, holder)
    return CopAnswer(result, REASON_NO_MATCH)
