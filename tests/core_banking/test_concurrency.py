"""Concurrent transfers in both directions neither deadlock, nor overspend, nor lose money."""

from __future__ import annotations

import asyncio
import random
import uuid

from core_banking.ledger import service as ledger
from core_banking.ledger.errors import InsufficientFunds
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from tests.core_banking.helpers import account, ledger_problems, new_account, new_customer


async def test_random_concurrent_transfers_keep_every_invariant(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    accounts = [
        await new_account(
            platform.sessions, platform.keyring, customer.id, funded_minor=5_000, overdraft_limit_minor=1_000
        )
        for _ in range(6)
    ]
    ids = [a.id for a in accounts]
    hot = ids[0]
    rng = random.Random(7)
    plans: list[tuple[uuid.UUID, uuid.UUID, int]] = []
    for _ in range(240):
        source, destination = rng.sample(ids, 2)
        if rng.random() < 0.5:  # half the traffic touches one hot account, in both directions
            source, destination = (hot, destination if destination != hot else ids[1])[:: rng.choice((1, -1))]
        plans.append((source, destination, rng.randint(1, 2_500)))
    refused = 0

    async def worker(chunk: list[tuple[uuid.UUID, uuid.UUID, int]]) -> None:
        nonlocal refused
        for source, destination, amount in chunk:
            try:
                async with unit_of_work(platform.sessions) as session:
                    await ledger.post_transfer(session, source, destination, Money(amount, "GBP"), description="race")
            except InsufficientFunds:
                refused += 1

    await asyncio.gather(*(worker(plans[i::16]) for i in range(16)))
    balances = [(await account(platform.sessions, account_id)).booked_balance_minor for account_id in ids]
    assert sum(balances) == 6 * 5_000
    assert min(balances) >= -1_000
    assert 0 < refused < len(plans)
    async with platform.engine.connect() as connection:
        assert await ledger_problems(connection) == []
