"""POST /account-access-consents: a TPP asks for a consent, once per idempotency key, every refusal naming its field."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from audit.verify import decrypt_record
from audit.writer import ip_address_hash
from core_banking.facade import InProcessCoreBanking
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.open_banking.aisp.conftest import AISP, PUBLIC, error_of, only_error
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import Contract

CONSENTS = AISP + "/account-access-consents"
JSON = {"content-type": "application/json"}


def body(*permissions: str, **data: Any) -> dict[str, Any]:
    return {"Data": {"Permissions": list(permissions or ("ReadAccountsDetail", "ReadBalances")), **data}, "Risk": {}}


def future(days: int = 90) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="seconds")


async def test_a_tpp_creates_a_consent_as_the_spec_writes_it(
    client: httpx.AsyncClient, core_banking: InProcessCoreBanking, tpp_headers: TppHeaders, contract: Contract
) -> None:
    interaction_id = str(uuid.uuid4())
    request = body(
        "ReadAccountsDetail",
        "ReadTransactionsDetail",
        "ReadTransactionsCredits",
        ExpirationDateTime="2099-01-01T00:00:00+01:00",
        TransactionFromDateTime="2026-01-01T00:00:00Z",
        TransactionToDateTime="2026-12-31T23:59:59Z",
    )

    response = await client.post(
        CONSENTS, headers=tpp_headers(**JSON, **{"x-fapi-interaction-id": interaction_id}), json=request
    )

    assert response.status_code == 201, response.text
    contract.check(response)
    assert response.headers["x-fapi-interaction-id"] == interaction_id
    answer = response.json()
    data = answer["Data"]
    assert data["ConsentId"].startswith("aac-")
    assert data["Status"] == "AWAU"
    assert data["Permissions"] == ["ReadAccountsDetail", "ReadTransactionsDetail", "ReadTransactionsCredits"]
    assert datetime.fromisoformat(data["ExpirationDateTime"]) == datetime(2098, 12, 31, 23, tzinfo=UTC)
    assert datetime.fromisoformat(data["TransactionFromDateTime"]) == datetime(2026, 1, 1, tzinfo=UTC)
    assert datetime.fromisoformat(data["TransactionToDateTime"]) == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert data["CreationDateTime"] == data["StatusUpdateDateTime"]
    assert answer["Risk"] == {} and answer["Meta"] == {}
    assert answer["Links"] == {"Self": f"{PUBLIC}{CONSENTS}/{data['ConsentId']}"}

    stored = await core_banking.get_consent(data["ConsentId"])
    assert stored.client_id == "tpp-1"
    read = await client.get(f"{CONSENTS}/{data['ConsentId']}", headers=tpp_headers())
    assert read.json()["Data"] == data


async def test_the_same_key_and_body_get_the_same_consent_and_another_body_is_refused(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    key = {"x-idempotency-key": "order-" + uuid.uuid4().hex[:20]}
    first = await client.post(CONSENTS, headers=tpp_headers(**JSON, **key), json=body(ExpirationDateTime=future()))
    assert first.status_code == 201, first.text
    consent_id = first.json()["Data"]["ConsentId"]

    again = await client.post(CONSENTS, headers=tpp_headers(**JSON, **key), content=first.request.content)
    assert again.status_code == 201, again.text  # R/W API Profile, "Idempotency": 201 with the resource as it is
    contract.check(again)
    assert again.json()["Data"] == first.json()["Data"]
    expiry = datetime.fromisoformat(json.loads(first.request.content)["Data"]["ExpirationDateTime"])
    elsewhere_on_earth = expiry.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    same_instant = await client.post(
        CONSENTS, headers=tpp_headers(**JSON, **key), json=body(ExpirationDateTime=elsewhere_on_earth)
    )
    assert same_instant.status_code == 201, same_instant.text  # the same request, its date written otherwise
    assert same_instant.json()["Data"]["ConsentId"] == consent_id

    changed = await client.post(CONSENTS, headers=tpp_headers(**JSON, **key), json=body("ReadAccountsBasic"))
    assert changed.status_code == 400
    contract.check(changed)
    assert error_of(changed) == ("U006", "x-idempotency-key")
    assert only_error(changed)["Message"].startswith("UK.OBIE.Header.Invalid - ")
    unchanged = await client.get(f"{CONSENTS}/{consent_id}", headers=tpp_headers())
    assert unchanged.json()["Data"]["Permissions"] == ["ReadAccountsDetail", "ReadBalances"]

    elsewhere = await client.post(CONSENTS, headers=tpp_headers("tpp-2", **JSON, **key), json=body())
    assert elsewhere.status_code == 201  # keys belong to the TPP that used them
    assert elsewhere.json()["Data"]["ConsentId"] != consent_id

    without = await client.post(CONSENTS, headers=tpp_headers(**JSON), json=body(ExpirationDateTime=future()))
    assert without.json()["Data"]["ConsentId"] != consent_id  # no key: a new consent each time


@pytest.mark.parametrize(
    ("key", "conforms"),
    [("k" * 41, False), (" leading-blank", True), ("trailing-blank ", True)],
)
async def test_an_idempotency_key_the_profile_refuses_is_400_naming_the_header(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract, key: str, conforms: bool
) -> None:
    response = await client.post(CONSENTS, headers=tpp_headers(**JSON, **{"x-idempotency-key": key}), json=body())

    assert response.status_code == 400
    contract.check(response, request_conforms=conforms)  # the AISP spec declares no x-idempotency-key
    assert error_of(response) == ("U006", "x-idempotency-key")


@pytest.mark.parametrize(
    ("permissions", "path", "conforms"),
    [
        (["ReadAccountsBasic", "ReadEverything"], "Data.Permissions[1]", False),
        ([], "Data.Permissions", False),
        (["ReadOffers"], "Data.Permissions", True),  # in the spec; this bank serves no offers
        (["ReadTransactionsBasic"], "Data.Permissions", True),  # without Credits or Debits
        (["ReadTransactionsCredits"], "Data.Permissions", True),  # without Basic or Detail
        (["ReadPAN", "ReadAccountsBasic"], "Data.Permissions", True),  # PAN needs a Detail permission
        (["ReadBalances", "ReadBalances"], "Data.Permissions", True),
    ],
)
async def test_permissions_the_spec_refuses_are_400_naming_the_field(
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    contract: Contract,
    permissions: list[str],
    path: str,
    conforms: bool,
) -> None:
    request = {"Data": {"Permissions": permissions}, "Risk": {}}

    response = await client.post(CONSENTS, headers=tpp_headers(**JSON), json=request)

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=conforms)
    assert error_of(response) == ("U002", path)
    assert "ReadEverything" not in response.text  # what was sent is not echoed


@pytest.mark.parametrize(
    ("data", "code", "path", "conforms"),
    [
        ({"ExpirationDateTime": "2020-01-01T00:00:00Z"}, "U003", "Data.ExpirationDateTime", True),
        ({"ExpirationDateTime": "next week"}, "U003", "Data.ExpirationDateTime", False),
        ({"ExpirationDateTime": "2099-02-30T00:00:00Z"}, "U003", "Data.ExpirationDateTime", False),
        ({"ExpirationDateTime": "2099-01-01T00:00:00"}, "U003", "Data.ExpirationDateTime", False),  # no zone
        ({"ExpirationDateTime": "9999-12-31T23:59:59Z"}, "U003", "Data.ExpirationDateTime", True),
        ({"TransactionFromDateTime": "yesterday"}, "U003", "Data.TransactionFromDateTime", False),
        (
            {"TransactionFromDateTime": "2026-06-01T00:00:00Z", "TransactionToDateTime": "2026-01-01T00:00:00Z"},
            "U003",
            "Data.TransactionToDateTime",
            True,
        ),
    ],
)
async def test_dates_the_spec_refuses_are_400_naming_the_field(
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    contract: Contract,
    data: dict[str, str],
    code: str,
    path: str,
    conforms: bool,
) -> None:
    response = await client.post(CONSENTS, headers=tpp_headers(**JSON), json=body(**data))

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=conforms)
    assert error_of(response) == (code, path)
    assert only_error(response)["Message"].startswith("UK.OBIE.Field.InvalidDate - ")


@pytest.mark.parametrize(
    ("request_body", "errors"),
    [
        ({"Data": {"Permissions": ["ReadBalances"]}}, [("U004", "Risk")]),
        ({"Risk": {}}, [("U004", "Data")]),
        (
            {"Data": {"Permissions": ["ReadBalances"]}, "Risk": {"PaymentContextCode": "x"}},
            [("U005", "Risk.PaymentContextCode")],
        ),
        (
            {"Data": {"Permissions": ["ReadBalances"], "ExpirationDatetime": "x"}, "Risk": {}},
            [("U005", "Data.ExpirationDatetime")],
        ),
        ([], [("U002", None)]),
    ],
)
async def test_a_body_of_the_wrong_shape_names_each_field(
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    contract: Contract,
    request_body: Any,
    errors: list[tuple[str, str | None]],
) -> None:
    response = await client.post(CONSENTS, headers=tpp_headers(**JSON), json=request_body)

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=False)
    assert [(error["ErrorCode"], error.get("Path")) for error in response.json()["Errors"]] == errors


async def test_a_nul_byte_anywhere_in_the_body_is_refused(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    raw = b'{"Data": {"Permissions": ["ReadBalances\\u0000"]}, "Risk": {}}'

    response = await client.post(CONSENTS, headers=tpp_headers(**JSON), content=raw)

    assert response.status_code == 400
    contract.check(response, request_conforms=False)
    [error] = response.json()["Errors"]
    assert error["ErrorCode"] == "U002" and "control characters" in error["Message"]


async def test_a_one_megabyte_body_is_refused_in_ob_format_never_a_500(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    huge = json.dumps(body(Note="x" * 1_048_576)).encode()

    response = await client.post(CONSENTS, headers=tpp_headers(**JSON), content=huge)

    assert response.status_code == 400
    contract.check(response, request_conforms=False)
    assert error_of(response) == ("U005", "Data.Note")
    assert "xxxx" not in response.text


async def test_only_the_tpps_client_credentials_token_creates_consents(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    for headers in (
        tpp_headers(kind="customer", subject=str(uuid.uuid4()), **JSON),
        tpp_headers(scopes=("payments",), **JSON),
    ):
        response = await client.post(CONSENTS, headers=headers, json=body())
        assert response.status_code == 403, response.text
        contract.check(response)
        assert error_of(response)[0] == "AG01"


async def test_the_body_must_be_json(client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract) -> None:
    response = await client.post(
        CONSENTS, headers=tpp_headers(**{"content-type": "text/plain"}), content=json.dumps(body())
    )

    assert response.status_code == 415
    contract.check(response, request_conforms=False)
    assert error_of(response) == ("U006", "Content-Type")


async def test_the_psus_fapi_headers_are_recorded_on_the_audit_records_of_the_tpps_changes(
    client: httpx.AsyncClient, platform: Platform, tpp_headers: TppHeaders
) -> None:
    psu = {
        "x-fapi-auth-date": "Sun, 10 Sep 2017 19:43:31 GMT",
        "x-fapi-customer-ip-address": "198.51.100.23",
        "x-customer-user-agent": "Mozilla/5.0 (X11; Linux x86_64) PSU",
    }
    created = await client.post(CONSENTS, headers=tpp_headers(**JSON, **psu), json=body())
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    deleted = await client.delete(f"{CONSENTS}/{consent_id}", headers=tpp_headers(**psu))
    assert deleted.status_code == 204, deleted.text

    query = "SELECT action, record_id, ip_hash FROM audit.audit_records WHERE entity_id = :id ORDER BY sequence"
    async with unit_of_work(platform.sessions) as session:
        rows = (await session.execute(text(query), {"id": consent_id})).all()
        opened = [await decrypt_record(session, platform.keyring, row.record_id) for row in rows]
    assert [row.action for row in rows] == ["consent.created", "consent.revoked"]
    for row, changes in zip(rows, opened, strict=True):
        assert bytes(row.ip_hash) == ip_address_hash(platform.keyring, "198.51.100.23"), row.action
        assert changes.after is not None
        assert changes.after["psu"] == {
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) PSU",
            "auth_date": datetime(2017, 9, 10, 19, 43, 31, tzinfo=UTC).isoformat(),
        }, row.action
