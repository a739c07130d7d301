"""POST /domestic-payment-consents: a PISP asks the PSU to authorise one payment, once per idempotency key."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from core_banking.facade import ConsentStatus, DomesticPaymentDetails, InProcessCoreBanking
from tests.open_banking.contract import Contract
from tests.open_banking.pisp.conftest import (
    CONSENTS,
    JSON,
    PAYEE_ACCOUNT,
    RISK,
    SIGNED,
    TPP,
    consent_body,
    initiation,
    key,
    only_error,
)

Headers = Callable[..., dict[str, str]]


async def test_a_pisp_creates_a_consent_that_echoes_its_initiation_and_risk(
    client: httpx.AsyncClient, pisp_headers: Headers, core_banking: InProcessCoreBanking, contract: Contract
) -> None:
    body = consent_body()
    interaction_id = str(uuid.uuid4())

    response = await client.post(
        CONSENTS,
        json=body,
        headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key(), "x-fapi-interaction-id": interaction_id}),
    )

    assert response.status_code == 201, response.text
    contract.check(response)
    assert response.headers["x-fapi-interaction-id"] == interaction_id
    document = response.json()
    data = document["Data"]
    assert data["ConsentId"].startswith("pdc-")
    assert data["Status"] == "AWAU"
    assert data["Initiation"] == body["Data"]["Initiation"]
    assert document["Risk"] == RISK
    assert document["Links"] == {"Self": f"https://127.0.0.1:8443{CONSENTS}/{data['ConsentId']}"}
    kept = await core_banking.get_consent(data["ConsentId"])
    assert (kept.client_id, kept.status) == (TPP, ConsentStatus.AWAITING_AUTHORISATION)
    assert isinstance(kept.details, DomesticPaymentDetails)
    assert (kept.details.amount.minor, kept.details.amount.currency) == (1050, "GBP")
    assert kept.details.creditor.identification == PAYEE_ACCOUNT
    assert kept.details.reference == "FRESCO-101"
    assert (kept.details.instruction_id, kept.details.end_to_end_id) == ("ACME412", "FRESCO.21302.GFX.20")


async def test_an_iban_payee_and_a_named_debtor_account_are_kept(
    client: httpx.AsyncClient, pisp_headers: Headers, core_banking: InProcessCoreBanking, contract: Contract
) -> None:
    payment = initiation(
        DebtorAccount={"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "04007500012344"},
        LocalInstrument="UK.OBIE.FPS",
    )
    payment["CreditorAccount"] = {"SchemeName": "UK.OBIE.IBAN", "Identification": "GB82WEST12345698765432", "Name": "W"}

    response = await client.post(
        CONSENTS,
        json=consent_body(payment, risk={}),
        headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()}),
    )

    assert response.status_code == 201, response.text
    contract.check(response)
    assert response.json()["Data"]["Initiation"] == payment
    assert response.json()["Risk"] == {}
    kept = await core_banking.get_consent(response.json()["Data"]["ConsentId"])
    assert isinstance(kept.details, DomesticPaymentDetails)
    assert kept.details.debtor_account is not None
    assert kept.details.debtor_account.identification == "04007500012344"


async def test_the_same_key_and_body_answer_201_with_the_same_consent(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract
) -> None:
    headers = pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})

    first = await client.post(CONSENTS, json=consent_body(), headers=headers)
    again = await client.post(CONSENTS, json=consent_body(), headers=headers)

    assert (first.status_code, again.status_code) == (201, 201), again.text
    contract.check(again)
    assert again.json()["Data"]["ConsentId"] == first.json()["Data"]["ConsentId"]
    other_tpp = await client.post(CONSENTS, json=consent_body(), headers={**headers, **pisp_headers("tpp-2")})
    assert other_tpp.json()["Data"]["ConsentId"] != first.json()["Data"]["ConsentId"]  # keys are per TPP


@pytest.mark.parametrize(
    "changed",
    [
        consent_body(initiation("10.51")),
        consent_body(risk={**RISK, "ContractPresentIndicator": True}),
        consent_body(initiation(InstructionIdentification="ACME413")),
    ],
)
async def test_the_same_key_with_another_body_is_400_and_creates_nothing(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract, changed: dict[str, Any]
) -> None:
    headers = pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})
    first = await client.post(CONSENTS, json=consent_body(), headers=headers)

    response = await client.post(CONSENTS, json=changed, headers=headers)

    assert first.status_code == 201
    assert response.status_code == 400, response.text
    contract.check(response)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == ("U006", "x-idempotency-key")


async def test_the_idempotency_key_is_required(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract
) -> None:
    response = await client.post(CONSENTS, json=consent_body(), headers=pisp_headers(**JSON, **SIGNED))

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=False)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == ("U007", "x-idempotency-key")


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("10.505", "U002"),  # more decimals than GBP has: refused, never rounded
        ("-10.50", "U002"),
        ("0", "U002"),
        ("0.00", "U002"),
        ("12345678901234", "U002"),  # 14 integer digits
        ("1e3", "U002"),
        ("", "U002"),
    ],
)
async def test_bad_amounts_are_refused_naming_the_amount(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract, amount: str, code: str
) -> None:
    response = await client.post(
        CONSENTS,
        json=consent_body(initiation(amount)),
        headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()}),
    )

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=False)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == (code, "Data.Initiation.InstructedAmount.Amount")


async def test_the_largest_amount_the_spec_allows_is_accepted(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract
) -> None:
    response = await client.post(
        CONSENTS,
        json=consent_body(initiation("9999999999999.99")),
        headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()}),
    )

    assert response.status_code == 201, response.text
    contract.check(response)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            {
                "CreditorAccount": {
                    "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                    "Identification": "08999966374959",
                    "Name": "A",
                }
            },
            "Identification",
        ),
        (
            {
                "CreditorAccount": {
                    "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                    "Identification": "0899996637495",
                    "Name": "A",
                }
            },
            "Identification",
        ),
        (
            {
                "CreditorAccount": {
                    "SchemeName": "UK.OBIE.IBAN",
                    "Identification": "GB82WEST12345698765433",
                    "Name": "A",
                }
            },
            "Identification",
        ),
        (
            {"CreditorAccount": {"SchemeName": "UK.OBIE.PAN", "Identification": "4111111111111111", "Name": "A"}},
            "SchemeName",
        ),
        (
            {
                "CreditorAccount": {
                    "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                    "Identification": PAYEE_ACCOUNT,
                    "Name": "A",
                    "SecondaryIdentification": "0002",
                }
            },
            "SecondaryIdentification",
        ),
    ],
)
async def test_a_payee_this_bank_cannot_pay_is_refused_naming_the_field(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract, change: dict[str, Any], path: str
) -> None:
    response = await client.post(
        CONSENTS,
        json=consent_body(initiation(**change)),
        headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()}),
    )

    assert response.status_code == 400, response.text
    contract.check(response)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == ("U002", f"Data.Initiation.CreditorAccount.{path}")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (consent_body(initiation(LocalInstrument="UK.OBIE.CHAPS")), "Data.Initiation.LocalInstrument"),
        (consent_body(initiation(CreditorAgent={"Name": "Other Bank"})), "Data.Initiation.CreditorAgent"),
        ({"Data": {"Initiation": initiation()}}, "Risk"),
        ({"Data": {"Initiation": initiation(), "ReadRefundAccount": "Yes"}, "Risk": {}}, "Data.ReadRefundAccount"),
        (consent_body(initiation(InstructionIdentification="I" * 36)), "Data.Initiation.InstructionIdentification"),
        (
            consent_body(initiation(InstructedAmount={"Amount": "1.00", "Currency": "ZZZ"})),
            "Data.Initiation.InstructedAmount.Currency",
        ),
    ],
)
async def test_what_the_bank_does_not_do_is_refused_by_name(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract, body: dict[str, Any], path: str
) -> None:
    response = await client.post(
        CONSENTS, json=body, headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})
    )

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=False)
    assert only_error(response)["Path"] == path


@pytest.mark.parametrize(
    "body",
    [
        consent_body(initiation(InstructionIdentification="A\u0000B")),
        consent_body(initiation("1" * 400)),
        {"Data": [], "Risk": None},
        [],
    ],
)
async def test_hostile_bodies_are_400_never_500(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract, body: Any
) -> None:
    response = await client.post(
        CONSENTS, json=body, headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})
    )

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=False)


async def test_an_account_information_token_cannot_create_payment_consents(
    client: httpx.AsyncClient, tpp_headers: Callable[..., dict[str, str]], contract: Contract
) -> None:
    response = await client.post(
        CONSENTS, json=consent_body(), headers=tpp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})
    )

    assert response.status_code == 403, response.text
    contract.check(response)


async def test_supplementary_data_is_kept_as_sent_however_odd(
    client: httpx.AsyncClient, pisp_headers: Headers, contract: Contract
) -> None:
    payment = initiation(SupplementaryData={"n": 10**400, "nested": {"list": [1.5, None, "x"]}})

    response = await client.post(
        CONSENTS, json=consent_body(payment), headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})
    )

    assert response.status_code == 201, response.text
    contract.check(response)
    assert response.json()["Data"]["Initiation"]["SupplementaryData"] == payment["SupplementaryData"]
