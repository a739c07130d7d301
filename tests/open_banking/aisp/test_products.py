"""GET /products and /accounts/{AccountId}/product: the product each account is, under ReadProducts alone."""

from __future__ import annotations

import httpx

from tests.open_banking.aisp.conftest import AISP, Bank, P, ReaderHeaders
from tests.open_banking.contract import Contract


async def test_each_account_of_the_consent_is_its_product(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(P.READ_PRODUCTS)  # without ReadAccounts*: products need no more

    response = await client.get(AISP + "/products", headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    assert response.json()["Data"]["Product"] == [
        {
            "ProductName": "Current account",
            "ProductId": "CHECKING",
            "AccountId": str(bank.current.id),
            "ProductType": "PersonalCurrentAccount",
        },
        {
            "ProductName": "Savings account",
            "ProductId": "SAVINGS",
            "AccountId": str(bank.savings.id),
            "ProductType": "Other",
            "OtherProductType": {"Name": "Savings account", "Description": "A savings account held with this bank"},
        },
    ]
    assert str(bank.third.id) not in response.text  # the PSU's account the consent leaves out


async def test_one_accounts_product(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(P.READ_PRODUCTS, accounts=(bank.current.id,))

    response = await client.get(f"{AISP}/accounts/{bank.current.id}/product", headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    [product] = response.json()["Data"]["Product"]
    assert (product["AccountId"], product["ProductType"]) == (str(bank.current.id), "PersonalCurrentAccount")
