"""GET /accounts and /accounts/{AccountId}: the consent's accounts, their identifiers only under ReadAccountsDetail."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.open_banking.aisp.conftest import (
    ACCOUNT_DETAIL_ONLY,
    AISP,
    BASIC,
    DETAIL,
    PUBLIC,
    Bank,
    P,
    ReaderHeaders,
    at,
)
from tests.open_banking.contract import Contract


async def test_a_detail_consent_shows_each_account_with_its_identifiers(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(*DETAIL)

    response = await client.get(AISP + "/accounts", headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    body = response.json()
    current, savings = body["Data"]["Account"]  # the accounts the PSU chose, in their order
    assert current == {
        "AccountId": str(bank.current.id),
        "Status": "Enabled",
        "Currency": "GBP",
        "AccountCategory": "Personal",
        "AccountTypeCode": "CACC",
        "Nickname": "Current account",
        "OpeningDate": current["OpeningDate"],
        "Account": [
            {
                "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                "Identification": bank.current.sort_code + bank.current.account_number,
            },
            {"SchemeName": "UK.OBIE.IBAN", "Identification": bank.current.iban},
        ],
    }
    assert datetime.fromisoformat(current["OpeningDate"]) == at(9, 1)
    assert (savings["AccountId"], savings["AccountTypeCode"]) == (str(bank.savings.id), "SVGS")
    assert body["Links"] == {"Self": PUBLIC + AISP + "/accounts"}
    assert body["Meta"] == {"TotalPages": 1}
    # ReadPAN was granted: this bank issues no cards, so no PAN is ever shown.
    assert "UK.OBIE.PAN" not in response.text


async def test_a_basic_consent_never_shows_the_detail_fields(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(*BASIC)

    for path in ("/accounts", f"/accounts/{bank.current.id}", f"/accounts/{bank.savings.id}"):
        response = await client.get(AISP + path, headers=reader_headers(consent.id))
        assert response.status_code == 200, response.text
        contract.check(response)
        for account in response.json()["Data"]["Account"]:
            assert not ACCOUNT_DETAIL_ONLY & set(account), account
            assert {"AccountId", "Currency", "Nickname"} <= set(account)
        for identifier in (bank.current.account_number, bank.current.iban, bank.savings.iban):
            assert identifier not in response.text


async def test_one_account_of_the_consent(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(P.READ_ACCOUNTS_DETAIL)
    path = f"{AISP}/accounts/{bank.savings.id}"

    response = await client.get(path, headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    [account] = response.json()["Data"]["Account"]
    assert account["AccountId"] == str(bank.savings.id)
    assert account["Account"][1]["Identification"] == bank.savings.iban
    assert response.json()["Links"] == {"Self": PUBLIC + path}
