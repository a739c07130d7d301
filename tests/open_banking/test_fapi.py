"""The x-fapi headers: the interaction id played back or made, and what the TPP tells of the PSU, checked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import Contract

CONSENTS = "/open-banking/v4.0/aisp/account-access-consents"
BODY = b'{"Data": {"Permissions": ["ReadAccountsBasic"]}, "Risk": {}}'


async def test_what_the_tpp_tells_of_the_psu_reaches_the_service_typed(
    stand_in_client: httpx.AsyncClient, tpp_headers: TppHeaders
) -> None:
    interaction_id = str(uuid.uuid4())
    headers = tpp_headers(
        **{
            "content-type": "application/json",
            "x-fapi-interaction-id": interaction_id,
            "x-fapi-auth-date": "Sun, 10 Sep 2017 19:43:31 GMT",
            "x-fapi-customer-ip-address": "2001:DB8::1",
            "x-customer-user-agent": "Mozilla/5.0 (PSU browser)",
        }
    )

    response = await stand_in_client.post(CONSENTS, headers=headers, content=BODY)

    assert response.status_code == 201, response.text
    fapi = response.json()["fapi"]
    assert fapi["interaction_id"] == interaction_id
    assert datetime.fromisoformat(fapi["auth_date"]) == datetime(2017, 9, 10, 19, 43, 31, tzinfo=UTC)
    assert fapi["customer_ip_address"] == "2001:db8::1"
    assert fapi["customer_user_agent"] == "Mozilla/5.0 (PSU browser)"


async def test_without_them_the_psu_is_not_present(stand_in_client: httpx.AsyncClient, tpp_headers: TppHeaders) -> None:
    response = await stand_in_client.post(
        CONSENTS, headers=tpp_headers(**{"content-type": "application/json"}), content=BODY
    )

    fapi = response.json()["fapi"]
    assert (fapi["auth_date"], fapi["customer_ip_address"], fapi["customer_user_agent"]) == (None, None, None)
    assert uuid.UUID(fapi["interaction_id"])


@pytest.mark.parametrize(
    ("header", "value", "conforms"),
    [
        ("x-fapi-auth-date", "yesterday", False),
        ("x-fapi-auth-date", "2017-09-10T19:43:31Z", False),
        ("x-fapi-auth-date", "Sun, 31 Feb 2017 19:43:31 GMT", True),  # the spec's pattern admits it; no such day
        ("x-fapi-customer-ip-address", "104.25.212", True),
        ("x-fapi-customer-ip-address", "localhost", True),
    ],
)
async def test_an_invalid_fapi_header_is_400_naming_it(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract, header: str, value: str, conforms: bool
) -> None:
    response = await client.get(CONSENTS + "/aac-1", headers=tpp_headers(**{header: value}))

    assert response.status_code == 400
    contract.check(response, request_conforms=conforms)
    [error] = response.json()["Errors"]
    assert (error["ErrorCode"], error["Path"]) == ("U006", header)
    assert error["Message"].startswith("UK.OBIE.Header.Invalid - ")


async def test_the_interaction_id_is_played_back_when_a_uuid_and_made_otherwise(
    client: httpx.AsyncClient, tpp_headers: TppHeaders
) -> None:
    mine = str(uuid.uuid4())
    played_back = await client.get(CONSENTS + "/aac-1", headers=tpp_headers(**{"x-fapi-interaction-id": mine}))
    assert played_back.headers["x-fapi-interaction-id"] == mine
    assert played_back.json()["Id"] == mine

    for sent in ("not-a-uuid\r", "42", None):
        headers = tpp_headers() if sent is None else tpp_headers(**{"x-fapi-interaction-id": sent.strip()})
        response = await client.get(CONSENTS + "/aac-1", headers=headers)
        made = response.headers["x-fapi-interaction-id"]
        assert uuid.UUID(made) and made != sent
        assert response.json()["Id"] == made
