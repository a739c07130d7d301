"""GET /balances and /accounts/{AccountId}/balances: booked and available now, the overdraft as a credit line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from core_banking.facade import Money
from core_banking.ledger import service as ledger
from obank.database import unit_of_work
from tests.open_banking.aisp.conftest import AISP, Bank, P, ReaderHeaders
from tests.open_banking.contract import Contract

OVERDRAFT = {"Included": True, "Type": "Pre-Agreed", "Amount": {"Amount": "50.00", "Currency": "GBP"}}


def by_type(balances: list[dict[str, object]], account_id: object) -> dict[object, dict[str, object]]:
    return {balance["Type"]: balance for balance in balances if balance["AccountId"] == str(account_id)}


async def test_each_accounts_booked_and_available_balance_as_decimal_strings(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(P.READ_BALANCES)
    before = datetime.now(UTC)

    response = await client.get(AISP + "/balances", headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    balances = response.json()["Data"]["Balance"]
    assert len(balances) == 4
    current = by_type(balances, bank.current.id)
    # 100.00 in, 25.00 out, 10.00, 2.00 and 3.00 in: 90.00 booked; 5000 minor units of overdraft on top.
    assert current["ITBD"]["Amount"] == {"Amount": "90.00", "Currency": "GBP"}
    assert current["ITBD"]["CreditDebitIndicator"] == "Credit"
    assert current["ITBD"]["CreditLine"] == [{**OVERDRAFT, "Included": False}]
    assert current["ITAV"]["Amount"] == {"Amount": "140.00", "Currency": "GBP"}
    assert current["ITAV"]["CreditLine"] == [OVERDRAFT]
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(str(current["ITAV"]["DateTime"]))
    savings = by_type(balances, bank.savings.id)
    assert savings["ITBD"]["Amount"] == savings["ITAV"]["Amount"] == {"Amount": "23.00", "Currency": "GBP"}
    assert "CreditLine" not in savings["ITAV"]  # no overdraft: no credit line, not an empty one
    assert response.json()["Meta"] == {"TotalPages": 1}


async def test_an_overdrawn_account_reads_debit(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    async with unit_of_work(bank.platform.sessions) as session:
        await ledger.post_transfer(
            session, bank.current.id, bank.third.id, Money(10_012, "GBP"), description="Car", now=datetime.now(UTC)
        )
    consent = await bank.consent(P.READ_BALANCES)

    response = await client.get(f"{AISP}/accounts/{bank.current.id}/balances", headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    current = by_type(response.json()["Data"]["Balance"], bank.current.id)
    assert set(current) == {"ITBD", "ITAV"}  # that account only
    assert (current["ITBD"]["CreditDebitIndicator"], current["ITBD"]["Amount"]) == (
        "Debit",
        {"Amount": "10.12", "Currency": "GBP"},
    )
    assert (current["ITAV"]["CreditDebitIndicator"], current["ITAV"]["Amount"]) == (
        "Credit",
        {"Amount": "39.88", "Currency": "GBP"},
    )
