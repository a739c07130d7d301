"""Domestic standing orders: the consent (its frequency one this bank pays at, its dates and amounts sound), the
standing order set up once per consent with the consent's Initiation, and each payment it makes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from core_banking.accounts.schemas import AccountRecord
from core_banking.facade import ConsentStatus, InProcessCoreBanking, OrderStatus
from core_banking.jobs import run_due_payment_orders
from obank.runtime import Platform
from tests.core_banking.payments.conftest import running
from tests.open_banking.contract import Contract
from tests.open_banking.pisp.conftest import Debtor
from tests.open_banking.pisp.orders import (
    SCHEDULED,
    SCHEDULED_CONSENTS,
    STANDING_ORDER_CONSENTS,
    STANDING_ORDERS,
    authorised,
    consent_body,
    in_days,
    only_error,
    order_body,
    scheduled,
    settled,
    standing_order,
    writing,
)

Headers = Callable[..., dict[str, str]]
Token = Callable[..., dict[str, str]]
INITIATION = "Data.Initiation"
MANDATE = f"{INITIATION}.MandateRelatedInformation"


async def test_a_pisp_asks_for_a_standing_order_and_reads_the_consent_back(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract
) -> None:
    sent = standing_order(
        "10.00",
        NumberOfPayments="12",
        RecurringPaymentAmount={"Amount": "20.00", "Currency": "GBP"},
        FinalPaymentAmount={"Amount": "5.00", "Currency": "GBP"},
        mandate={"FinalPaymentDateTime": in_days(400), "Classification": "FIXE", "Reason": "Rent"},
    )
    headers = writing(pisp_headers)

    created = await client.post(STANDING_ORDER_CONSENTS, json=consent_body(sent), headers=headers)
    again = await client.post(STANDING_ORDER_CONSENTS, json=consent_body(sent), headers=headers)

    assert created.status_code == 201, created.text
    contract.check(created)
    data = created.json()["Data"]
    assert data["Status"] == "AWAU" and data["Permission"] == "Create" and data["Initiation"] == sent
    assert data["ConsentId"].startswith("soc-")
    assert again.status_code == 201 and again.json()["Data"]["ConsentId"] == data["ConsentId"]
    read = await client.get(f"{STANDING_ORDER_CONSENTS}/{data['ConsentId']}", headers=pisp_headers())
    assert read.status_code == 200, read.text
    contract.check(read)
    assert read.json()["Data"] == data


def _mandate(**fields: Any) -> dict[str, Any]:
    return {"mandate": fields}


@pytest.mark.parametrize(
    ("change", "path", "conforms"),
    [
        ({"frequency": "INDA"}, f"{MANDATE}.Frequency.Type", True),
        ({"frequency": "IntrvlDay:05"}, f"{MANDATE}.Frequency.Type", True),
        ({"frequency": "EVERY_TUESDAY"}, f"{MANDATE}.Frequency.Type", False),
        (_mandate(Frequency={"Type": "MNTH", "CountPerPeriod": 2}), f"{MANDATE}.Frequency.CountPerPeriod", True),
        (_mandate(Classification="VARI"), f"{MANDATE}.Classification", True),
        ({"first_at": "2021-03-01T09:00:00Z"}, f"{MANDATE}.FirstPaymentDateTime", True),
        (_mandate(FinalPaymentDateTime="2021-03-01T09:00:00Z"), f"{MANDATE}.FinalPaymentDateTime", True),
        (_mandate(RecurringPaymentDateTime=in_days(3)), f"{MANDATE}.RecurringPaymentDateTime", True),
        ({"NumberOfPayments": "abc"}, f"{INITIATION}.NumberOfPayments", True),
        ({"NumberOfPayments": "0"}, f"{INITIATION}.NumberOfPayments", True),
        ({"NumberOfPayments": "-3"}, f"{INITIATION}.NumberOfPayments", True),
        ({"NumberOfPayments": "100001"}, f"{INITIATION}.NumberOfPayments", True),
        ({"first": "0.00"}, f"{INITIATION}.FirstPaymentAmount.Amount", True),
        ({"first": "-1.00"}, f"{INITIATION}.FirstPaymentAmount.Amount", False),
        ({"first": "10.123"}, f"{INITIATION}.FirstPaymentAmount.Amount", True),
        (
            {"RecurringPaymentAmount": {"Amount": "1.001", "Currency": "GBP"}},
            f"{INITIATION}.RecurringPaymentAmount.Amount",
            True,
        ),
        ({"RecurringPaymentAmount": {"Amount": "0", "Currency": "GBP"}}, f"{INITIATION}.RecurringPaymentAmount", True),
        (
            {"RecurringPaymentAmount": {"Amount": "5.00", "Currency": "EUR"}},
            f"{INITIATION}.RecurringPaymentAmount.Currency",
            True,
        ),
        ({"FinalPaymentAmount": {"Amount": "5.00", "Currency": "GBP"}}, f"{INITIATION}.FinalPaymentAmount", True),
    ],
)
async def test_a_standing_order_the_bank_cannot_honour_is_400_naming_the_field(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    contract: Contract,
    change: dict[str, Any],
    path: str,
    conforms: bool,
) -> None:
    response = await client.post(
        STANDING_ORDER_CONSENTS, json=consent_body(standing_order(**change)), headers=writing(pisp_headers)
    )

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=conforms)
    assert only_error(response)["Path"].startswith(path), response.text


async def test_a_standing_order_without_a_first_payment_date_is_400(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract
) -> None:
    sent = standing_order()
    del sent["MandateRelatedInformation"]["FirstPaymentDateTime"]

    response = await client.post(STANDING_ORDER_CONSENTS, json=consent_body(sent), headers=writing(pisp_headers))

    assert response.status_code == 400, response.text
    contract.check(response)
    error = only_error(response)
    assert error["ErrorCode"] == "U004" and error["Path"] == f"{MANDATE}.FirstPaymentDateTime"


async def test_a_pisp_sets_up_the_standing_order_once_and_the_bank_pays_each_occurrence(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    consent_token: Token,
    core_banking: InProcessCoreBanking,
    platform: Platform,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
) -> None:
    sent = standing_order(
        "10.00",
        payee=payee,
        frequency="WEEK",
        NumberOfPayments="3",
        RecurringPaymentAmount={"Amount": "7.50", "Currency": "GBP"},
    )
    consent = await authorised(client, core_banking, pisp_headers, debtor, STANDING_ORDER_CONSENTS, sent)
    headers = writing(lambda **extra: consent_token(consent.id, debtor.customer_id, **extra))

    created = await client.post(STANDING_ORDERS, json=order_body(consent.id, sent), headers=headers)
    again = await client.post(STANDING_ORDERS, json=order_body(consent.id, sent), headers=headers)
    other = await client.post(
        STANDING_ORDERS, json=order_body(consent.id, sent), headers={**headers, "x-idempotency-key": uuid.uuid4().hex}
    )

    assert created.status_code == 201, created.text
    contract.check(created)
    data = created.json()["Data"]
    order_id = data["DomesticStandingOrderId"]
    assert (data["ConsentId"], data["Status"], data["Initiation"]) == (consent.id, "INCO", sent)
    assert again.status_code == 201 and again.json()["Data"]["DomesticStandingOrderId"] == order_id
    assert other.status_code == 400, other.text
    contract.check(other)
    assert only_error(other)["ErrorCode"] == "U009"
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.CONSUMED

    details = await client.get(f"{STANDING_ORDERS}/{order_id}/payment-details", headers=pisp_headers())
    assert details.status_code == 200, details.text
    contract.check(details)
    assert details.json()["Data"]["PaymentStatus"] == []

    async with running(platform):
        order = await core_banking.get_payment_order(uuid.UUID(order_id))
        while order.status is OrderStatus.ACTIVE:
            assert order.next_payment_at is not None
            assert await run_due_payment_orders(platform, now=order.next_payment_at) == 1
            order = await core_banking.get_payment_order(order.id)
        for run in order.runs:
            assert run.payment_id is not None
            assert await settled(core_banking, run.payment_id) == "ACSC"

    read = await client.get(f"{STANDING_ORDERS}/{order_id}", headers=pisp_headers())
    details = await client.get(f"{STANDING_ORDERS}/{order_id}/payment-details", headers=pisp_headers())
    for response in (read, details):
        assert response.status_code == 200, response.text
        contract.check(response)
    assert read.json()["Data"]["Status"] == "INCO" and read.json()["Data"]["Initiation"] == sent
    history = details.json()["Data"]["PaymentStatus"]
    paid = [entry for entry in history if entry["Status"] == "ACSC"]
    assert [entry["PaymentTransactionId"] for entry in paid] == [str(run.payment_id) for run in order.runs]
    payments = [await core_banking.get_payment(run.payment_id) for run in order.runs if run.payment_id]
    assert [p.amount.minor for p in payments] == [1_000, 750, 750]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"NumberOfPayments": "4"}, f"{INITIATION}.NumberOfPayments"),
        ({"frequency": "MNTH"}, f"{MANDATE}.Frequency.Type"),
        ({"first": "10.01"}, f"{INITIATION}.FirstPaymentAmount.Amount"),
    ],
)
async def test_an_initiation_other_than_the_consents_is_400_naming_the_field(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    consent_token: Token,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    contract: Contract,
    change: dict[str, Any],
    path: str,
) -> None:
    first_at = in_days(2)
    sent = standing_order("10.00", frequency="WEEK", first_at=first_at, NumberOfPayments="3")
    consent = await authorised(client, core_banking, pisp_headers, debtor, STANDING_ORDER_CONSENTS, sent)
    submitted = standing_order(
        **{"first": "10.00", "frequency": "WEEK", "first_at": first_at, "NumberOfPayments": "3", **change}
    )
    headers = writing(lambda **extra: consent_token(consent.id, debtor.customer_id, **extra))

    response = await client.post(STANDING_ORDERS, json=order_body(consent.id, submitted), headers=headers)

    assert response.status_code == 400, response.text
    contract.check(response)
    error = only_error(response)
    assert error["ErrorCode"] == "U008" and error["Path"] == path, error
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.AUTHORISED


async def test_another_tpps_standing_order_is_403_and_another_kinds_id_is_unknown(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    consent_token: Token,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    contract: Contract,
) -> None:
    sent = standing_order()
    consent = await authorised(client, core_banking, pisp_headers, debtor, STANDING_ORDER_CONSENTS, sent)
    headers = writing(lambda **extra: consent_token(consent.id, debtor.customer_id, **extra))
    order_id = (await client.post(STANDING_ORDERS, json=order_body(consent.id, sent), headers=headers)).json()["Data"][
        "DomesticStandingOrderId"
    ]
    one_off = scheduled()
    scheduled_consent = await authorised(client, core_banking, pisp_headers, debtor, SCHEDULED_CONSENTS, one_off)
    scheduled_headers = writing(lambda **extra: consent_token(scheduled_consent.id, debtor.customer_id, **extra))
    scheduled_response = await client.post(
        SCHEDULED, json=order_body(scheduled_consent.id, one_off), headers=scheduled_headers
    )
    scheduled_id = scheduled_response.json()["Data"]["DomesticScheduledPaymentId"]
    other = pisp_headers("tpp-2")

    forbidden = [
        await client.get(f"{STANDING_ORDER_CONSENTS}/{consent.id}", headers=other),
        await client.get(f"{STANDING_ORDERS}/{order_id}", headers=other),
        await client.get(f"{STANDING_ORDERS}/{order_id}/payment-details", headers=other),
    ]
    unknown = [
        await client.get(f"{STANDING_ORDERS}/{scheduled_id}", headers=pisp_headers()),
        await client.get(f"{SCHEDULED}/{order_id}", headers=pisp_headers()),
        await client.get(f"{STANDING_ORDER_CONSENTS}/{scheduled_consent.id}", headers=pisp_headers()),
    ]
    for response in forbidden:
        assert response.status_code == 403, response.text
        contract.check(response)
    for response in unknown:
        assert response.status_code == 400, response.text
        contract.check(response)
        assert only_error(response)["ErrorCode"] == "U011"
