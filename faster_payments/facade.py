"""What the scheme tells a participant bank: who holds an account at another participant (confirmation of payee).

The scheme's directory (`registry`, the `faster_payments.accounts` table) is read in a transaction of the
facade's own. The scheme keeps its tables in the bank's database (schema `faster_payments`), so this works
the same when the scheme runs embedded and when it runs as its own process (`obank scheme run`): the bank
reads the directory, never the scheme's process. Records are typed and free of any session; the bank's
`core_banking.payees.confirmation.PayeeNameDirectory` is the contract this meets, without either side
importing the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from faster_payments import registry
from faster_payments.models import AccountStatus
from obank.database import unit_of_work


@dataclass(frozen=True, slots=True)
class AccountHolder:
    """The directory's answer for one sort code and account number.

    `bank_answers`: the sort code is a participant bank's (each answers confirmation of payee).
    `holder_name`: the holder of the open account with that number; None when the bank has none (or closed it).
    """

    bank_answers: bool
    holder_name: str | None = None


class SchemeDirectory:
    """Confirmation of payee against the scheme's directory of the other participant banks' accounts."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def account_holder(self, sort_code: str, account_number: str) -> AccountHolder:
        """Who holds `sort_code` `account_number` at another participant bank, as its bank would answer."""
        async with unit_of_work(self._sessions) as session:
            account = await registry.find_account(session, sort_code, account_number)
            if account is not None:
                open_account = account.status is AccountStatus.OPEN
                return AccountHolder(bank_answers=True, holder_name=account.holder_name if open_account else None)
            participants = {known.sort_code for known in await registry.list_accounts(session)}
        return AccountHolder(bank_answers=sort_code in participants)
