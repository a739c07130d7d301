"""Media types: JSON in UTF-8 each way (R/W API Profile, "Request Headers"), else 406 or 415 naming the header."""

from __future__ import annotations

import httpx
import pytest

from open_banking.negotiation import accepts_json, is_json_body
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import Contract

CONSENTS = "/open-banking/v4.0/aisp/account-access-consents"
BODY = b'{"Data": {"Permissions": ["ReadAccountsBasic"]}, "Risk": {}}'


@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "application/xml",
        "application/jose+jwe",  # encrypted responses are not offered
        "application/json; charset=iso-8859-1",
        "application/json;q=0",
        "application/json;q=2",
        "text/*",
    ],
)
async def test_an_accept_header_without_json_is_406(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract, accept: str
) -> None:
    response = await client.get(CONSENTS + "/aac-1", headers=tpp_headers(accept=accept))

    assert response.status_code == 406
    contract.check(response)
    [error] = response.json()["Errors"]
    assert (error["ErrorCode"], error["Path"]) == ("U006", "Accept")
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "*/*",
        "application/*",
        "application/json; charset=UTF-8",
        "text/html, application/json;q=0.5",
    ],
)
async def test_an_accept_header_admitting_json_is_served(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract, accept: str
) -> None:
    response = await client.get(CONSENTS + "/aac-unknown", headers=tpp_headers(accept=accept))

    assert response.status_code == 400  # past negotiation: the consent is unknown
    contract.check(response)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/jose+jwe",
    ],
)
async def test_a_body_that_is_not_json_is_415(
    stand_in_client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    contract: Contract,
    content_type: str | None,
) -> None:
    headers = tpp_headers() if content_type is None else tpp_headers(**{"content-type": content_type})

    response = await stand_in_client.post(CONSENTS, headers=headers, content=BODY)

    assert response.status_code == 415
    contract.check(response, request_conforms=False)
    [error] = response.json()["Errors"]
    assert (error["ErrorCode"], error["Path"]) == ("U006", "Content-Type")


async def test_a_json_body_passes_negotiation(stand_in_client: httpx.AsyncClient, tpp_headers: TppHeaders) -> None:
    for content_type in ("application/json", "application/json; charset=utf-8", "Application/JSON"):
        response = await stand_in_client.post(
            CONSENTS, headers=tpp_headers(**{"content-type": content_type}), content=BODY
        )
        assert response.status_code == 201, (content_type, response.text)


async def test_an_unknown_path_stays_404_whatever_the_caller_accepts(
    client: httpx.AsyncClient, tpp_headers: TppHeaders
) -> None:
    response = await client.get("/open-banking/v4.0/aisp/cards", headers=tpp_headers(accept="text/html"))
    assert response.status_code == 404  # negotiated only once a route matched


def test_quality_values_and_charsets_are_read_as_rfc_9110_writes_them() -> None:
    assert accepts_json(None) and accepts_json("") and accepts_json("application/json;q=0.001")
    assert not accepts_json("application/json;q=0.0000") and not accepts_json("application/json;q=nan")
    assert is_json_body('application/json;charset="utf-8"') and not is_json_body("")
