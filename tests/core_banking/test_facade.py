"""The facade other contexts call: typed reads of customers, accounts and balances."""

from __future__ import annotations

import uuid

import pytest

from core_banking import facade
from core_banking.accounts.models import AccountType
from obank.runtime import Platform
from tests.core_banking.helpers import new_account, new_customer


async def test_facade_reads(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring, email="reader@example.com")
    stranger = await new_customer(platform.sessions, platform.keyring)
    checking = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=1_234)
    savings = await new_account(platform.sessions, platform.keyring, customer.id, account_type=AccountType.SAVINGS)
    core = facade.InProcessCoreBanking(platform.sessions, platform.keyring)
    assert [a.id for a in await core.list_customer_accounts(customer.id)] == [checking.id, savings.id]
    assert await core.list_customer_accounts(stranger.id) == []
    assert (await core.get_account(savings.id)).account_type is AccountType.SAVINGS
    balances = await core.get_balances(checking.id)
    assert (balances.booked.minor, balances.available.minor, balances.pending.minor) == (1_234, 1_234, 0)
    assert await core.customer_owns_account(customer.id, checking.id)
    assert not await core.customer_owns_account(stranger.id, checking.id)
    assert not await core.customer_owns_account(customer.id, uuid.uuid4())
    found = await core.find_customer_by_email("READER@example.com")
    assert found is not None and found.id == customer.id
    assert (await core.get_customer(customer.id)).full_name == customer.full_name
    with pytest.raises(facade.AccountNotFound):
        await core.get_account(uuid.uuid4())
