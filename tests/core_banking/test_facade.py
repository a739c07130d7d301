"""The facade other contexts call: typed reads of customers, accounts and balances."""

from __future__ import annotations

import uuid

import pytest

from core_banking import facade
from core_banking.accounts.models import AccountType
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.helpers import new_account, new_customer


async def test_facade_reads(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring, email="reader@example.com")
    stranger = await new_customer(platform.sessions, platform.keyring)
    checking = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=1_234)
    savings = await new_account(platform.sessions, platform.keyring, customer.id, account_type=AccountType.SAVINGS)
    async with unit_of_work(platform.sessions) as session:
        assert [a.id for a in await facade.list_customer_accounts(session, customer.id)] == [checking.id, savings.id]
        assert await facade.list_customer_accounts(session, stranger.id) == []
        assert (await facade.get_account(session, savings.id)).account_type is AccountType.SAVINGS
        balances = await facade.get_balances(session, checking.id)
        assert (balances.booked.minor, balances.available.minor, balances.pending.minor) == (1_234, 1_234, 0)
        assert await facade.customer_owns_account(session, customer.id, checking.id)
        assert not await facade.customer_owns_account(session, stranger.id, checking.id)
        assert not await facade.customer_owns_account(session, customer.id, uuid.uuid4())
        found = await facade.find_customer_by_email(session, platform.keyring, "READER@example.com")
        assert found is not None and found.id == customer.id
        assert (await facade.get_customer(session, platform.keyring, customer.id)).full_name == customer.full_name
        with pytest.raises(facade.AccountNotFound):
            await facade.get_account(session, uuid.uuid4())
