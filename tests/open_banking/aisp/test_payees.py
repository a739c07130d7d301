"""Beneficiaries, standing orders, scheduled payments, direct debits: empty lists behind the consent's checks.

Core banking keeps no beneficiaries or direct debits yet, and these customers have no payment orders
(test_payment_orders.py lists some); never 404 (R/W API Profile, "400 (Bad Request) v/s 404 (Not Found)"): a
resource without business data is 200 with its array empty.
"""

from __future__ import annotations

import httpx
import pytest

from tests.open_banking.aisp.conftest import AISP, BASIC, DETAIL, PUBLIC, Bank, ReaderHeaders
from tests.open_banking.contract import Contract

LISTS = {
    "beneficiaries": "Beneficiary",
    "standing-orders": "StandingOrder",
    "scheduled-payments": "ScheduledPayment",
    "direct-debits": "DirectDebit",
}


@pytest.mark.parametrize("resource", sorted(LISTS))
async def test_each_list_is_empty_bulk_and_per_account(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract, resource: str
) -> None:
    consent = await bank.consent(*DETAIL)

    for path in (f"/{resource}", f"/accounts/{bank.current.id}/{resource}"):
        response = await client.get(AISP + path, headers=reader_headers(consent.id))
        assert response.status_code == 200, response.text
        contract.check(response)
        assert response.json() == {
            "Data": {LISTS[resource]: []},
            "Links": {"Self": PUBLIC + AISP + path},
            "Meta": {"TotalPages": 1},
        }


@pytest.mark.parametrize("resource", ["beneficiaries", "standing-orders", "scheduled-payments"])
async def test_a_basic_permission_opens_the_list_too(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract, resource: str
) -> None:
    consent = await bank.consent(*BASIC)

    response = await client.get(f"{AISP}/accounts/{bank.savings.id}/{resource}", headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    assert response.json()["Data"] == {LISTS[resource]: []}
