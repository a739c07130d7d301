"""A current balance read is one statement outside any transaction: no BEGIN, no COMMIT around it."""

from __future__ import annotations

import httpx

from bench.transfers import open_accounts
from core_banking.app import create_app
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from tests.perf.test_statement_counts import MEASURED, counting


async def test_a_balance_read_is_one_statement_and_no_transaction(platform: Platform) -> None:
    customer_id, [account_id] = await open_accounts(platform, 1)
    app = create_app(platform)
    principal = Principal(
        subject=str(customer_id), kind="customer", interaction_id="perf", scopes=frozenset({"accounts"})
    )
    headers = {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking") as client:

        async def read(path: str = f"/api/v1/accounts/{account_id}/balances") -> httpx.Response:
            response = await client.get(path, headers=headers)
            assert response.status_code == 200, response.text
            return response

        first = (await read()).json()
        with counting(platform.engine, platform.statement_engine) as log:
            for _ in range(MEASURED):
                await read()
        # A past moment still reads the postings and holds of that moment in one transaction.
        with counting(platform.engine, platform.statement_engine) as past:
            await read(f"/api/v1/accounts/{account_id}/balances?as_of={first['as_of']}")

    assert first["booked_minor"] == first["available_minor"] > 0
    assert len(log.statements) == MEASURED, log.summary()
    assert log.commits == 0
    assert past.commits == 1
    # Read on a pool of its own whose connections are autocommit from the start: a transactional pool's
    # connection would be switched to autocommit and back at every checkout.
    assert platform.statement_engine.sync_engine.pool is not platform.engine.sync_engine.pool
    async with platform.statement_engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None and driver.autocommit
