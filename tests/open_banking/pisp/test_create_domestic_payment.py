"""POST /domestic-payments and the reads of a payment: once per consent, its Initiation exactly the consent's."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from core_banking.accounts.schemas import AccountRecord
from core_banking.facade import ConsentStatus, InProcessCoreBanking
from obank.runtime import Platform
from tests.open_banking.contract import Contract
from tests.open_banking.pisp.conftest import (
    CONSENTS,
    JSON,
    PAYMENTS,
    SIGNED,
    TPP,
    AuthorisedConsent,
    Debtor,
    consent_body,
    initiation,
    key,
    only_error,
    payment_body,
)
from tests.open_banking.pisp.test_get_domestic_payment_consent import age

Headers = Callable[..., dict[str, str]]
Token = Callable[..., dict[str, str]]


def to(payee: AccountRecord, amount: str = "10.50", **fields: Any) -> dict[str, Any]:
    """An Initiation paying `payee`, an account of this bank (booked at once)."""
    return initiation(amount, identification=payee.sort_code + payee.account_number, **fields)


async def test_a_pisp_makes_the_payment_the_psu_authorised_and_reads_it_back(
    client: httpx.AsyncClient,
    consent_token: Token,
    pisp_headers: Headers,
    authorised_consent: AuthorisedConsent,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
) -> None:
    consent = await authorised_consent(to(payee))
    headers = consent_token(consent.id, debtor.customer_id, **JSON, **SIGNED, **{"x-idempotency-key": key()})

    response = await client.post(PAYMENTS, json=payment_body(consent.id, to(payee)), headers=headers)

    assert response.status_code == 201, response.text
    contract.check(response)
    data = response.json()["Data"]
    payment_id = data["DomesticPaymentId"]
    assert data["ConsentId"] == consent.id
    assert data["Status"] in ("PDNG", "ACSP", "ACSC")
    assert data["Initiation"] == to(payee)
    assert response.json()["Links"]["Self"].endswith(f"{PAYMENTS}/{payment_id}")
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.CONSUMED

    read = await client.get(f"{PAYMENTS}/{payment_id}", headers=pisp_headers())
    details = await client.get(f"{PAYMENTS}/{payment_id}/payment-details", headers=pisp_headers())
    consent_now = await client.get(f"{CONSENTS}/{consent.id}", headers=pisp_headers())

    for answer in (read, details, consent_now):
        assert answer.status_code == 200, answer.text
        contract.check(answer)
    assert read.json()["Data"]["DomesticPaymentId"] == payment_id
    history = details.json()["Data"]["PaymentStatus"]
    assert history[0]["Status"] == "PDNG" and history[0]["PaymentTransactionId"] == payment_id
    assert history[-1]["Status"] == read.json()["Data"]["Status"]
    assert consent_now.json()["Data"]["Status"] == "COND"


async def test_the_same_key_again_gets_the_same_payment_and_another_key_is_refused(
    client: httpx.AsyncClient,
    consent_token: Token,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
) -> None:
    consent = await authorised_consent(to(payee))
    headers = consent_token(consent.id, debtor.customer_id, **JSON, **SIGNED, **{"x-idempotency-key": key()})
    body = payment_body(consent.id, to(payee))

    first = await client.post(PAYMENTS, json=body, headers=headers)
    again = await client.post(PAYMENTS, json=body, headers=headers)
    second = await client.post(PAYMENTS, json=body, headers={**headers, "x-idempotency-key": key()})

    assert (first.status_code, again.status_code) == (201, 201), again.text
    contract.check(again)
    assert again.json()["Data"]["DomesticPaymentId"] == first.json()["Data"]["DomesticPaymentId"]
    assert second.status_code == 400, second.text
    contract.check(second)
    error = only_error(second)
    assert error["ErrorCode"] == "U009" and "Consumed (COND)" in error["Message"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"InstructedAmount": {"Amount": "10.51", "Currency": "GBP"}}, "Data.Initiation.InstructedAmount.Amount"),
        (
            {
                "CreditorAccount": {
                    "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                    "Identification": "08999966374958",
                    "Name": "ACME Inc",
                }
            },
            "Data.Initiation.CreditorAccount.Identification",
        ),
        (
            {"RemittanceInformation": {"Structured": [{"CreditorReferenceInformation": {"Reference": "OTHER"}}]}},
            "Data.Initiation.RemittanceInformation",
        ),
        ({"InstructionIdentification": "ACME413"}, "Data.Initiation.InstructionIdentification"),
        ({"EndToEndIdentification": "E2E-OTHER"}, "Data.Initiation.EndToEndIdentification"),
        ({"LocalInstrument": "UK.OBIE.FPS"}, "Data.Initiation.LocalInstrument"),
    ],
)
async def test_an_initiation_other_than_the_consents_is_400_naming_the_field(
    client: httpx.AsyncClient,
    consent_token: Token,
    authorised_consent: AuthorisedConsent,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
    change: dict[str, Any],
    path: str,
) -> None:
    consent = await authorised_consent(to(payee))
    submitted = {**to(payee), **change}
    headers = consent_token(consent.id, debtor.customer_id, **JSON, **SIGNED, **{"x-idempotency-key": key()})

    response = await client.post(PAYMENTS, json=payment_body(consent.id, submitted), headers=headers)

    assert response.status_code == 400, response.text
    contract.check(response)
    error = only_error(response)
    assert error["ErrorCode"] == "U008" and error["Path"].startswith(path), error
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.AUTHORISED


async def test_the_same_meaning_written_otherwise_is_the_same_initiation(
    client: httpx.AsyncClient,
    consent_token: Token,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
) -> None:
    consent = await authorised_consent(to(payee, "10.5"))
    headers = consent_token(consent.id, debtor.customer_id, **JSON, **SIGNED, **{"x-idempotency-key": key()})

    response = await client.post(PAYMENTS, json=payment_body(consent.id, to(payee, "10.50")), headers=headers)

    assert response.status_code == 201, response.text
    contract.check(response)


async def test_a_consent_not_authorised_allows_no_payment(
    client: httpx.AsyncClient,
    consent_token: Token,
    pisp_headers: Headers,
    platform: Platform,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
) -> None:
    created = await client.post(
        CONSENTS, json=consent_body(to(payee)), headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})
    )
    consent_id = created.json()["Data"]["ConsentId"]
    headers = consent_token(consent_id, debtor.customer_id, **JSON, **SIGNED, **{"x-idempotency-key": key()})

    awaiting = await client.post(PAYMENTS, json=payment_body(consent_id, to(payee)), headers=headers)
    await age(platform, consent_id)
    lapsed = await client.post(PAYMENTS, json=payment_body(consent_id, to(payee)), headers=headers)

    for response, words in ((awaiting, "AwaitingAuthorisation (AWAU)"), (lapsed, "Rejected (RJCT)")):
        assert response.status_code == 400, response.text
        contract.check(response)
        error = only_error(response)
        assert error["ErrorCode"] == "U009" and words in error["Message"], error


async def test_a_rejected_consent_allows_no_payment(
    client: httpx.AsyncClient,
    consent_token: Token,
    core_banking: InProcessCoreBanking,
    pisp_headers: Headers,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
) -> None:
    created = await client.post(
        CONSENTS, json=consent_body(to(payee)), headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})
    )
    consent_id = created.json()["Data"]["ConsentId"]
    await core_banking.reject_consent(consent_id, customer_id=debtor.customer_id)
    headers = consent_token(consent_id, debtor.customer_id, **JSON, **SIGNED, **{"x-idempotency-key": key()})

    response = await client.post(PAYMENTS, json=payment_body(consent_id, to(payee)), headers=headers)

    assert response.status_code == 400, response.text
    contract.check(response)
    assert only_error(response)["ErrorCode"] == "U009"


async def test_another_tpps_consent_and_another_consents_token_are_refused(
    client: httpx.AsyncClient,
    consent_token: Token,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
) -> None:
    foreign = await authorised_consent(to(payee), client_id="tpp-2")
    mine = await authorised_consent(to(payee))

    # The gateway binds a token to its client: a token of tpp-2's consent presented by tpp-1 cannot exist, but a
    # principal naming it must still be refused.
    stolen = await client.post(
        PAYMENTS,
        json=payment_body(foreign.id, to(payee)),
        headers=consent_token(foreign.id, debtor.customer_id, **JSON, **SIGNED, **{"x-idempotency-key": key()}),
    )
    crossed = await client.post(
        PAYMENTS,
        json=payment_body(foreign.id, to(payee)),
        headers=consent_token(mine.id, debtor.customer_id, **JSON, **SIGNED, **{"x-idempotency-key": key()}),
    )
    other_psu = await client.post(
        PAYMENTS,
        json=payment_body(mine.id, to(payee)),
        headers=consent_token(mine.id, uuid.uuid4(), **JSON, **SIGNED, **{"x-idempotency-key": key()}),
    )

    for response in (stolen, crossed, other_psu):
        assert response.status_code == 403, response.text
        contract.check(response)


async def test_a_payment_the_account_cannot_fund_is_refused_and_the_consent_stays_authorised(
    client: httpx.AsyncClient,
    consent_token: Token,
    authorised_consent: AuthorisedConsent,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
) -> None:
    consent = await authorised_consent(to(payee, "100.01"))
    headers = consent_token(consent.id, debtor.customer_id, **JSON, **SIGNED, **{"x-idempotency-key": key()})

    response = await client.post(PAYMENTS, json=payment_body(consent.id, to(payee, "100.01")), headers=headers)

    assert response.status_code == 400, response.text
    contract.check(response)
    assert only_error(response)["ErrorCode"] == "AM04"
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.AUTHORISED


async def test_the_signature_header_is_required_on_payments(
    client: httpx.AsyncClient,
    consent_token: Token,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    contract: Contract,
) -> None:
    consent = await authorised_consent()
    headers = consent_token(consent.id, debtor.customer_id, **JSON, **{"x-idempotency-key": key()})

    response = await client.post(PAYMENTS, json=payment_body(consent.id), headers=headers)

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=False)
    assert (only_error(response)["ErrorCode"], only_error(response)["Path"]) == ("U019", "x-jws-signature")


async def test_payments_of_another_tpp_are_403_and_unknown_ids_400(
    client: httpx.AsyncClient,
    consent_token: Token,
    pisp_headers: Headers,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    payee: AccountRecord,
    contract: Contract,
) -> None:
    consent = await authorised_consent(to(payee), client_id="tpp-2")
    headers = consent_token(
        consent.id, debtor.customer_id, client_id="tpp-2", **JSON, **SIGNED, **{"x-idempotency-key": key()}
    )
    made = await client.post(PAYMENTS, json=payment_body(consent.id, to(payee)), headers=headers)
    payment_id = made.json()["Data"]["DomesticPaymentId"]

    for path in (f"{PAYMENTS}/{payment_id}", f"{PAYMENTS}/{payment_id}/payment-details"):
        foreign = await client.get(path, headers=pisp_headers(TPP))
        assert foreign.status_code == 403, foreign.text
        contract.check(foreign)
    for unknown in (str(uuid.uuid4()), "not-a-uuid", "%00"):
        response = await client.get(f"{PAYMENTS}/{unknown}", headers=pisp_headers())
        assert response.status_code == 400, response.text
        contract.check(response, request_conforms=unknown != "%00")


async def test_hostile_payment_bodies_are_400_never_500(
    client: httpx.AsyncClient,
    consent_token: Token,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    contract: Contract,
) -> None:
    consent = await authorised_consent()
    headers = consent_token(consent.id, debtor.customer_id, **JSON, **SIGNED, **{"x-idempotency-key": key()})
    huge = copy.deepcopy(payment_body(consent.id))
    huge["Data"]["Initiation"]["InstructedAmount"]["Amount"] = "9" * 500
    for body in (huge, {"Data": {"ConsentId": "\u0000"}}, {"Data": {"ConsentId": consent.id}}, {"Data": None}):
        response = await client.post(PAYMENTS, json=body, headers=headers)
        assert response.status_code == 400, response.text
        contract.check(response, request_conforms=False)
