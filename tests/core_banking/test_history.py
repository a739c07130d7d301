"""A customer's own accounts, balances at past moments, and transaction history with stable cursors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from audit.trail import platform_units
from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import InternalPurpose
from core_banking.accounts.schemas import AccountRecord
from core_banking.ledger import service as ledger
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from tests.core_banking.conftest import CustomerHeadersFor
from tests.core_banking.helpers import STAFF, new_account, new_customer


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def deposit(platform: Platform, account_id: uuid.UUID, amount: int, when: datetime, what: str) -> None:
    async with platform_units(platform).begin(STAFF) as uow:
        await ledger.deposit(uow, account_id, Money(amount, "GBP"), description=what, now=when)


async def move(
    platform: Platform, source: uuid.UUID, target: uuid.UUID, amount: int, when: datetime, what: str
) -> None:
    async with unit_of_work(platform.sessions) as session:
        await ledger.post_transfer(session, source, target, Money(amount, "GBP"), description=what, now=when)


async def september_and_october(platform: Platform) -> tuple[uuid.UUID, AccountRecord, AccountRecord]:
    """Alice's current account (and savings) with a known history across two months."""
    alice = await new_customer(platform.sessions, platform.keyring)
    current = await new_account(platform.sessions, platform.keyring, alice.id)
    savings = await new_account(platform.sessions, platform.keyring, alice.id)
    await deposit(platform, current.id, 10_000, at(9, 10), "Salary")
    await move(platform, current.id, savings.id, 2_500, at(9, 20), "Rent")
    # 23:30 in London on 30 September (BST): still September for the bank.
    await move(platform, current.id, savings.id, 500, at(9, 30, 22, 30), "Late night")
    await deposit(platform, current.id, 1_000, at(10, 1, 0, 30), "October")
    async with unit_of_work(platform.sessions) as session:
        hold = await ledger.place_hold(
            session, current.id, Money(700, "GBP"), expires_at=at(10, 25), description="Card", now=at(10, 15)
        )
    async with unit_of_work(platform.sessions) as session:
        await ledger.void_hold(session, hold.id, now=at(10, 20))
    await move(platform, savings.id, current.id, 200, at(10, 21), "Refund")
    return alice.id, current, savings


async def test_a_customer_sees_only_their_own_accounts(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    alice = await new_customer(platform.sessions, platform.keyring)
    bob = await new_customer(platform.sessions, platform.keyring)
    mine = [await new_account(platform.sessions, platform.keyring, alice.id, funded_minor=n) for n in (100, 200)]
    bobs = await new_account(platform.sessions, platform.keyring, bob.id, funded_minor=300)
    async with platform_units(platform).begin(STAFF) as uow:
        settlement = await accounts_service.ensure_internal_account(uow, InternalPurpose.SETTLEMENT, "GBP")
    headers = customer_headers(alice.id)
    listed = await client.get("/api/v1/accounts", headers=headers)
    assert [a["id"] for a in listed.json()] == [str(a.id) for a in mine]
    one = await client.get(f"/api/v1/accounts/{mine[1].id}", headers=headers)
    assert one.json()["balances"]["booked_minor"] == 200
    for other in (bobs.id, settlement.id, uuid.uuid4()):
        for path in ("", "/balances", "/transactions", "/statements/2026-10"):
            response = await client.get(f"/api/v1/accounts/{other}{path}", headers=headers)
            assert (response.status_code, response.json()["code"]) == (404, "account_not_found"), path
    payments_only = customer_headers(alice.id, scopes=["payments"])
    response = await client.get("/api/v1/accounts", headers=payments_only)
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


async def test_balances_at_past_moments_come_from_postings_and_holds(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    alice, current, _ = await september_and_october(platform)
    headers = customer_headers(alice)

    async def balances(as_of: datetime | None) -> dict[str, Any]:
        params = {} if as_of is None else {"as_of": as_of.isoformat()}
        response = await client.get(f"/api/v1/accounts/{current.id}/balances", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {key: response.json()[key] for key in ("booked_minor", "available_minor", "pending_minor")}

    assert await balances(at(9, 10) - timedelta(seconds=1)) == {
        "booked_minor": 0,
        "available_minor": 0,
        "pending_minor": 0,
    }
    assert (await balances(at(9, 10)))["booked_minor"] == 10_000
    assert (await balances(at(9, 30, 23)))["booked_minor"] == 7_000
    assert await balances(at(10, 15, 12)) == {"booked_minor": 8_000, "available_minor": 7_300, "pending_minor": 700}
    assert await balances(at(10, 20, 12)) == {"booked_minor": 8_000, "available_minor": 8_000, "pending_minor": 0}
    assert await balances(None) == {"booked_minor": 8_200, "available_minor": 8_200, "pending_minor": 0}
    url = f"/api/v1/accounts/{current.id}/balances"
    future = await client.get(
        url, params={"as_of": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, headers=headers
    )
    assert (future.status_code, future.json()["code"]) == (422, "moment_in_future")
    naive = await client.get(url, params={"as_of": "2026-10-01T10:00:00"}, headers=headers)
    assert (naive.status_code, naive.json()["code"]) == (422, "invalid_request")


async def test_transactions_filter_and_carry_their_running_balance(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    alice, current, _ = await september_and_october(platform)
    headers = customer_headers(alice)

    async def lines(**params: Any) -> list[tuple[str, str, int, int]]:
        response = await client.get(f"/api/v1/accounts/{current.id}/transactions", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [
            (t["description"], t["direction"], t["amount_minor"], t["running_balance_minor"])
            for t in response.json()["transactions"]
        ]

    everything = [
        ("Refund", "credit", 200, 8_200),
        ("October", "credit", 1_000, 8_000),
        ("Late night", "debit", 500, 7_000),
        ("Rent", "debit", 2_500, 7_500),
        ("Salary", "credit", 10_000, 10_000),
    ]
    assert await lines() == everything
    assert await lines(month="2026-09") == everything[2:]
    assert await lines(month="2026-10") == everything[:2]
    assert await lines(direction="credit") == [everything[0], everything[1], everything[4]]
    assert await lines(direction="debit", month="2026-09") == everything[2:4]
    assert await lines(min_amount_minor=1_000) == [everything[1], everything[3], everything[4]]
    assert await lines(min_amount_minor=500, max_amount_minor=2_500) == everything[1:4]
    assert await lines(from_date="2026-09-20", to_date="2026-09-30") == everything[2:4]
    assert await lines(from_date="2026-09-30", month="2026-09") == everything[2:3]
    url = f"/api/v1/accounts/{current.id}/transactions"
    for params, code in (
        ({"from_date": "2026-10-02", "to_date": "2026-10-01"}, "invalid_filter"),
        ({"min_amount_minor": 5, "max_amount_minor": 4}, "invalid_filter"),
        ({"month": "2026-13"}, "invalid_request"),
        ({"month": "0000-01"}, "invalid_request"),
        ({"direction": "sideways"}, "invalid_request"),
        ({"min_amount_minor": "1.5"}, "invalid_request"),
        ({"limit": 0}, "invalid_request"),
        ({"limit": 201}, "invalid_request"),
    ):
        response = await client.get(url, params=params, headers=headers)
        assert (response.status_code, response.json()["code"]) == (422, code), params


async def test_pages_stay_stable_while_transactions_arrive(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    alice = await new_customer(platform.sessions, platform.keyring)
    current = await new_account(platform.sessions, platform.keyring, alice.id, funded_minor=50_000)
    other = await new_account(platform.sessions, platform.keyring, alice.id)
    for amount in range(1, 7):
        await move(platform, current.id, other.id, amount, datetime.now(UTC), f"Payment {amount}")
    headers = customer_headers(alice.id)
    url = f"/api/v1/accounts/{current.id}/transactions"
    first = (await client.get(url, params={"limit": 3}, headers=headers)).json()
    # New transactions arrive between pages: they appear before the first page, never inside the walk.
    for amount in (100, 101):
        await move(platform, current.id, other.id, amount, datetime.now(UTC), f"Late {amount}")
    walked = list(first["transactions"])
    cursor = first["next_cursor"]
    while cursor:
        page = (await client.get(url, params={"limit": 3, "cursor": cursor}, headers=headers)).json()
        walked.extend(page["transactions"])
        cursor = page["next_cursor"]
    descriptions = [t["description"] for t in walked]
    assert descriptions == [f"Payment {n}" for n in range(6, 0, -1)] + ["Funding"]
    assert len({t["id"] for t in walked}) == 7
    fresh = (await client.get(url, params={"limit": 2}, headers=headers)).json()
    assert [t["description"] for t in fresh["transactions"]] == ["Late 101", "Late 100"]
    assert fresh["transactions"][0]["running_balance_minor"] == 50_000 - sum(range(1, 7)) - 201

    cursor = first["next_cursor"]
    payload, mac = cursor.split(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + mac
    for bad in ("garbage", forged, cursor + "x", "a.b.c", "!!!.???"):
        response = await client.get(url, params={"cursor": bad}, headers=headers)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor"), bad
    # A cursor belongs to the account whose history issued it.
    elsewhere = f"/api/v1/accounts/{other.id}/transactions"
    response = await client.get(elsewhere, params={"cursor": cursor}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")
