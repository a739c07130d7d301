"""A revoked grant, a replayed code and a reused refresh token stay refused across a kill -9 and a flushed Redis."""

from __future__ import annotations

import base64
import json
import ssl
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.gateway.processes import (
    Deployment,
    ObankProcess,
    Spec,
    deployment_with_test_keys,
    running,
    start_obank,
    wait_ready,
)
from tests.gateway.scenarios import authorize, redeem_code


@pytest.fixture
def deployment(tmp_path: Path, database_url: str) -> Deployment:
    return deployment_with_test_keys(tmp_path, database_url)


def _client(served: ObankProcess, deployment: Deployment) -> httpx.AsyncClient:
    verify = ssl.create_default_context(cafile=deployment.ca_file)
    return httpx.AsyncClient(base_url=served.url, verify=verify, timeout=15.0)


async def _customer_tokens(
    served: ObankProcess, deployment: Deployment, demo: dict[str, Any], customer: int, totp_step: int
) -> tuple[dict[str, Any], str, str]:
    """A fresh sign-in (a browser of its own) to the bank's own app: the tokens, and the code and verifier."""
    app = demo["clients"]["first_party"]
    async with _client(served, deployment) as browser:
        code, verifier = await authorize(
            browser,
            app,
            demo["customers"][customer],
            login_path="/login",
            scope="openid accounts payments",
            totp_step=totp_step,
        )
        response = await redeem_code(browser, app, code, verifier)
    assert response.status_code == 200, response.text
    return response.json(), code, verifier


async def _moves_money(client: httpx.AsyncClient, demo: dict[str, Any], customer: int, access_token: str) -> int:
    """The status of a small transfer between a demo customer's own accounts, made with `access_token`."""
    accounts = [account for account in demo["customers"][customer]["accounts"] if account["currency"] == "GBP"]
    response = await client.post(
        "/api/v1/transfers",
        headers={"authorization": f"Bearer {access_token}", "idempotency-key": str(uuid.uuid4())},
        json={
            "source_account_id": accounts[0]["id"],
            "destination_account_id": accounts[1]["id"],
            "amount_minor": 1,
            "currency": "GBP",
            "description": "revocation probe",
        },
    )
    return response.status_code


def _device(served: ObankProcess, deployment: Deployment, demo: dict[str, Any]) -> httpx.AsyncClient:
    """The staff console's device: presents the device certificate its tokens are bound to."""
    console = demo["clients"]["staff_console"]
    context = ssl.create_default_context(cafile=deployment.ca_file)
    context.load_cert_chain(console["certificate"], console["private_key"])
    return httpx.AsyncClient(base_url=served.url, verify=context, timeout=15.0)


async def _staff_tokens(served: ObankProcess, deployment: Deployment, demo: dict[str, Any]) -> dict[str, Any]:
    """A staff member's console sign-in: an access token and a rotating refresh token, bound to the device."""
    console = demo["clients"]["staff_console"]
    async with _device(served, deployment, demo) as device:
        code, verifier = await authorize(device, console, demo["staff"][0], login_path="/staff/login", scope="openid")
        response = await redeem_code(device, console, code, verifier)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def _reads_as_staff(device: httpx.AsyncClient, demo: dict[str, Any], access_token: str) -> int:
    account = demo["customers"][0]["accounts"][0]["id"]
    response = await device.get(f"/admin/v1/accounts/{account}", headers={"authorization": f"Bearer {access_token}"})
    return response.status_code


async def test_revocations_survive_a_kill_and_a_flushed_redis(deployment: Deployment, redis_url: str) -> None:
    # No grace for a rotated refresh token: its reuse ends the grant at once.
    spec = Spec("bank", "all", {"OBANK_REDIS_URL": redis_url, "OBANK_REFRESH_TOKEN_ROTATION_GRACE_S": "0"})
    with running(deployment, spec) as (bank,):
        demo: dict[str, Any] = json.loads((bank.data_dir / "demo.json").read_text())
        app = demo["clients"]["first_party"]
        async with _client(bank, deployment) as client, _device(bank, deployment, demo) as device:
            # Each code works once: the second sign-in of a person uses the next TOTP step.
            withdrawn, _, _ = await _customer_tokens(bank, deployment, demo, 0, 0)
            replayed, code, verifier = await _customer_tokens(bank, deployment, demo, 1, 0)
            kept, _, _ = await _customer_tokens(bank, deployment, demo, 0, 1)
            staff = await _staff_tokens(bank, deployment, demo)
            for customer, tokens in ((0, withdrawn), (1, replayed), (0, kept)):
                assert await _moves_money(client, demo, customer, tokens["access_token"]) == 201

            # Withdraw a grant; replay a code; reuse a rotated refresh token.
            auth = {"authorization": f"Bearer {withdrawn['access_token']}"}
            grants = (await client.get("/api/v1/consents", headers=auth)).json()
            claims = json.loads(_payload(withdrawn["access_token"]))
            assert any(grant["grant_id"] == claims["grant_id"] for grant in grants["consents"]), grants
            assert (await client.delete(f"/api/v1/consents/{claims['grant_id']}", headers=auth)).status_code == 204
            assert (await redeem_code(client, app, code, verifier)).status_code == 400
            refresh = {"grant_type": "refresh_token", "client_id": demo["clients"]["staff_console"]["client_id"]}
            rotated = await device.post("/oauth2/token", data=refresh | {"refresh_token": staff["refresh_token"]})
            assert rotated.status_code == 200, rotated.text
            rotated_token = rotated.json()["access_token"]
            assert await _reads_as_staff(device, demo, rotated_token) == 200
            again = await device.post("/oauth2/token", data=refresh | {"refresh_token": staff["refresh_token"]})
            assert again.status_code == 400, again.text

            revoked = [(0, withdrawn["access_token"]), (1, replayed["access_token"])]
            for customer, token in revoked:
                assert await _moves_money(client, demo, customer, token) == 401
            assert await _reads_as_staff(device, demo, rotated_token) == 401

        bank.process.kill()  # kill -9: nothing is flushed on the way out
        bank.process.wait()
    redis = Redis.from_url(redis_url)
    await redis.flushall()
    await redis.aclose()

    restarted = start_obank(deployment, spec)
    try:
        wait_ready(restarted, deployment)
        async with _client(restarted, deployment) as client, _device(restarted, deployment, demo) as device:
            for customer, token in revoked:
                assert await _moves_money(client, demo, customer, token) == 401
            assert await _reads_as_staff(device, demo, rotated_token) == 401
            assert await _moves_money(client, demo, 0, kept["access_token"]) == 201
    finally:
        restarted.process.terminate()
        restarted.process.wait()


def _payload(token: str) -> str:
    body = token.split(".")[1]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
