"""Customer transfers through HTTP under concurrency: money is conserved, never overspent, booked once per key."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from typing import Any

import httpx

from core_banking.reconciliation.service import reconcile
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.conftest import CustomerHeadersFor
from tests.core_banking.helpers import account, count, ledger_problems, new_account, new_customer

FUNDING = 10_000
OVERDRAFT = 2_000


async def test_32_concurrent_workers_conserve_money_and_respect_every_limit(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    owners = [await new_customer(platform.sessions, platform.keyring) for _ in range(5)]
    accounts = []
    for index in range(10):
        # Every third account has a small daily limit; the others (the hot one included) practically none.
        daily = 6_000 if index % 3 == 1 else 10**9
        accounts.append(
            await new_account(
                platform.sessions,
                platform.keyring,
                owners[index // 2].id,
                funded_minor=FUNDING,
                overdraft_limit_minor=OVERDRAFT if index % 2 else 0,
                daily_limit_minor=daily,
                monthly_limit_minor=10**9,
            )
        )
    owner_of = {a.id: a.customer_id for a in accounts}
    headers = {customer.id: customer_headers(customer.id) for customer in owners}
    hot, ids = accounts[0].id, [a.id for a in accounts]
    rng = random.Random(20261122)

    def plan() -> tuple[uuid.UUID, uuid.UUID, int]:
        source, destination = rng.sample(ids, 2)
        if rng.random() < 0.5:  # half the traffic moves money in or out of one hot account
            other = destination if destination != hot else source
            source, destination = (hot, other) if rng.random() < 0.5 else (other, hot)
        return source, destination, rng.randint(1, 3_500)

    plans = [[plan() for _ in range(10)] for _ in range(32)]
    responses: list[tuple[tuple[uuid.UUID, uuid.UUID, int], httpx.Response]] = []

    async def worker(chunk: list[tuple[uuid.UUID, uuid.UUID, int]]) -> None:
        for source, destination, amount in chunk:
            body = {
                "source_account_id": str(source),
                "destination_account_id": str(destination),
                "amount_minor": amount,
                "currency": "GBP",
                "description": "Load",
            }
            owner = owner_of[source]
            assert owner is not None
            response = await client.post(
                "/api/v1/transfers", json=body, headers={**headers[owner], "Idempotency-Key": str(uuid.uuid4())}
            )
            responses.append(((source, destination, amount), response))

    await asyncio.gather(*(worker(chunk) for chunk in plans))

    outcomes = Counter(
        (response.status_code, response.json().get("code") if response.status_code != 201 else None)
        for _, response in responses
    )
    assert set(outcomes) <= {(201, None), (422, "insufficient_funds"), (422, "limit_exceeded")}, outcomes
    assert outcomes[(201, None)] > 100 and outcomes[(422, "insufficient_funds")] and outcomes[(422, "limit_exceeded")]
    # Each account ends exactly where the accepted transfers took it.
    expected = dict.fromkeys(ids, FUNDING)
    for (source, destination, amount), response in responses:
        if response.status_code == 201:
            expected[source] -= amount
            expected[destination] += amount
    finals = {account_id: (await account(platform.sessions, account_id)).booked_balance_minor for account_id in ids}
    assert finals == expected
    assert sum(finals.values()) == 10 * FUNDING
    assert all(finals[a.id] >= -a.overdraft_limit_minor for a in accounts)
    async with platform.engine.connect() as connection:
        assert await ledger_problems(connection) == []
        assert await count(connection, "SELECT count(*) FROM core_banking.transfers") == outcomes[(201, None)]
        topic_events = "SELECT count(*) FROM platform.outbox_events WHERE topic = 'core_banking.transfers'"
        assert await count(connection, topic_events) == outcomes[(201, None)]
    async with unit_of_work(platform.sessions) as session:
        report = await reconcile(session, trigger="test")
    assert report.clean, report.discrepancies


async def test_fifty_concurrent_requests_with_one_key_transfer_once(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    payer = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=50_000)
    payee = await new_account(platform.sessions, platform.keyring, customer.id)
    body: dict[str, Any] = {
        "source_account_id": str(payer.id),
        "destination_account_id": str(payee.id),
        "amount_minor": 1_234,
        "currency": "GBP",
        "description": "Once only",
    }
    headers = customer_headers(customer.id, **{"Idempotency-Key": "burst-1"})
    responses = await asyncio.gather(*(client.post("/api/v1/transfers", json=body, headers=headers) for _ in range(50)))
    assert {response.status_code for response in responses} == {201}
    assert all(response.json() == responses[0].json() for response in responses)
    assert sum(response.headers.get("idempotent-replayed") == "true" for response in responses) == 49
    assert (await account(platform.sessions, payer.id)).booked_balance_minor == 50_000 - 1_234
    assert (await account(platform.sessions, payee.id)).booked_balance_minor == 1_234
    # The same key with another amount is refused, and changes nothing.
    other = await client.post("/api/v1/transfers", json={**body, "amount_minor": 1_235}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert other.headers["content-type"] == "application/problem+json"
    async with platform.engine.connect() as connection:
        assert await count(connection, "SELECT count(*) FROM core_banking.transfers") == 1
        transfer_audits = "SELECT count(*) FROM audit.audit_records WHERE action = 'transfer.completed'"
        assert await count(connection, transfer_audits) == 1
        assert await ledger_problems(connection) == []
    assert (await account(platform.sessions, payer.id)).booked_balance_minor == 50_000 - 1_234
