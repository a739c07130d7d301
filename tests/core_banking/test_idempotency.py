"""Money-moving admin requests run once per Idempotency-Key: replays get the first response."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from core_banking.idempotency.service import (
    RETENTION,
    KeyCompletion,
    execute_once,
    execute_once_completing,
    purge_expired_keys,
    request_fingerprint,
)
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork
from tests.core_banking.conftest import HeadersFor
from tests.core_banking.helpers import STAFF, account, count, ledger_problems, new_account, new_customer

CASH = {"amount_minor": 2_500, "currency": "GBP", "description": "Counter"}


async def _account_id(platform: Platform, funded_minor: int = 0) -> str:
    customer = await new_customer(platform.sessions, platform.keyring)
    return str((await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=funded_minor)).id)


async def _postings(platform: Platform) -> int:
    async with platform.engine.connect() as connection:
        return await count(connection, "SELECT count(*) FROM core_banking.postings")


async def test_replay_returns_the_first_response_and_another_body_is_refused(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    account_id = await _account_id(platform)
    url = f"/admin/v1/accounts/{account_id}/deposits"
    headers = headers_for("admin", **{"Idempotency-Key": "deposit-42"})
    first = await client.post(url, json=CASH, headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    postings = await _postings(platform)
    again = await client.post(url, json=CASH, headers=headers)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    other = await client.post(url, json={**CASH, "amount_minor": 2_501}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert other.headers["content-type"] == "application/problem+json"
    # The same key on another operation or account is another request, refused just the same.
    withdrawal = await client.post(f"/admin/v1/accounts/{account_id}/withdrawals", json=CASH, headers=headers)
    assert withdrawal.json()["code"] == "idempotency_key_reused"
    assert await _postings(platform) == postings
    assert (await account(platform.sessions, first.json()["account_id"])).booked_balance_minor == 2_500
    # Keys belong to the staff member who used them: a colleague's identical key is a new request.
    colleague = headers_for("admin", subject="staff-2", **{"Idempotency-Key": "deposit-42"})
    assert (await client.post(url, json=CASH, headers=colleague)).headers.get("idempotent-replayed") is None
    assert (await account(platform.sessions, first.json()["account_id"])).booked_balance_minor == 5_000


async def test_a_refusal_is_replayed_too(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    account_id = await _account_id(platform, funded_minor=1_000)
    headers = headers_for("admin", **{"Idempotency-Key": "withdraw-1"})
    url = f"/admin/v1/accounts/{account_id}/withdrawals"
    refused = await client.post(url, json=CASH, headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "insufficient_funds"
    deposit_headers = headers_for("admin", **{"Idempotency-Key": "top-up"})
    await client.post(f"/admin/v1/accounts/{account_id}/deposits", json=CASH, headers=deposit_headers)
    replayed = await client.post(url, json=CASH, headers=headers)
    assert (replayed.status_code, replayed.json()) == (422, refused.json())
    assert (await account(platform.sessions, uuid.UUID(account_id))).booked_balance_minor == 3_500


async def test_concurrent_requests_with_one_key_deposit_once(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    account_id = await _account_id(platform)
    headers = headers_for("admin", **{"Idempotency-Key": "burst"})
    url = f"/admin/v1/accounts/{account_id}/deposits"
    responses = await asyncio.gather(*(client.post(url, json=CASH, headers=headers) for _ in range(20)))
    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["entry_id"] for response in responses}) == 1
    assert sum(response.headers.get("idempotent-replayed") == "true" for response in responses) == 19
    assert (await account(platform.sessions, uuid.UUID(account_id))).booked_balance_minor == 2_500
    async with platform.engine.connect() as connection:
        assert (
            await count(
                connection, "SELECT count(*) FROM core_banking.postings WHERE account_id = :a", a=uuid.UUID(account_id)
            )
            == 1
        )
        assert await count(connection, "SELECT count(*) FROM audit.audit_records WHERE action = 'account.deposit'") == 1
        assert await ledger_problems(connection) == []


async def test_an_expired_key_can_be_used_afresh(units: UnitsOfWork) -> None:
    runs = []

    async def operation() -> tuple[int, dict[str, object]]:
        runs.append(1)
        return 201, {"run": len(runs)}

    start = datetime(2026, 11, 1, tzinfo=UTC)
    fingerprint = request_fingerprint("op", {"a": 1})
    for moment, expected in ((start, 1), (start + RETENTION - timedelta(seconds=1), 1), (start + RETENTION, 2)):
        async with units.begin(STAFF) as uow:
            outcome = await execute_once(
                uow, scope="test", key="k", fingerprint=fingerprint, operation=operation, now=moment
            )
        assert outcome.body == {"run": expected}
    assert len(runs) == 2


async def test_purge_forgets_only_expired_keys(platform: Platform, units: UnitsOfWork) -> None:
    async def operation() -> tuple[int, dict[str, object]]:
        return 200, {}

    start = datetime(2026, 11, 1, tzinfo=UTC)
    for key, moment in (("old", start), ("recent", start + timedelta(hours=12))):
        async with units.begin(STAFF) as uow:
            await execute_once(uow, scope="test", key=key, fingerprint=b"f", operation=operation, now=moment)
    async with unit_of_work(platform.sessions) as session:
        assert await purge_expired_keys(session, start + RETENTION) == 1
    async with platform.engine.connect() as connection:
        assert await count(connection, "SELECT count(*) FROM core_banking.idempotency_keys WHERE key = 'recent'") == 1


async def test_a_response_stored_in_clear_before_sealing_still_replays(platform: Platform, units: UnitsOfWork) -> None:
    """Keys answered before 20261205_0023 kept their response in clear; a retry within their day replays it."""
    fingerprint = request_fingerprint("legacy", 1)
    now = datetime.now(UTC)
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text(
                "INSERT INTO core_banking.idempotency_keys"
                " (scope, key, request_hash, response_status, response_body, created_at, expires_at)"
                " VALUES ('customer:legacy', 'k', :hash, 201, CAST(:body AS jsonb), :now, :until)"
            ),
            {"hash": fingerprint, "body": '{"id": "first"}', "now": now, "until": now + RETENTION},
        )

    async def never() -> tuple[int, dict[str, object]]:
        raise AssertionError("a replay runs nothing")

    async with units.begin(STAFF) as uow:
        outcome = await execute_once(uow, scope="customer:legacy", key="k", fingerprint=fingerprint, operation=never)
    assert (outcome.status, outcome.body, outcome.replayed) == (201, {"id": "first"}, True)


async def test_an_operation_that_stores_its_answer_in_its_own_write_replays_it(units: UnitsOfWork) -> None:
    """`execute_once_completing`: the answer goes out in the operation's statement, and a retry replays it."""
    runs = []

    async def operation(completion: KeyCompletion) -> tuple[int, dict[str, object]]:
        runs.append(1)
        body: dict[str, object] = {"run": len(runs)}
        companion = completion.companion(201, body)
        # The ledger would send it with its booking; this test sends the clause alone.
        await uow.session.execute(text(f"WITH {companion.clause} SELECT 1"), companion.parameters)
        return 201, body

    for _ in range(2):
        async with units.begin(STAFF) as uow:
            outcome = await execute_once_completing(
                uow, scope="test", key="own-write", fingerprint=b"f", operation=operation
            )
        assert (outcome.status, outcome.body) == (201, {"run": 1})
    assert [outcome.replayed, len(runs)] == [True, 1]


async def test_an_operation_answering_otherwise_than_it_stored_is_a_bug(units: UnitsOfWork) -> None:
    async def operation(completion: KeyCompletion) -> tuple[int, dict[str, object]]:
        completion.companion(201, {"stored": True})
        return 201, {"stored": False}

    with pytest.raises(RuntimeError, match="answered otherwise"):
        async with units.begin(STAFF) as uow:
            await execute_once_completing(uow, scope="test", key="liar", fingerprint=b"f", operation=operation)
