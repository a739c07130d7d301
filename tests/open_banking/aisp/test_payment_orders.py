"""Standing orders and scheduled payments through an account access consent: the payment orders still to pay from
the consent's accounts, whoever set them up; the payee's account under the Detail permission only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from audit.trail import platform_units
from core_banking.consents.schemas import CreditorAccount, CreditorScheme, Permission
from core_banking.ledger.periods import bank_day
from core_banking.payment_orders import service as orders
from core_banking.payment_orders.models import OrderKind
from core_banking.payment_orders.schedule import Frequency
from core_banking.payment_orders.schemas import OrderRecord, OrderRequest
from obank.actor import Actor, ActorKind
from obank.money import Money
from tests.open_banking.aisp.conftest import AISP, BASIC, DETAIL, Bank, ReaderHeaders
from tests.open_banking.contract import Contract

ALAN = CreditorAccount("Alan Turing", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "40051576262352")


async def _order(bank: Bank, customer_id: uuid.UUID, account_id: uuid.UUID, **fields: Any) -> OrderRecord:
    today = bank_day(datetime.now(UTC))
    request = OrderRequest(
        customer_id=customer_id,
        debtor_account_id=account_id,
        creditor=ALAN,
        first=Money(1_250, "GBP"),
        first_date=today + timedelta(days=5),
        reference="ORDER-REF",
        **fields,
    )
    async with platform_units(bank.platform).begin(Actor(ActorKind.CUSTOMER, str(customer_id))) as uow:
        return await orders.create_order(uow, request)


@pytest.fixture
async def standing(bank: Bank) -> OrderRecord:
    """Ada's monthly standing order from her current account, twelve payments, the later ones 10.00."""
    return await _order(
        bank,
        bank.ada.id,
        bank.current.id,
        kind=OrderKind.STANDING_ORDER,
        frequency=Frequency.MONTHLY,
        payments_total=12,
        recurring=Money(1_000, "GBP"),
    )


@pytest.fixture
async def one_off(bank: Bank) -> OrderRecord:
    """Ada's payment scheduled from her current account in five days."""
    return await _order(bank, bank.ada.id, bank.current.id, kind=OrderKind.SCHEDULED)


@pytest.fixture
async def elsewhere(bank: Bank) -> None:
    """Orders the consent never shows: on Ada's third account, on Bob's, and one Ada cancelled."""
    for customer_id, account_id in ((bank.ada.id, bank.third.id), (bank.bob.id, bank.bobs.id)):
        await _order(bank, customer_id, account_id, kind=OrderKind.STANDING_ORDER, frequency=Frequency.WEEKLY)
        await _order(bank, customer_id, account_id, kind=OrderKind.SCHEDULED)
    cancelled = await _order(bank, bank.ada.id, bank.current.id, kind=OrderKind.SCHEDULED)
    async with platform_units(bank.platform).begin(Actor(ActorKind.CUSTOMER, str(bank.ada.id))) as uow:
        await orders.cancel_order(uow, cancelled.id)


@pytest.mark.usefixtures("elsewhere")
async def test_the_detail_permissions_show_each_order_of_the_consents_accounts_with_its_payee(
    client: httpx.AsyncClient,
    bank: Bank,
    reader_headers: ReaderHeaders,
    contract: Contract,
    standing: OrderRecord,
    one_off: OrderRecord,
) -> None:
    consent = await bank.consent(*DETAIL)

    standing_orders = await client.get(f"{AISP}/standing-orders", headers=reader_headers(consent.id))
    per_account = await client.get(
        f"{AISP}/accounts/{bank.current.id}/standing-orders", headers=reader_headers(consent.id)
    )
    scheduled = await client.get(f"{AISP}/scheduled-payments", headers=reader_headers(consent.id))
    savings = await client.get(
        f"{AISP}/accounts/{bank.savings.id}/scheduled-payments", headers=reader_headers(consent.id)
    )

    for response in (standing_orders, per_account, scheduled, savings):
        assert response.status_code == 200, response.text
        contract.check(response)
    [order] = standing_orders.json()["Data"]["StandingOrder"]
    assert per_account.json()["Data"]["StandingOrder"] == [order]
    assert order["StandingOrderId"] == str(standing.id) and order["AccountId"] == str(bank.current.id)
    assert order["StandingOrderStatusCode"] == "ACTV" and order["NumberOfPayments"] == "12"
    assert order["FirstPaymentAmount"] == {"Amount": "12.50", "Currency": "GBP"}
    assert order["NextPaymentAmount"] == {"Amount": "12.50", "Currency": "GBP"}
    assert order["MandateRelatedInformation"]["Frequency"] == {"Type": "MNTH"}
    assert order["CreditorAccount"] == {
        "SchemeName": "UK.OBIE.SortCodeAccountNumber",
        "Identification": "40051576262352",
        "Name": "Alan Turing",
    }
    [payment] = scheduled.json()["Data"]["ScheduledPayment"]
    assert payment["ScheduledPaymentId"] == str(one_off.id) and payment["Reference"] == "ORDER-REF"
    assert payment["InstructedAmount"] == {"Amount": "12.50", "Currency": "GBP"}
    assert payment["ScheduledType"] == "Execution" and "CreditorAccount" in payment
    assert savings.json()["Data"]["ScheduledPayment"] == []


@pytest.mark.usefixtures("standing", "one_off")
async def test_the_basic_permissions_leave_the_payees_account_out(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(*BASIC)

    for resource, array in (("standing-orders", "StandingOrder"), ("scheduled-payments", "ScheduledPayment")):
        response = await client.get(f"{AISP}/{resource}", headers=reader_headers(consent.id))
        assert response.status_code == 200, response.text
        contract.check(response)
        [item] = response.json()["Data"][array]
        assert "CreditorAccount" not in item


@pytest.mark.usefixtures("standing", "one_off")
async def test_without_the_permission_or_the_account_the_lists_are_403(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    balances_only = await bank.consent(Permission.READ_BALANCES)
    everything = await bank.consent(*DETAIL)

    refused = [
        await client.get(f"{AISP}/standing-orders", headers=reader_headers(balances_only.id)),
        await client.get(f"{AISP}/scheduled-payments", headers=reader_headers(balances_only.id)),
        await client.get(f"{AISP}/accounts/{bank.third.id}/standing-orders", headers=reader_headers(everything.id)),
        await client.get(f"{AISP}/accounts/{bank.bobs.id}/scheduled-payments", headers=reader_headers(everything.id)),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        contract.check(response)
        assert response.json()["Errors"], response.text
