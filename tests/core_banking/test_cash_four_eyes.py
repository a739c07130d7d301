"""Staff deposits and withdrawals from OBANK_FOUR_EYES_ADJUSTMENT_MINOR up wait for a second admin; smaller ones
book at once. The held answer is kept under the maker's Idempotency-Key like any other."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text

from obank.runtime import Platform
from tests.core_banking.conftest import HeadersFor
from tests.core_banking.helpers import account, count, ledger_problems, new_account, new_customer

THRESHOLD = 1_000_000  # the default: £10,000.00


def cash(amount_minor: int) -> dict[str, Any]:
    return {"amount_minor": amount_minor, "currency": "GBP", "description": "Counter"}


async def _account_id(platform: Platform, funded_minor: int = 0) -> uuid.UUID:
    customer = await new_customer(platform.sessions, platform.keyring)
    return (await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=funded_minor)).id


async def _approvals(platform: Platform) -> int:
    async with platform.engine.connect() as connection:
        return await count(connection, "SELECT count(*) FROM platform.staff_approvals")


async def test_the_threshold_is_the_setting(platform: Platform) -> None:
    assert platform.settings.four_eyes_adjustment_minor == THRESHOLD


async def test_below_the_threshold_cash_books_at_once(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    account_id = await _account_id(platform)
    admin = headers_for("admin", subject="staff-maker")
    booked = await client.post(
        f"/admin/v1/accounts/{account_id}/deposits", json=cash(THRESHOLD - 1), headers={**admin, "Idempotency-Key": "a"}
    )
    assert booked.status_code == 201, booked.text
    out = await client.post(
        f"/admin/v1/accounts/{account_id}/withdrawals",
        json=cash(THRESHOLD - 1),
        headers={**admin, "Idempotency-Key": "b"},
    )
    assert out.status_code == 201, out.text
    assert await _approvals(platform) == 0


async def test_a_large_deposit_waits_for_a_second_admin(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    account_id = await _account_id(platform)
    url = f"/admin/v1/accounts/{account_id}/deposits"
    maker = headers_for("admin", subject="staff-maker", **{"Idempotency-Key": "big-1"})
    held = await client.post(url, json=cash(THRESHOLD), headers=maker)
    assert held.status_code == 202, held.text
    approval = held.json()["approval"]
    assert (approval["kind"], approval["target"], approval["status"]) == (
        "core_banking.cash.adjustment",
        str(account_id),
        "PENDING",
    )
    assert approval["params"] == cash(THRESHOLD)
    assert (await account(platform.sessions, account_id)).booked_balance_minor == 0
    # The maker's retry under the same key finds the same pending approval, not a second one.
    replayed = await client.post(url, json=cash(THRESHOLD), headers=maker)
    assert (replayed.status_code, replayed.json()) == (202, held.json())
    assert replayed.headers["idempotent-replayed"] == "true"
    assert await _approvals(platform) == 1

    # Support may not move cash at all, with or without an approval.
    support = headers_for(
        "support", subject="staff-support", **{"Idempotency-Key": "s", "Obank-Approval-Id": approval["id"]}
    )
    assert (await client.post(url, json=cash(THRESHOLD), headers=support)).json()["code"] == "insufficient_role"
    # The same approval does not withdraw.
    checker = headers_for("admin", subject="staff-checker", **{"Obank-Approval-Id": approval["id"]})
    mismatch = await client.post(
        f"/admin/v1/accounts/{account_id}/withdrawals",
        json=cash(THRESHOLD),
        headers={**checker, "Idempotency-Key": "w"},
    )
    assert (mismatch.status_code, mismatch.json()["code"]) == (409, "approval_mismatch")

    booked = await client.post(url, json=cash(THRESHOLD), headers={**checker, "Idempotency-Key": "ok-1"})
    assert booked.status_code == 201, booked.text
    assert booked.json()["balances"]["booked_minor"] == THRESHOLD
    # The checker's retry replays the booking; another key with the used approval is refused.
    again = await client.post(url, json=cash(THRESHOLD), headers={**checker, "Idempotency-Key": "ok-1"})
    assert (again.status_code, again.json()) == (201, booked.json())
    used = await client.post(url, json=cash(THRESHOLD), headers={**checker, "Idempotency-Key": "ok-2"})
    assert (used.status_code, used.json()["code"]) == (409, "approval_not_pending")
    assert (await account(platform.sessions, account_id)).booked_balance_minor == THRESHOLD

    async with platform.engine.connect() as connection:
        status = (
            await connection.execute(
                text("SELECT status, decided_by FROM platform.staff_approvals WHERE id = :id"),
                {"id": uuid.UUID(approval["id"])},
            )
        ).one()
        assert tuple(status) == ("APPROVED", "staff-checker")
        deposits = await connection.execute(
            text("SELECT actor_id FROM audit.audit_records WHERE action = 'account.deposit' AND entity_id = :a"),
            {"a": str(account_id)},
        )
        assert [row.actor_id for row in deposits] == ["staff-checker"]
        assert await ledger_problems(connection) == []


async def test_a_large_withdrawal_refused_when_approved_stays_pending(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    account_id = await _account_id(platform, funded_minor=THRESHOLD)
    url = f"/admin/v1/accounts/{account_id}/withdrawals"
    held = await client.post(
        url, json=cash(THRESHOLD + 1), headers=headers_for("admin", subject="staff-maker", **{"Idempotency-Key": "w"})
    )
    assert held.status_code == 202, held.text
    approval_id = held.json()["approval"]["id"]
    checker = headers_for("admin", subject="staff-checker", **{"Obank-Approval-Id": approval_id})
    refused = await client.post(url, json=cash(THRESHOLD + 1), headers={**checker, "Idempotency-Key": "c-1"})
    assert (refused.status_code, refused.json()["code"]) == (422, "insufficient_funds")
    async with platform.engine.connect() as connection:
        status = await connection.execute(
            text("SELECT status FROM platform.staff_approvals WHERE id = :id"), {"id": uuid.UUID(approval_id)}
        )
        assert status.scalar_one() == "PENDING"
    # Once the money is there, the same approval carries the withdrawal out.
    top_up = headers_for("admin", subject="staff-other", **{"Idempotency-Key": "top-up"})
    await client.post(f"/admin/v1/accounts/{account_id}/deposits", json=cash(1), headers=top_up)
    paid = await client.post(url, json=cash(THRESHOLD + 1), headers={**checker, "Idempotency-Key": "c-2"})
    assert paid.status_code == 201, paid.text
    assert (await account(platform.sessions, account_id)).booked_balance_minor == 0


async def test_no_approval_is_asked_for_an_unknown_account(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    missing = await client.post(
        f"/admin/v1/accounts/{uuid.uuid4()}/deposits",
        json=cash(THRESHOLD),
        headers=headers_for("admin", **{"Idempotency-Key": "x"}),
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "account_not_found")
    assert await _approvals(platform) == 0
