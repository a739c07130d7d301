"""Analysts keep the mule list: list it (in account order, paged, with each listing's reason), add an account (201,
or 200 when already listed), take one off (204, 404 when not listed); each change audited by the mule list."""

from __future__ import annotations

import httpx

from obank.runtime import Platform
from tests.fraud.alerts.conftest import BASE, CREDITOR, audit_actions

ACCOUNTS = ("20000312345678", CREDITOR, "60161331926819")


async def test_accounts_are_listed_paged_and_taken_off(
    platform: Platform, client: httpx.AsyncClient, analyst: dict[str, str]
) -> None:
    for account in ACCOUNTS:
        body = {"creditor_account": account, "reason": "received proceeds of an APP scam"}
        added = await client.post(f"{BASE}/mule-accounts", json=body, headers=analyst)
        assert added.status_code == 201, added.text
        assert added.json() == {"creditor_account": account, "listed_now": True}
    again = await client.post(
        f"{BASE}/mule-accounts", json={"creditor_account": CREDITOR, "reason": "again"}, headers=analyst
    )
    assert (again.status_code, again.json()["listed_now"]) == (200, False)

    listed = (await client.get(f"{BASE}/mule-accounts", headers=analyst)).json()
    assert [row["creditor_account"] for row in listed] == sorted(ACCOUNTS)
    assert {row["reason"] for row in listed} == {"received proceeds of an APP scam"}  # the first listing stands
    assert all(row["alert_id"] is None for row in listed)
    page = (await client.get(f"{BASE}/mule-accounts", params={"limit": 1}, headers=analyst)).json()
    rest = await client.get(f"{BASE}/mule-accounts", params={"after": page[0]["creditor_account"]}, headers=analyst)
    assert [row["creditor_account"] for row in page + rest.json()] == sorted(ACCOUNTS)

    removed = await client.delete(f"{BASE}/mule-accounts/{CREDITOR}", headers=analyst)
    assert removed.status_code == 204, removed.text
    gone = await client.delete(f"{BASE}/mule-accounts/{CREDITOR}", headers=analyst)
    assert (gone.status_code, gone.json()["code"]) == (404, "mule_account_not_found")
    listed = (await client.get(f"{BASE}/mule-accounts", headers=analyst)).json()
    assert CREDITOR not in [row["creditor_account"] for row in listed]
    assert await audit_actions(platform, CREDITOR) == ["mule.marked", "mule.unmarked"]
