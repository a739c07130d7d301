"""Every failure under /open-banking is an OBErrorResponse1 with the profile's status and reason code."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import Contract

AISP = "/open-banking/v4.0/aisp"
CONSENTS = AISP + "/account-access-consents"
JSON_HEADERS = {"content-type": "application/json"}
VALID_BODY = {"Data": {"Permissions": ["ReadAccountsBasic"]}, "Risk": {}}


def errors_of(response: httpx.Response) -> list[tuple[str, str | None]]:
    return [(error["ErrorCode"], error.get("Path")) for error in response.json()["Errors"]]


@pytest.mark.parametrize(
    "path",
    [
        AISP + "/cards",  # not in the specification
        AISP + "/offers",  # in the specification, not served
        "/open-banking/v4.0/pisp/international-scheduled-payments",  # in the spec, not served
        "/open-banking/v3.1/aisp/accounts",  # a version not served
    ],
)
async def test_a_path_no_endpoint_serves_is_404_resource_not_found(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract, path: str
) -> None:
    response = await client.get(path, headers=tpp_headers())

    assert response.status_code == 404
    contract.check(response)
    assert errors_of(response) == [("U011", None)]
    assert response.json()["Code"] == "404 NotFound"


async def test_an_unsupported_method_is_405_naming_the_allowed_ones(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    response = await client.put(CONSENTS + "/aac-1", headers=tpp_headers(**JSON_HEADERS), json=VALID_BODY)

    assert response.status_code == 405
    contract.check(response, request_conforms=False)
    assert response.headers["allow"] == "DELETE, GET"
    assert errors_of(response) == [("NARR", None)]


async def test_a_body_that_is_not_json_is_400_invalid_format(
    stand_in_client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    for body in (b'{"Data": ', b"\xff\xfe", b"[1, 2"):
        response = await stand_in_client.post(CONSENTS, headers=tpp_headers(**JSON_HEADERS), content=body)
        assert response.status_code == 400, body
        contract.check(response, request_conforms=False)
        assert errors_of(response) == [("U010", None)]


async def test_each_invalid_field_is_named_with_its_json_path(
    stand_in_client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    body = {"Data": {"Permissions": ["ReadAccountsBasic", "ReadEverything"], "ExpirationDateTime": "soon"}}

    response = await stand_in_client.post(CONSENTS, headers=tpp_headers(**JSON_HEADERS), json=body)

    assert response.status_code == 400
    contract.check(response, request_conforms=False)
    assert sorted(errors_of(response)) == [
        ("U002", "Data.Permissions[1]"),
        ("U003", "Data.ExpirationDateTime"),
        ("U004", "Risk"),
    ]
    messages = " ".join(error["Message"] for error in response.json()["Errors"])
    assert "UK.OBIE.Field.Missing - " in messages and "UK.OBIE.Field.InvalidDate - " in messages
    assert "ReadEverything" not in messages  # what was sent is not echoed


async def test_an_unexpected_field_and_an_empty_list_are_refused(
    stand_in_client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    body = {"Data": {"Permissions": [], "Colour": "blue"}, "Risk": {}}

    response = await stand_in_client.post(CONSENTS, headers=tpp_headers(**JSON_HEADERS), json=body)

    assert response.status_code == 400
    contract.check(response, request_conforms=False)
    assert sorted(errors_of(response)) == [("U002", "Data.Permissions"), ("U005", "Data.Colour")]


async def test_a_huge_body_of_bad_fields_names_twenty_and_never_fails(
    stand_in_client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    body = {"Data": {"Permissions": ["Nope"] * 100_000}, "Risk": {}}  # about a megabyte
    content = json.dumps(body).encode()
    assert len(content) > 800_000

    response = await stand_in_client.post(CONSENTS, headers=tpp_headers(**JSON_HEADERS), content=content)

    assert response.status_code == 400
    contract.check(response, request_conforms=False)
    assert len(response.json()["Errors"]) == 20


@pytest.mark.parametrize("escaped", ["\\u0000", "\\u001b"])
async def test_a_control_character_in_the_body_is_400_in_ob_format(
    stand_in_client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract, escaped: str
) -> None:
    # Data admits members the spec does not name: the request conforms, and the control is still refused.
    body = '{"Data": {"Permissions": ["ReadAccountsBasic"], "Note": "a' + escaped + 'b"}, "Risk": {}}'

    response = await stand_in_client.post(CONSENTS, headers=tpp_headers(**JSON_HEADERS), content=body.encode())

    assert response.status_code == 400
    contract.check(response)
    [error] = response.json()["Errors"]
    assert error["ErrorCode"] == "U002"
    assert "control characters" in error["Message"] and error["Path"] == "Data.Note"  # the field named


async def test_a_control_character_in_the_query_is_400_in_ob_format(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    response = await client.get(CONSENTS + "/aac-1?note=%00", headers=tpp_headers())

    assert response.status_code == 400
    contract.check(response)
    assert errors_of(response) == [("U002", None)]


async def test_an_unexpected_failure_is_500_and_tells_nothing_of_it(
    stand_in_client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    interaction_id = str(uuid.uuid4())

    response = await stand_in_client.get(
        AISP + "/accounts", headers=tpp_headers(**{"x-fapi-interaction-id": interaction_id})
    )

    assert response.status_code == 500
    contract.check(response)
    assert errors_of(response) == [("U000", None)]
    assert response.json()["Id"] == interaction_id == response.headers["x-fapi-interaction-id"]
    for leak in ("4242", "secret", "RuntimeError", "Traceback"):
        assert leak not in response.text
