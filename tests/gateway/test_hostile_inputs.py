"""Control characters and far dates get each family's 4xx and change nothing, through the gateway over TLS."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from auth_server.oauth.tokens.models import SubjectKind
from bank.demo import seed_and_write_demo
from tests.auth_server.oauth.conftest import Pki, pki, shared_database_url
from tests.gateway.harness import RunningGateway, serving_gateway

__all__ = ["pki", "shared_database_url"]


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki
) -> AsyncIterator[RunningGateway]:
    async with serving_gateway(tmp_path_factory.mktemp("gateway-hostile"), shared_database_url, pki) as running:
        yield running


@pytest.fixture(scope="module")
async def demo(gateway: RunningGateway) -> dict[str, Any]:
    written = await seed_and_write_demo(gateway.platform, gateway.issuer)
    loaded: dict[str, Any] = json.loads(written.read_text())
    return loaded


@pytest.fixture(scope="module")
async def customer(gateway: RunningGateway, demo: dict[str, Any]) -> dict[str, str]:
    client = await gateway.client_id(first_party=True)
    token = await gateway.token(client, subject=demo["customers"][0]["customer_id"])
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def staff(gateway: RunningGateway) -> dict[str, str]:
    tpp = await gateway.client_id(first_party=False)
    token = await gateway.token(tpp, subject="staff-1", kind=SubjectKind.STAFF, cert="tpp", roles=["admin"])
    return {"authorization": f"Bearer {token}"}


def _oauth_invalid_request(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("field", ["state", "nonce", "client_id"])
async def test_par_refuses_a_nul_byte(gateway: RunningGateway, field: str) -> None:
    form = {"client_id": "obank-app", "response_type": "code", "redirect_uri": "https://app.example/cb"}
    response = await gateway.http().post("/oauth2/par", data=form | {field: "a\x00b"})
    _oauth_invalid_request(response)


async def test_authorize_refuses_a_nul_byte(gateway: RunningGateway) -> None:
    _oauth_invalid_request(await gateway.http().get("/oauth2/authorize?client_id=a%00b&request_uri=x"))


@pytest.mark.parametrize("username", ["a\x00b@x.example", "a\x1bb@x.example"])
async def test_sign_in_refuses_control_characters_with_a_form_error(gateway: RunningGateway, username: str) -> None:
    response = await gateway.http().post("/login", data={"username": username, "password": "pw"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")


def _gbp_accounts(demo: dict[str, Any]) -> list[dict[str, Any]]:
    return [account for account in demo["customers"][0]["accounts"] if account["currency"] == "GBP"]


async def _booked(gateway: RunningGateway, headers: dict[str, str], account_id: str) -> int:
    response = await gateway.http().get(f"/api/v1/accounts/{account_id}/balances", headers=headers)
    assert response.status_code == 200, response.text
    booked: int = response.json()["booked_minor"]
    return booked


def _problem(response: Any, status: int = 422) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_transfer_with_a_nul_byte_is_refused_and_moves_nothing(
    gateway: RunningGateway, demo: dict[str, Any], customer: dict[str, str]
) -> None:
    source, destination = _gbp_accounts(demo)[:2]
    before = await _booked(gateway, customer, source["id"])
    transfer = {
        "source_account_id": source["id"],
        "destination_account_id": destination["id"],
        "amount_minor": 100,
        "currency": "GBP",
        "description": "pay\u0000ment",
    }
    headers = customer | {"idempotency-key": str(uuid.uuid4())}
    _problem(await gateway.http().post("/api/v1/transfers", headers=headers, json=transfer))
    assert await _booked(gateway, customer, source["id"]) == before
    # A newline is a legitimate character of a description, and the same transfer then goes through.
    headers = customer | {"idempotency-key": str(uuid.uuid4())}
    accepted = await gateway.http().post("/api/v1/transfers", headers=headers, json=transfer | {"description": "a\nb"})
    assert accepted.status_code == 201, accepted.text


async def test_admin_reasons_with_a_nul_byte_are_refused(
    gateway: RunningGateway, demo: dict[str, Any], staff: dict[str, str]
) -> None:
    account = _gbp_accounts(demo)[0]["id"]
    http = gateway.http("tpp")
    frozen = await http.post(f"/admin/v1/accounts/{account}/freeze", headers=staff, json={"reason": "x\u0000y"})
    _problem(frozen)
    deposit = {"amount_minor": 100, "currency": "GBP", "reason": "x\u0000y"}
    headers = staff | {"idempotency-key": str(uuid.uuid4())}
    _problem(await http.post(f"/admin/v1/accounts/{account}/deposits", headers=headers, json=deposit))
    detail = await http.get(f"/admin/v1/accounts/{account}", headers=staff)
    assert detail.status_code == 200, detail.text
    assert detail.json()["status"] == "ACTIVE"


@pytest.mark.parametrize(
    "query",
    [
        "to_date=9999-12-31",
        "from_date=0001-01-01",
        "from_date=2026-01-01&to_date=2100-01-01",
        "month=9999-12",
        "description=%00",
        "cursor=a%00b",
    ],
)
async def test_transaction_filters_out_of_reach_are_refused(
    gateway: RunningGateway, demo: dict[str, Any], customer: dict[str, str], query: str
) -> None:
    account = _gbp_accounts(demo)[0]["id"]
    response = await gateway.http().get(f"/api/v1/accounts/{account}/transactions?{query}", headers=customer)
    _problem(response)


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00"])
async def test_balances_at_a_far_moment_are_refused(
    gateway: RunningGateway, demo: dict[str, Any], customer: dict[str, str], moment: str
) -> None:
    account = _gbp_accounts(demo)[0]["id"]
    response = await gateway.http().get(
        f"/api/v1/accounts/{account}/balances", params={"as_of": moment}, headers=customer
    )
    _problem(response)


async def test_the_internal_facade_is_not_reachable_through_the_gateway(
    gateway: RunningGateway, demo: dict[str, Any], customer: dict[str, str]
) -> None:
    customer_id = demo["customers"][0]["customer_id"]
    response = await gateway.http().get(f"/internal/v1/customers/{customer_id}/accounts", headers=customer)
    assert response.status_code == 404
