"""POST /funds-confirmation-consents: a CBPII asks for a consent on one account, once per idempotency key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core_banking.facade import ConsentStatus, FundsConfirmationDetails, InProcessCoreBanking
from tests.open_banking.cbpii.conftest import CONSENTS, JSON, TPP, Debtor, consent_body, only_error
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import Contract

Headers = Callable[..., dict[str, str]]


async def test_a_cbpii_creates_a_consent_awaiting_the_customer(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    contract: Contract,
) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    body = consent_body(debtor, ExpirationDateTime=expires.isoformat())
    body["Data"]["DebtorAccount"]["Name"] = "Ada Lovelace"
    interaction_id = str(uuid.uuid4())

    response = await client.post(
        CONSENTS, json=body, headers=cbpii_headers(**JSON, **{"x-fapi-interaction-id": interaction_id})
    )

    assert response.status_code == 201, response.text
    contract.check(response)
    assert response.headers["x-fapi-interaction-id"] == interaction_id
    assert response.headers["content-type"] == "application/json"
    data = response.json()["Data"]
    assert data["ConsentId"].startswith("fcc-")
    assert data["Status"] == "AWAU"
    assert datetime.fromisoformat(data["ExpirationDateTime"]) == expires
    assert data["DebtorAccount"] == {
        "SchemeName": "UK.OBIE.SortCodeAccountNumber",
        "Identification": debtor.sort_code_and_number,
        "Name": "Ada Lovelace",
    }
    assert data["CreationDateTime"] == data["StatusUpdateDateTime"]
    assert response.json()["Links"] == {"Self": f"https://127.0.0.1:8443{CONSENTS}/{data['ConsentId']}"}
    assert response.json()["Meta"] == {}
    kept = await core_banking.get_consent(data["ConsentId"])
    assert (kept.client_id, kept.status) == (TPP, ConsentStatus.AWAITING_AUTHORISATION)
    assert isinstance(kept.details, FundsConfirmationDetails)
    assert kept.details.debtor_account.identification == debtor.sort_code_and_number


async def test_an_iban_names_the_account_too_and_no_expiry_means_open_ended(
    client: httpx.AsyncClient, cbpii_headers: Headers, debtor: Debtor, contract: Contract
) -> None:
    body = {"Data": {"DebtorAccount": {"SchemeName": "UK.OBIE.IBAN", "Identification": debtor.account.iban}}}

    response = await client.post(CONSENTS, json=body, headers=cbpii_headers(**JSON))

    assert response.status_code == 201, response.text
    contract.check(response)
    data = response.json()["Data"]
    assert "ExpirationDateTime" not in data  # R/W API Profile, "Optional Fields": left out, never null
    assert data["DebtorAccount"] == {"SchemeName": "UK.OBIE.IBAN", "Identification": debtor.account.iban}


async def test_the_same_key_and_body_answer_201_with_the_same_consent_as_it_is_now(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    contract: Contract,
) -> None:
    headers = cbpii_headers(**JSON, **{"x-idempotency-key": "cbpii-" + uuid.uuid4().hex[:20]})
    body = consent_body(debtor)

    first = await client.post(CONSENTS, json=body, headers=headers)
    await core_banking.authorise_consent(
        first.json()["Data"]["ConsentId"], customer_id=debtor.customer_id, account_ids=[debtor.account.id]
    )
    again = await client.post(CONSENTS, json=body, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201), again.text
    contract.check(first)
    contract.check(again)
    assert again.json()["Data"]["ConsentId"] == first.json()["Data"]["ConsentId"]
    assert again.json()["Data"]["Status"] == "AUTH"  # the consent as it is now, not as it was created
    other_tpp = await client.post(CONSENTS, json=body, headers={**headers, **cbpii_headers("tpp-2")})
    assert other_tpp.status_code == 201  # keys are per TPP
    assert other_tpp.json()["Data"]["ConsentId"] != first.json()["Data"]["ConsentId"]


async def test_the_same_key_with_another_body_is_400_and_creates_nothing(
    client: httpx.AsyncClient, cbpii_headers: Headers, debtor: Debtor, contract: Contract
) -> None:
    headers = cbpii_headers(**JSON, **{"x-idempotency-key": "cbpii-" + uuid.uuid4().hex[:20]})
    first = await client.post(CONSENTS, json=consent_body(debtor), headers=headers)
    changed = consent_body(debtor, ExpirationDateTime=(datetime.now(UTC) + timedelta(days=1)).isoformat())

    response = await client.post(CONSENTS, json=changed, headers=headers)

    assert first.status_code == 201
    assert response.status_code == 400, response.text
    contract.check(response)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == ("U006", "x-idempotency-key")
    assert error["Message"].startswith("UK.OBIE.Header.Invalid - ")
    replay = await client.post(CONSENTS, json=consent_body(debtor), headers=headers)
    assert replay.json()["Data"]["ConsentId"] == first.json()["Data"]["ConsentId"]


@pytest.mark.parametrize("key", ["k" * 41, " leading-space", "trailing-space ", ""])
async def test_an_idempotency_key_over_40_characters_or_padded_is_refused_naming_the_header(
    client: httpx.AsyncClient, cbpii_headers: Headers, debtor: Debtor, contract: Contract, key: str
) -> None:
    headers = cbpii_headers(**JSON, **{"x-idempotency-key": key})

    response = await client.post(CONSENTS, json=consent_body(debtor), headers=headers)

    assert response.status_code == 400, response.text
    contract.check(response)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == ("U006", "x-idempotency-key")


@pytest.mark.parametrize(
    ("debtor_account", "code", "path"),
    [
        ({"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "1234"}, "U002", "Identification"),
        ({"SchemeName": "UK.OBIE.IBAN", "Identification": "GB00NOTANIBAN0000000000"}, "U002", "Identification"),
        ({"SchemeName": "UK.OBIE.PAN", "Identification": "4111111111111111"}, "U002", "SchemeName"),
        ({"SchemeName": "UK.OBIE.SortCodeAccountNumber"}, "U004", "Identification"),
        ({"Identification": "04004000000019"}, "U004", "SchemeName"),
        ({"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "x" * 257}, "U002", "Identification"),
        (
            {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "04004000000019", "Name": "x" * 351},
            "U002",
            "Name",
        ),
        (
            {
                "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                "Identification": "04004000000019",
                "SecondaryIdentification": "roll-1",
            },
            "U002",
            "SecondaryIdentification",
        ),
        (
            {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "04004000000019", "Colour": "red"},
            "U005",
            "Colour",
        ),
    ],
)
async def test_a_bad_debtor_account_is_400_naming_the_field(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    contract: Contract,
    debtor_account: dict[str, str],
    code: str,
    path: str,
) -> None:
    body = {"Data": {"DebtorAccount": debtor_account}}

    response = await client.post(CONSENTS, json=body, headers=cbpii_headers(**JSON))

    assert response.status_code == 400, response.text
    # Some of these bodies are valid for the spec (it leaves schemes and lengths to the ASPSP).
    contract.check(response, request_conforms=False)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == (code, f"Data.DebtorAccount.{path}")


@pytest.mark.parametrize(
    ("expiry", "code"),
    [
        ((datetime.now(UTC) - timedelta(minutes=1)).isoformat(), "U003"),  # in the past
        ("2030-01-01T00:00:00", "U003"),  # no time zone
        ("next week", "U003"),
        ("2100-01-01T00:00:00+00:00", "U003"),  # beyond the calendar the bank keeps
        (1893456000, "U002"),  # an epoch number is no ISO 8601 date-time
    ],
    # Stable ids: parallel workers (pytest-xdist) must collect the same tests.
    ids=["past", "no-zone", "words", "beyond-calendar", "epoch-number"],
)
async def test_an_expiry_in_the_past_or_malformed_is_400_naming_it(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    debtor: Debtor,
    contract: Contract,
    expiry: str | int,
    code: str,
) -> None:
    response = await client.post(
        CONSENTS, json=consent_body(debtor, ExpirationDateTime=expiry), headers=cbpii_headers(**JSON)
    )

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=False)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == (code, "Data.ExpirationDateTime")


async def test_a_nul_byte_anywhere_in_the_body_is_refused(
    client: httpx.AsyncClient, cbpii_headers: Headers, debtor: Debtor, contract: Contract
) -> None:
    body = consent_body(debtor)
    body["Data"]["DebtorAccount"]["Name"] = "Ada\x00Lovelace"

    response = await client.post(CONSENTS, content=json.dumps(body), headers=cbpii_headers(**JSON))

    assert response.status_code == 400, response.text
    contract.check(response)
    error = only_error(response)
    assert error["ErrorCode"] == "U002"
    assert "control characters" in error["Message"]


async def test_a_megabyte_field_is_400_naming_it_never_a_500(
    client: httpx.AsyncClient, cbpii_headers: Headers, debtor: Debtor, contract: Contract
) -> None:
    body = consent_body(debtor)
    body["Data"]["DebtorAccount"]["Name"] = "x" * 1_048_576

    response = await client.post(CONSENTS, json=body, headers=cbpii_headers(**JSON))

    assert response.status_code == 400, response.text[:300]
    contract.check(response, request_conforms=False)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == ("U002", "Data.DebtorAccount.Name")
    assert len(response.content) < 2_000  # the value is not played back


async def test_missing_data_or_a_body_that_is_not_json_is_400(
    client: httpx.AsyncClient, cbpii_headers: Headers, contract: Contract
) -> None:
    missing = await client.post(CONSENTS, json={"Risk": {}}, headers=cbpii_headers(**JSON))
    assert missing.status_code == 400
    contract.check(missing, request_conforms=False)
    assert sorted((e["ErrorCode"], e.get("Path")) for e in missing.json()["Errors"]) == [
        ("U004", "Data"),
        ("U005", "Risk"),
    ]

    broken = await client.post(CONSENTS, content=b'{"Data": ', headers=cbpii_headers(**JSON))
    assert broken.status_code == 400
    contract.check(broken, request_conforms=False)
    assert only_error(broken)["ErrorCode"] == "U010"

    as_form = await client.post(CONSENTS, content=b"Data=1", headers=cbpii_headers(**{"content-type": "text/plain"}))
    assert as_form.status_code == 415
    contract.check(as_form, request_conforms=False)


async def test_only_a_client_credentials_token_with_the_fundsconfirmations_scope_creates_consents(
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    consent_token: Headers,
    debtor: Debtor,
    contract: Contract,
) -> None:
    for headers in (
        tpp_headers(TPP, scopes=("accounts",)),  # another API's scope
        consent_token("fcc-1"),  # a PSU's token is not the TPP's own
    ):
        response = await client.post(CONSENTS, json=consent_body(debtor), headers={**headers, **JSON})
        assert response.status_code == 403, response.text
        contract.check(response)
        assert only_error(response)["ErrorCode"] == "AG01"
