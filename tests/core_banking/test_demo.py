"""Demo seeding: funded customers through the ledger, idempotent across restarts."""

from __future__ import annotations

from core_banking.demo import seed_demo_bank
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork
from tests.core_banking.helpers import count, ledger_problems


async def test_seeding_twice_yields_the_same_bank(platform: Platform, units: UnitsOfWork) -> None:
    first = await seed_demo_bank(units)
    second = await seed_demo_bank(units)
    assert first == second
    assert len(first) >= 2 and all(len(customer.accounts) >= 2 for customer in first)
    assert {account.currency for customer in first for account in customer.accounts} == {"GBP", "EUR"}
    assert all(account.booked_balance_minor > 0 for customer in first for account in customer.accounts)
    async with platform.engine.connect() as connection:
        assert await ledger_problems(connection) == []
        assert await count(connection, "SELECT count(*) FROM core_banking.customers") == len(first)
        gbp_total = sum(a.booked_balance_minor for c in first for a in c.accounts if a.currency == "GBP")
        settlement = await count(
            connection,
            "SELECT booked_balance_minor FROM core_banking.accounts"
            " WHERE internal_purpose = 'SETTLEMENT' AND currency = 'GBP'",
        )
        assert settlement == -gbp_total
    async with platform.engine.connect() as connection:
        # Alice has saved Bob (a MATCH) and pays him and her savings monthly: once, however often it is seeded.
        assert await count(connection, "SELECT count(*) FROM core_banking.payees WHERE cop_result = 'MATCH'") == 1
        assert await count(connection, "SELECT count(*) FROM core_banking.payment_orders WHERE status = 'ACTIVE'") == 2
        assert await count(connection, "SELECT count(*) FROM core_banking.payment_orders WHERE on_month_end") == 1
