"""Every family answers unknown paths, wrong methods and invalid requests in its own error format, through the
gateway over TLS: problem details on /api/v1, /admin/v1 and the gateway's own paths (405 with `Allow`), RFC 6749
errors on the OAuth endpoints and /.well-known, OBErrorResponse1 under /open-banking."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from auth_server.oauth.tokens.models import SubjectKind
from gateway.policy import METHOD_NOT_ALLOWED, UNMATCHED, policy_for
from obank.problems import PROBLEM_MEDIA_TYPE
from tests.auth_server.oauth.conftest import Pki, pki, shared_database_url
from tests.gateway.harness import RunningGateway, serving_gateway

__all__ = ["pki", "shared_database_url"]


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki
) -> AsyncIterator[RunningGateway]:
    async with serving_gateway(tmp_path_factory.mktemp("gateway-errors"), shared_database_url, pki) as running:
        yield running


@pytest.fixture(scope="module")
async def customer(gateway: RunningGateway) -> dict[str, str]:
    client = await gateway.client_id(first_party=True)
    token = await gateway.token(client, subject=str(uuid.uuid4()))
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def staff(gateway: RunningGateway) -> dict[str, str]:
    tpp = await gateway.client_id(first_party=False)
    token = await gateway.token(tpp, subject="staff-1", kind=SubjectKind.STAFF, cert="tpp", roles=["admin"])
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def tpp(gateway: RunningGateway) -> dict[str, str]:
    client = await gateway.client_id(first_party=False)
    token = await gateway.token(client, subject=client, kind=SubjectKind.CLIENT, cert="tpp", scopes=("accounts",))
    return {"authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str, allow: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE, response.text
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["correlation_id"], body
    assert response.headers.get("allow") == allow


def assert_oauth_error(response: httpx.Response, status: int, allow: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error", "error_description"}, response.text
    assert response.headers.get("allow") == allow


def assert_ob_error(response: httpx.Response, status: int, allow: str | None = None) -> None:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["Code"].startswith(str(status)) and body["Errors"][0]["ErrorCode"] and body["Id"], body
    assert response.headers.get("allow") == allow


def test_a_protected_path_asked_with_another_method_is_405_before_any_token() -> None:
    assert policy_for("PUT", "/api/v1/accounts") is METHOD_NOT_ALLOWED
    assert policy_for("OPTIONS", "/api/v1/accounts") is UNMATCHED  # preflights are CORS's, never 405
    assert policy_for("GET", "/api/v1/nothing") is UNMATCHED
    assert policy_for("GET", "/api/v1/accounts").needs_token


async def test_first_party_unknown_paths_and_methods(gateway: RunningGateway, customer: dict[str, str]) -> None:
    http = gateway.http()
    assert_problem(await http.get("/api/v1/nothing", headers=customer), 404, "not_found")
    assert_problem(await http.put("/api/v1/accounts"), 405, "method_not_allowed", "GET")
    assert_problem(await http.put("/api/v1/sessions", headers=customer), 405, "method_not_allowed", "DELETE, GET")
    assert_problem(await http.post("/api/v1/notification-preferences"), 405, "method_not_allowed", "GET, PUT")


async def test_first_party_validation_is_a_422_problem_in_every_app(
    gateway: RunningGateway, customer: dict[str, str]
) -> None:
    http = gateway.http()
    assert_problem(await http.get("/api/v1/accounts/not-an-id", headers=customer), 422, "invalid_request")
    assert_problem(await http.get("/api/v1/notifications?limit=0", headers=customer), 422, "invalid_request")
    assert_problem(await http.delete("/api/v1/sessions/not-an-id", headers=customer), 422, "invalid_request")
    assert_problem(await http.delete("/api/v1/consents/not-an-id", headers=customer), 422, "invalid_request")


async def test_admin_unknown_paths_methods_and_validation_in_every_app(
    gateway: RunningGateway, staff: dict[str, str]
) -> None:
    http = gateway.http("tpp")
    assert_problem(await http.get("/admin/v1/nothing", headers=staff), 404, "not_found")
    assert_problem(await http.put("/admin/v1/customers", headers=staff), 405, "method_not_allowed", "GET, POST")
    assert_problem(await http.get("/admin/v1/oauth-clients/x/nothing", headers=staff), 404, "not_found")
    assert_problem(await http.patch("/admin/v1/identities", headers=staff), 405, "method_not_allowed", "GET")
    assert_problem(await http.delete("/admin/v1/audit/timeline", headers=staff), 405, "method_not_allowed", "GET")
    refused = await http.post("/admin/v1/oauth-clients", headers=staff, json={"client_name": 1})
    assert_problem(refused, 422, "invalid_request")
    assert_problem(await http.get("/admin/v1/oauth-clients/nobody", headers=staff), 404, "not_found")


async def test_oauth_endpoints_answer_rfc_6749_errors(gateway: RunningGateway) -> None:
    http = gateway.http()
    assert_oauth_error(await http.get("/oauth2/token"), 405, "POST")
    assert_oauth_error(await http.get("/oauth2/nothing"), 404)
    assert_oauth_error(await http.get("/.well-known/nothing"), 404)
    assert_oauth_error(await http.post("/.well-known/openid-configuration"), 405, "GET")
    # The gateway's own refusals there too: a body over the limit, a certificate header from a client.
    too_large = await http.post("/oauth2/token", content=b"x" * (gateway.platform.settings.max_request_body_bytes + 1))
    assert_oauth_error(too_large, 413)
    assert too_large.json()["error"] == "invalid_request"
    forged = await http.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, headers={"client-cert": ":AA==:"}
    )
    assert_oauth_error(forged, 400)


async def test_open_banking_answers_ob_errors(gateway: RunningGateway, tpp: dict[str, str]) -> None:
    http = gateway.http("tpp")
    assert_ob_error(await http.post("/open-banking/discovery"), 405, "GET")
    assert_ob_error(await http.get("/open-banking/v4.0/nothing"), 404)
    # Two routes share the path; `Allow` names both (Starlette's own names the first only).
    subscriptions = "/open-banking/v4.0/event-subscriptions"
    assert_ob_error(await http.delete(subscriptions, headers=tpp), 405, "GET, POST")


async def test_the_gateways_own_paths_answer_problems(gateway: RunningGateway) -> None:
    http = gateway.http()
    assert_problem(await http.get("/nothing-here"), 404, "not_found")
    assert_problem(await http.post("/healthz"), 405, "method_not_allowed", "GET")
