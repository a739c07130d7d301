"""GET /party (the PSU, ReadPartyPSU), /accounts/{AccountId}/party and /parties (the holder, ReadParty)."""

from __future__ import annotations

import httpx
import pytest

from open_banking.aisp.schemas.parties import ob_phone_number
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
        "Phone": "+44-7700900123",  # kept as +447700900123
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
        "Phone": "+44-7700900123",
        "Relationships": {"Account": {"Related": PUBLIC + account, "Id": str(bank.savings.id)}},
        "Address": ADDRESS,
    }
    assert parties.json()["Data"]["Party"] == [holder]
    assert parties.json()["Links"] == {"Self": PUBLIC + account + "/parties"}


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+442079460000", ("+44-2079460000", False)),  # a London landline
        ("+447911123456", ("+44-7911123456", True)),  # a UK mobile
        ("+390612345678", ("+39-0612345678", False)),  # Italy keeps its leading zero
        ("not a number", (None, False)),
        (None, (None, False)),
    ],
)
def test_phone_numbers_are_written_with_the_country_code_apart(
    e164: str | None, expected: tuple[str | None, bool]
) -> None:
    assert ob_phone_number(e164) == expected
