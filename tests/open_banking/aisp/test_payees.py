"""Beneficiaries, standing orders, scheduled payments, direct debits behind the consent's checks.

Beneficiaries are the customer's payees, listed under each account of the consent (a UK customer pays their
payees from any of their accounts), with the payee's account under ReadBeneficiariesDetail only. A list with
no business data is 200 with its array empty, never 404 (R/W API Profile, "400 (Bad Request) v/s 404 (Not
Found)"): these customers have no payment orders (test_payment_orders.py lists some), and core banking keeps
no direct debits.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from audit.trail import platform_units
from core_banking.consents.schemas import Permission
from core_banking.payees import service as payees
from core_banking.payees.confirmation import NoDirectory
from core_banking.payees.models import CopResult
from core_banking.payees.schemas import PayeeConfirmationCreate, PayeeCreate, PayeeRecord
from obank.actor import Actor, ActorKind
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


async def _payee(bank: Bank, customer_id: uuid.UUID, reference: str | None = None, **account: str) -> PayeeRecord:
    """A payee the customer checked (going on despite the answer) and added, through core banking's service."""
    rules = payees.PayeeRules()
    async with platform_units(bank.platform).begin(Actor(ActorKind.CUSTOMER, str(customer_id))) as uow:
        checked = await payees.check_payee(uow, NoDirectory(), customer_id, PayeeConfirmationCreate(**account), rules)
        despite = None if checked.result is CopResult.MATCH else checked.result
        request = PayeeCreate(**account, reference=reference, confirmation_id=checked.id, confirmed_despite=despite)
        return await payees.add_payee(uow, customer_id, request, rules)


async def _delete(bank: Bank, customer_id: uuid.UUID, payee_id: uuid.UUID) -> None:
    async with platform_units(bank.platform).begin(Actor(ActorKind.CUSTOMER, str(customer_id))) as uow:
        await payees.delete_payee(uow, customer_id, payee_id)


@pytest.fixture
async def adas_payees(bank: Bank) -> tuple[PayeeRecord, PayeeRecord]:
    """Ada's two payees (Bob at this bank by sort code and number, Alan elsewhere by IBAN), one she deleted, and
    Bob's own payee: the last two never show."""
    bob = await _payee(
        bank,
        bank.ada.id,
        "LUNCH",
        name="Bob Babbage",
        sort_code=bank.bobs.sort_code,
        account_number=bank.bobs.account_number,
    )
    alan = await _payee(bank, bank.ada.id, None, name="Alan Turing", iban="GB12NWBK40051576262352")
    gone = await _payee(bank, bank.ada.id, name="Ada Lovelace", sort_code="309634", account_number="56100526")
    await _delete(bank, bank.ada.id, gone.id)
    await _payee(bank, bank.bob.id, name="Ada Lovelace", sort_code="309634", account_number="56100526")
    return bob, alan


def _detail(account_id: uuid.UUID, payee: PayeeRecord) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "AccountId": str(account_id),
        "BeneficiaryId": str(payee.id),
        "BeneficiaryType": "Ordinary",
        "CreditorAccount": {
            "SchemeName": payee.scheme.value,
            "Identification": payee.identification,
            "Name": payee.name,
        },
    }
    if payee.reference is not None:
        shown["Reference"] = payee.reference
    return shown


async def test_the_detail_permission_shows_each_payee_under_each_account_of_the_consent_with_its_account(
    client: httpx.AsyncClient,
    bank: Bank,
    reader_headers: ReaderHeaders,
    contract: Contract,
    adas_payees: tuple[PayeeRecord, PayeeRecord],
) -> None:
    bob, alan = adas_payees
    consent = await bank.consent(*DETAIL)

    bulk = await client.get(f"{AISP}/beneficiaries", headers=reader_headers(consent.id))
    savings = await client.get(f"{AISP}/accounts/{bank.savings.id}/beneficiaries", headers=reader_headers(consent.id))

    for response in (bulk, savings):
        assert response.status_code == 200, response.text
        contract.check(response)
    assert bulk.json()["Data"]["Beneficiary"] == [
        _detail(bank.current.id, bob),
        _detail(bank.current.id, alan),
        _detail(bank.savings.id, bob),
        _detail(bank.savings.id, alan),
    ]
    assert savings.json()["Data"]["Beneficiary"] == [_detail(bank.savings.id, bob), _detail(bank.savings.id, alan)]
    assert bob.identification == bank.bobs.sort_code + bank.bobs.account_number
    assert _detail(bank.current.id, bob)["Reference"] == "LUNCH"


async def test_the_basic_permission_leaves_the_payees_account_and_name_out(
    client: httpx.AsyncClient,
    bank: Bank,
    reader_headers: ReaderHeaders,
    contract: Contract,
    adas_payees: tuple[PayeeRecord, PayeeRecord],
) -> None:
    bob, alan = adas_payees
    consent = await bank.consent(*BASIC)

    response = await client.get(f"{AISP}/accounts/{bank.current.id}/beneficiaries", headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    assert response.json()["Data"]["Beneficiary"] == [
        {
            "AccountId": str(bank.current.id),
            "BeneficiaryId": str(bob.id),
            "BeneficiaryType": "Ordinary",
            "Reference": "LUNCH",
        },
        {"AccountId": str(bank.current.id), "BeneficiaryId": str(alan.id), "BeneficiaryType": "Ordinary"},
    ]
    assert "Bob" not in response.text and "Turing" not in response.text


@pytest.mark.usefixtures("adas_payees")
async def test_without_the_permission_or_the_account_the_beneficiaries_are_403(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    balances_only = await bank.consent(Permission.READ_BALANCES)
    everything = await bank.consent(*DETAIL)

    refused = [
        await client.get(f"{AISP}/beneficiaries", headers=reader_headers(balances_only.id)),
        await client.get(f"{AISP}/accounts/{bank.current.id}/beneficiaries", headers=reader_headers(balances_only.id)),
        await client.get(f"{AISP}/accounts/{bank.third.id}/beneficiaries", headers=reader_headers(everything.id)),
        await client.get(f"{AISP}/accounts/{bank.bobs.id}/beneficiaries", headers=reader_headers(everything.id)),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        contract.check(response)
        assert response.json()["Errors"], response.text
