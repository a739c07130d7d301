"""Domestic scheduled payments: the consent (once per key, its date a bank day not yet past), the payment set up
once per consent with the consent's Initiation, and its status as the bank pays it on its day."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from core_banking.accounts.schemas import AccountRecord
from core_banking.facade import ConsentStatus, InProcessCoreBanking
from core_banking.jobs import run_due_payment_orders
from obank.runtime import Platform
from tests.core_banking.payments.conftest import running
from tests.open_banking.contract import Contract
from tests.open_banking.pisp.conftest import CONSENTS, TPP, AuthorisedConsent, Debtor, initiation
from tests.open_banking.pisp.orders import (
    SCHEDULED,
    SCHEDULED_CONSENTS,
    authorised,
    consent_body,
    in_days,
    only_error,
    order_body,
    scheduled,
    settled,
    writing,
)

Headers = Callable[..., dict[str, str]]
Token = Callable[..., dict[str, str]]
LONDON = ZoneInfo("Europe/London")


async def test_a_pisp_asks_for_a_payment_on_a_date_and_reads_the_consent_back(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract
) -> None:
    sent = scheduled(when=in_days(10))

    created = await client.post(SCHEDULED_CONSENTS, json=consent_body(sent), headers=writing(pisp_headers))

    assert created.status_code == 201, created.text
    contract.check(created)
    data = created.json()["Data"]
    assert data["Status"] == "AWAU" and data["Permission"] == "Create"
    assert data["Initiation"] == sent
    expected = datetime.fromisoformat(data["ExpectedExecutionDateTime"]).astimezone(LONDON)
    assert (
        expected.hour == 6
        and expected.weekday() < 5
        and expected.date() >= (datetime.now(LONDON) + timedelta(9)).date()
    )
    consent_id = data["ConsentId"]
    assert consent_id.startswith("spc-") and created.json()["Links"]["Self"].endswith(
        f"{SCHEDULED_CONSENTS}/{consent_id}"
    )

    read = await client.get(f"{SCHEDULED_CONSENTS}/{consent_id}", headers=pisp_headers())

    assert read.status_code == 200, read.text
    contract.check(read)
    assert read.json()["Data"] == data and read.json()["Risk"] == created.json()["Risk"]


async def test_the_same_key_and_body_get_the_same_consent_and_another_body_is_refused(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract
) -> None:
    headers = writing(pisp_headers)
    body = consent_body(scheduled())

    first = await client.post(SCHEDULED_CONSENTS, json=body, headers=headers)
    again = await client.post(SCHEDULED_CONSENTS, json=body, headers=headers)
    other = await client.post(SCHEDULED_CONSENTS, json=consent_body(scheduled("26.00")), headers=headers)

    assert (first.status_code, again.status_code) == (201, 201), again.text
    contract.check(again)
    assert again.json()["Data"]["ConsentId"] == first.json()["Data"]["ConsentId"]
    assert other.status_code == 400, other.text
    contract.check(other)
    assert only_error(other)["Path"] == "x-idempotency-key"


AMOUNT = "Data.Initiation.InstructedAmount"


@pytest.mark.parametrize(
    ("change", "path", "conforms"),
    [
        ({"RequestedExecutionDateTime": "2020-01-06T10:00:00Z"}, "Data.Initiation.RequestedExecutionDateTime", True),
        ({"RequestedExecutionDateTime": "2030-01-06T10:00:00"}, "Data.Initiation.RequestedExecutionDateTime", False),
        ({"RequestedExecutionDateTime": "next tuesday"}, "Data.Initiation.RequestedExecutionDateTime", False),
        ({"InstructedAmount": {"Amount": "0.00", "Currency": "GBP"}}, "Data.Initiation.InstructedAmount.Amount", True),
        ({"InstructedAmount": {"Amount": "0", "Currency": "GBP"}}, "Data.Initiation.InstructedAmount.Amount", True),
        (
            {"InstructedAmount": {"Amount": "-5.00", "Currency": "GBP"}},
            "Data.Initiation.InstructedAmount.Amount",
            False,
        ),
        ({"InstructedAmount": {"Amount": "5.001", "Currency": "GBP"}}, "Data.Initiation.InstructedAmount.Amount", True),
        (
            {"InstructedAmount": {"Amount": "5.00", "Currency": "XYZ"}},
            "Data.Initiation.InstructedAmount.Currency",
            True,
        ),
        ({"LocalInstrument": "UK.OBIE.CHAPS"}, "Data.Initiation.LocalInstrument", True),
        (
            {"CreditorAccount": {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "1", "Name": "X"}},
            "Data.Initiation.CreditorAccount.Identification",
            True,
        ),
    ],
)
async def test_a_consent_the_bank_cannot_honour_is_400_naming_the_field(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    contract: Contract,
    change: dict[str, Any],
    path: str,
    conforms: bool,
) -> None:
    response = await client.post(
        SCHEDULED_CONSENTS, json=consent_body({**scheduled(), **change}), headers=writing(pisp_headers)
    )

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=conforms)
    assert only_error(response)["Path"].startswith(path), response.text


async def test_a_consent_without_its_permission_or_with_fields_the_bank_does_not_act_on_is_400(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract
) -> None:
    without_permission = {"Data": {"Initiation": scheduled()}, "Risk": {}}
    with_address = consent_body(scheduled(CreditorPostalAddress={"TownName": "Leeds"}))

    for body in (without_permission, with_address):
        response = await client.post(SCHEDULED_CONSENTS, json=body, headers=writing(pisp_headers))
        assert response.status_code == 400, response.text
        contract.check(response, request_conforms=body is with_address)


async def test_a_pisp_sets_up_the_payment_the_psu_authorised_once_and_the_bank_pays_it_on_its_day(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    consent_token: Token,
    core_banking: InProcessCoreBanking,
    platform: Platform,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
) -> None:
    sent = scheduled("25.00", payee=payee)
    consent = await authorised(client, core_banking, pisp_headers, debtor, SCHEDULED_CONSENTS, sent)
    headers = writing(lambda **extra: consent_token(consent.id, debtor.customer_id, **extra))

    created = await client.post(SCHEDULED, json=order_body(consent.id, sent), headers=headers)
    again = await client.post(SCHEDULED, json=order_body(consent.id, sent), headers=headers)
    other_key = await client.post(
        SCHEDULED, json=order_body(consent.id, sent), headers={**headers, "x-idempotency-key": "k-" + uuid.uuid4().hex}
    )

    assert created.status_code == 201, created.text
    contract.check(created)
    data = created.json()["Data"]
    order_id = data["DomesticScheduledPaymentId"]
    assert (data["ConsentId"], data["Status"], data["Initiation"]) == (consent.id, "PDNG", sent)
    assert created.json()["Links"]["Self"].endswith(f"{SCHEDULED}/{order_id}")
    assert again.status_code == 201 and again.json()["Data"]["DomesticScheduledPaymentId"] == order_id
    assert other_key.status_code == 400, other_key.text
    contract.check(other_key)
    assert only_error(other_key)["ErrorCode"] == "U009" and "Consumed (COND)" in only_error(other_key)["Message"]
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.CONSUMED

    before = await client.get(f"{SCHEDULED}/{order_id}", headers=pisp_headers())
    details_before = await client.get(f"{SCHEDULED}/{order_id}/payment-details", headers=pisp_headers())
    consent_now = await client.get(f"{SCHEDULED_CONSENTS}/{consent.id}", headers=pisp_headers())
    for response in (before, details_before, consent_now):
        assert response.status_code == 200, response.text
        contract.check(response)
    assert before.json()["Data"]["Status"] == "PDNG"
    assert details_before.json()["Data"]["PaymentStatus"] == []
    assert consent_now.json()["Data"]["Status"] == "COND"

    order = await core_banking.get_payment_order(uuid.UUID(order_id))
    assert order.next_payment_at is not None
    async with running(platform):
        assert await run_due_payment_orders(platform, now=order.next_payment_at) == 1
        ran = await core_banking.get_payment_order(order.id)
        (run,) = ran.runs
        assert run.payment_id is not None
        assert await settled(core_banking, run.payment_id) == "ACSC"

    after = await client.get(f"{SCHEDULED}/{order_id}", headers=pisp_headers())
    details = await client.get(f"{SCHEDULED}/{order_id}/payment-details", headers=pisp_headers())
    for response in (after, details):
        assert response.status_code == 200, response.text
        contract.check(response)
    assert after.json()["Data"]["Status"] == "ACSC" and after.json()["Data"]["Initiation"] == sent
    history = details.json()["Data"]["PaymentStatus"]
    assert history[0]["Status"] == "PDNG" and history[-1]["Status"] == "ACSC"
    assert {entry["PaymentTransactionId"] for entry in history} == {str(run.payment_id)}


async def test_a_scheduled_payment_refused_on_its_day_reads_rejected_with_the_reason(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    consent_token: Token,
    core_banking: InProcessCoreBanking,
    platform: Platform,
    debtor: Debtor,
    contract: Contract,
) -> None:
    sent = scheduled("500.00")  # the debtor holds 100.00
    consent = await authorised(client, core_banking, pisp_headers, debtor, SCHEDULED_CONSENTS, sent)
    headers = writing(lambda **extra: consent_token(consent.id, debtor.customer_id, **extra))
    created = await client.post(SCHEDULED, json=order_body(consent.id, sent), headers=headers)
    assert created.status_code == 201, created.text
    order_id = created.json()["Data"]["DomesticScheduledPaymentId"]
    order = await core_banking.get_payment_order(uuid.UUID(order_id))
    assert order.next_payment_at is not None

    # Tried at 06:00, then again at each retry time of its bank day (10:00, 14:00, 18:00), then failed.
    for hours in (0, 4, 8, 12):
        await run_due_payment_orders(platform, now=order.next_payment_at + timedelta(hours=hours))

    read = await client.get(f"{SCHEDULED}/{order_id}", headers=pisp_headers())
    details = await client.get(f"{SCHEDULED}/{order_id}/payment-details", headers=pisp_headers())
    for response in (read, details):
        assert response.status_code == 200, response.text
        contract.check(response)
    assert read.json()["Data"]["Status"] == "RJCT"
    assert read.json()["Data"]["StatusReason"][0]["StatusReasonCode"] == "AM04"
    [entry] = details.json()["Data"]["PaymentStatus"]
    assert entry["Status"] == "RJCT" and entry["StatusDetail"]["StatusReason"] == "AM04"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"InstructedAmount": {"Amount": "25.01", "Currency": "GBP"}}, "Data.Initiation.InstructedAmount.Amount"),
        ({"RequestedExecutionDateTime": in_days(4)}, "Data.Initiation.RequestedExecutionDateTime"),
        ({"InstructionIdentification": "SCHED-2"}, "Data.Initiation.InstructionIdentification"),
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
    sent = scheduled(when=in_days(3))
    consent = await authorised(client, core_banking, pisp_headers, debtor, SCHEDULED_CONSENTS, sent)
    headers = writing(lambda **extra: consent_token(consent.id, debtor.customer_id, **extra))

    response = await client.post(SCHEDULED, json=order_body(consent.id, {**sent, **change}), headers=headers)

    assert response.status_code == 400, response.text
    contract.check(response)
    error = only_error(response)
    assert error["ErrorCode"] == "U008" and error["Path"] == path, error
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.AUTHORISED


async def test_the_same_instant_written_in_another_offset_is_the_same_initiation(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    consent_token: Token,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    contract: Contract,
) -> None:
    when = in_days(5)
    sent = scheduled("25.5", when=when)
    consent = await authorised(client, core_banking, pisp_headers, debtor, SCHEDULED_CONSENTS, sent)
    shifted = datetime.fromisoformat(when).astimezone(ZoneInfo("Asia/Tokyo")).isoformat()
    headers = writing(lambda **extra: consent_token(consent.id, debtor.customer_id, **extra))

    body = order_body(consent.id, scheduled("25.50", when=shifted))
    response = await client.post(SCHEDULED, json=body, headers=headers)

    assert response.status_code == 201, response.text
    contract.check(response)


async def test_a_consent_not_authorised_or_of_another_kind_sets_up_nothing(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    consent_token: Token,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    contract: Contract,
) -> None:
    sent = scheduled()
    created = await client.post(SCHEDULED_CONSENTS, json=consent_body(sent), headers=writing(pisp_headers))
    awaiting_id = created.json()["Data"]["ConsentId"]
    single = await authorised_consent(initiation())

    awaiting = await client.post(
        SCHEDULED,
        json=order_body(awaiting_id, sent),
        headers=writing(lambda **extra: consent_token(awaiting_id, debtor.customer_id, **extra)),
    )
    other_kind = await client.post(
        SCHEDULED,
        json=order_body(single.id, sent),
        headers=writing(lambda **extra: consent_token(single.id, debtor.customer_id, **extra)),
    )
    read_as_scheduled = await client.get(f"{SCHEDULED_CONSENTS}/{single.id}", headers=pisp_headers())
    read_as_single = await client.get(f"{CONSENTS}/{awaiting_id}", headers=pisp_headers())

    for response, code in (
        (awaiting, "U009"),
        (other_kind, "U011"),
        (read_as_scheduled, "U011"),
        (read_as_single, "U011"),
    ):
        assert response.status_code == 400, response.text
        contract.check(response)
        assert only_error(response)["ErrorCode"] == code, response.text


async def test_another_tpps_consent_and_scheduled_payment_are_403_and_unknown_ids_400(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    consent_token: Token,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    contract: Contract,
) -> None:
    sent = scheduled()
    consent = await authorised(client, core_banking, pisp_headers, debtor, SCHEDULED_CONSENTS, sent)
    headers = writing(lambda **extra: consent_token(consent.id, debtor.customer_id, **extra))
    created = await client.post(SCHEDULED, json=order_body(consent.id, sent), headers=headers)
    order_id = created.json()["Data"]["DomesticScheduledPaymentId"]
    other = pisp_headers("tpp-2")

    forbidden = [
        await client.get(f"{SCHEDULED_CONSENTS}/{consent.id}", headers=other),
        await client.get(f"{SCHEDULED}/{order_id}", headers=other),
        await client.get(f"{SCHEDULED}/{order_id}/payment-details", headers=other),
    ]
    unknown = [
        await client.get(f"{SCHEDULED_CONSENTS}/spc-{uuid.uuid4()}", headers=pisp_headers()),
        await client.get(f"{SCHEDULED}/{uuid.uuid4()}", headers=pisp_headers()),
        await client.get(f"{SCHEDULED}/not-a-uuid/payment-details", headers=pisp_headers()),
    ]

    for response in forbidden:
        assert response.status_code == 403, response.text
        contract.check(response)
    for response in unknown:
        assert response.status_code == 400, response.text
        contract.check(response)
        assert only_error(response)["ErrorCode"] == "U011"
    assert TPP != "tpp-2"
