"""GET /party (the PSU, ReadPartyPSU), /accounts/{AccountId}/party and /parties (the holder, ReadParty)."""

from __future__ import annotations

import httpx

from tests.open_banking.aisp.conftest import AISP, PUBLIC, Bank, P, ReaderHeaders
from tests.open_banking.contract import Contract

ADDRESS = [{"AddressLine": ["12 Analytical Row"], "TownName": "London", "PostCode": "NW1 6XE", "Country": "GB"}]


async def test_the_party_is_the_psu_who_authorised_the_consent(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(P.READ_PARTY_PSU)

    response = await client.get(AISP + "/party", headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    assert response.json()["Data"]["Party"] == {
        "PartyId": str(bank.ada.id),
        "Name": "Ada Lovelace",
        "LegalStructure": "UK.OBIE.Individual",
        "EmailAddress": bank.ada.email,
        "Address": ADDRESS,
    }
    assert response.json()["Meta"] == {"TotalPages": 1}


async def test_an_accounts_party_is_its_sole_holder_related_to_it(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(P.READ_PARTY)
    account = f"{AISP}/accounts/{bank.savings.id}"

    party = await client.get(account + "/party", headers=reader_headers(consent.id))
    parties = await client.get(account + "/parties", headers=reader_headers(consent.id))

    for response in (party, parties):
        assert response.status_code == 200, response.text
        contract.check(response)
    holder = party.json()["Data"]["Party"]
    assert holder == {
        "PartyId": str(bank.ada.id),
        "PartyType": "Sole",
        "Name": "Ada Lovelace",
        "LegalStructure": "UK.OBIE.Individual",
        "AccountRole": "UK.OBIE.Principal",
        "EmailAddress": bank.ada.email,
        "Relationships": {"Account": {"Related": PUBLIC + account, "Id": str(bank.savings.id)}},
        "Address": ADDRESS,
    }
    assert parties.json()["Data"]["Party"] == [holder]
    assert parties.json()["Links"] == {"Self": PUBLIC + account + "/parties"}
