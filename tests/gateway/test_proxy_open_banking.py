"""The proxy's own errors on /open-banking paths are OBErrorResponse1, as everything TPPs read there."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.types import Receive, Scope, Send

from gateway.proxy import HttpUpstream
from tests.gateway.test_proxy import serving
from tests.open_banking.contract import Contract
from tests.services import free_port

CONSENT = "/open-banking/v4.0/aisp/account-access-consents/aac-1"


async def slow_upstream(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(1)  # never answers within the proxy's timeout


@asynccontextmanager
async def proxy_to(upstream_url: str, timeout_s: float) -> AsyncIterator[httpx.AsyncClient]:
    proxy = HttpUpstream(upstream_url, timeout_s=timeout_s, max_body_bytes=65_536)
    try:
        async with serving(proxy) as proxy_url, httpx.AsyncClient(base_url=proxy_url, timeout=10) as client:
            yield client
    finally:
        await proxy.close()


async def test_an_unreachable_open_banking_upstream_is_502_in_ob_format() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    interaction_id = str(uuid.uuid4())
    async with proxy_to(dead, 5.0) as client:
        response = await client.get(
            CONSENT, headers={"x-fapi-interaction-id": interaction_id, "authorization": "Bearer t"}
        )

    assert response.status_code == 502
    Contract().check(response)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["Id"] == interaction_id == response.headers["x-fapi-interaction-id"]
    assert body["Code"] == "502 BadGateway"
    assert [error["ErrorCode"] for error in body["Errors"]] == ["U000"]
    assert dead.rsplit(":", 1)[1] not in response.text


async def test_a_slow_open_banking_upstream_is_504_in_ob_format() -> None:
    async with serving(slow_upstream) as url, proxy_to(url, 0.3) as client:
        response = await client.get(CONSENT, headers={"authorization": "Bearer t"})

    assert response.status_code == 504
    Contract().check(response)
    assert response.json()["Code"] == "504 GatewayTimeout"


async def test_other_paths_keep_their_problem_details() -> None:
    async with proxy_to(f"http://127.0.0.1:{free_port()}", 5.0) as client:
        response = await client.get("/api/v1/accounts")

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
