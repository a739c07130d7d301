"""Rate limits, metrics, CORS and interaction ids at the gateway, over real TLS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import metrics_app
from gateway.metrics import GatewayMetrics
from gateway.ratelimit import RateClass, RateLimiter
from tests.auth_server.oauth.conftest import Pki, pki, shared_database_url
from tests.gateway.harness import RunningGateway, serving_gateway

__all__ = ["pki", "shared_database_url"]

WEB_APP = "https://app.bank.example"


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki
) -> AsyncIterator[RunningGateway]:
    limiter = RateLimiter("memory://", {RateClass.LOGIN: "2/minute", RateClass.READS: "3/minute"})
    async with serving_gateway(
        tmp_path_factory.mktemp("gateway-hygiene"),
        shared_database_url,
        pki,
        rate_limiter=limiter,
        cors_allowed_origins=[WEB_APP],
    ) as running:
        yield running


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_login_posts_are_limited_per_ip_with_retry_after(gateway: RunningGateway) -> None:
    http = gateway.http()
    statuses = [(await http.post("/login", data={"username": "nobody", "password": "x"})).status_code for _ in range(3)]
    assert statuses[:2] != [429, 429] and statuses[2] == 429
    refused = await http.post("/login", data={"username": "nobody", "password": "x"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_api_reads_are_limited_per_customer(gateway: RunningGateway) -> None:
    app = await gateway.client_id(first_party=True)
    customer = str(uuid.uuid4())
    token = await gateway.token(app, subject=customer)
    http = gateway.http()
    auth = {"authorization": f"Bearer {token}"}
    statuses = [(await http.get("/api/v1/accounts", headers=auth)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    other = await gateway.token(app, subject=str(uuid.uuid4()))
    # Same app, same IP, another customer: a budget of their own.
    assert (await http.get("/api/v1/accounts", headers={"authorization": f"Bearer {other}"})).status_code == 200

    metrics = await http.get("/metrics")
    assert metrics.status_code == 200
    hits = samples(metrics.text, "obank_gateway_rate_limit_hits_total")
    assert hits[(("class", "reads"),)] >= 1
    requests = samples(metrics.text, "obank_gateway_requests_total")
    assert requests[(("method", "GET"), ("route", "accounts.list"), ("status", "200"))] >= 3


async def test_token_rejections_are_counted_by_reason(gateway: RunningGateway) -> None:
    http = gateway.http()
    await http.get("/api/v1/transfers/" + str(uuid.uuid4()), headers={"authorization": "Bearer a.b.c"})
    rejections = samples((await http.get("/metrics")).text, "obank_gateway_token_rejections_total")
    assert rejections[(("reason", "malformed"),)] >= 1


async def test_cors_admits_only_the_configured_web_origin(gateway: RunningGateway) -> None:
    http = gateway.http()
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "authorization"}
    allowed = await http.options("/api/v1/transfers", headers={"origin": WEB_APP, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == WEB_APP
    refused = await http.options("/api/v1/transfers", headers={"origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    # Open Banking and admin routes are for servers, never browsers.
    admin = await http.options("/admin/v1/customers", headers={"origin": WEB_APP, **preflight})
    assert "access-control-allow-origin" not in admin.headers


async def test_the_interaction_id_is_kept_when_valid_and_replaced_when_not(gateway: RunningGateway) -> None:
    http = gateway.http()
    mine = str(uuid.uuid4())
    assert (await http.get("/healthz", headers={"x-fapi-interaction-id": mine})).headers[
        "x-fapi-interaction-id"
    ] == mine
    injected = await http.get("/api/v1/accounts", headers={"x-fapi-interaction-id": "abc forged=1"})
    replaced = injected.headers["x-fapi-interaction-id"]
    assert replaced != "abc forged=1" and uuid.UUID(replaced)
    assert injected.json()["correlation_id"] == replaced


@pytest.mark.parametrize(("client", "status"), [("127.0.0.1", 200), ("10.1.2.3", 404), ("203.0.113.9", 404)])
async def test_metrics_are_served_only_to_the_configured_networks(client: str, status: int) -> None:
    app = metrics_app(GatewayMetrics(), ["127.0.0.0/8"])
    transport = httpx.ASGITransport(app=app, client=(client, 50_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        response = await http.get("/metrics")
    assert response.status_code == status
    assert ("obank_gateway_requests_total" in response.text) is (status == 200)
