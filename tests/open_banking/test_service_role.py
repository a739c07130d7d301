"""`obank serve --role open_banking`: open_banking in a process of its own, reached by a gateway over HTTP."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core_banking.facade import AccountAccessDetails, InProcessCoreBanking, Permission
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from obank.settings import PROJECT_ROOT
from tests.gateway.processes import (
    Deployment,
    ObankProcess,
    Spec,
    assertions_for,
    deployment_with_test_keys,
    running,
    stop_obank,
)
from tests.open_banking.contract import Contract
from tests.services import free_port

CONSENTS = "/open-banking/v4.0/aisp/account-access-consents/"


@pytest.fixture
def deployment(tmp_path: Path, database_url: str) -> Deployment:
    return deployment_with_test_keys(tmp_path, database_url)


@pytest.fixture
def distributed(deployment: Deployment) -> Iterator[tuple[ObankProcess, ObankProcess, ObankProcess]]:
    """A gateway (TLS) reaching core_banking and open_banking over HTTP; open_banking reaches core_banking too."""
    gateway_port = free_port()
    core_banking = Spec("core_banking", "core_banking")
    # open_banking writes absolute links: it is told the address TPPs reach, the gateway's.
    open_banking = Spec(
        "open_banking",
        "open_banking",
        {"OBANK_UPSTREAM_CORE_BANKING_URL": core_banking.url, "OBANK_ISSUER": f"https://127.0.0.1:{gateway_port}"},
    )
    upstreams = {
        "OBANK_UPSTREAM_CORE_BANKING_URL": core_banking.url,
        "OBANK_UPSTREAM_OPEN_BANKING_URL": open_banking.url,
    }
    gateway = Spec("gateway", "gateway", upstreams, port=gateway_port)
    with running(deployment, gateway, core_banking, open_banking) as processes:
        yield processes[0], processes[1], processes[2]


async def test_the_gateway_serves_open_banking_from_its_own_process(
    distributed: tuple[ObankProcess, ObankProcess, ObankProcess],
    deployment: Deployment,
    platform: Platform,
    contract: Contract,
) -> None:
    gateway, core_banking, open_banking = distributed
    interaction_id = str(uuid.uuid4())
    verify = ssl.create_default_context(cafile=deployment.ca_file)
    async with httpx.AsyncClient(base_url=gateway.url, verify=verify, timeout=15.0) as client:
        discovery = await client.get("/open-banking/discovery", headers={"x-fapi-interaction-id": interaction_id})
        assert discovery.status_code == 200, discovery.text
        [aisp] = discovery.json()["Data"]["AccountAndTransactionAPI"]
        assert aisp["OpenAPI"] == gateway.url + "/open-banking/v4.0/aisp/openapi.json"
        # The process writes its request line after answering: give its log a moment to reach the file.
        deadline = asyncio.get_running_loop().time() + 5.0
        while True:
            served = [line for line in open_banking.log_lines() if line.get("correlation_id") == interaction_id]
            if any(line.get("path") == "/open-banking/discovery" for line in served):
                break
            assert asyncio.get_running_loop().time() < deadline, served
            await asyncio.sleep(0.05)

        # The service checks its own principal: an assertion for open_banking, read through core banking over HTTP.
        consent = await InProcessCoreBanking(platform.sessions, platform.keyring).create_account_access_consent(
            "tpp-1", AccountAccessDetails((Permission.READ_ACCOUNTS_BASIC,))
        )
        assertions = assertions_for(deployment.signing_key)
        principal = Principal(
            subject="tpp-1",
            kind="client",
            interaction_id=interaction_id,
            client_id="tpp-1",
            scopes=frozenset({"accounts"}),
        )
        async with httpx.AsyncClient(base_url=open_banking.url, timeout=15.0) as internal:
            for audience, status in (("open_banking", 200), ("core_banking", 401)):
                headers = {PRINCIPAL_HEADER: assertions.sign(principal, audience), "authorization": "Bearer t"}
                response = await internal.get(CONSENTS + consent.id, headers=headers)
                assert response.status_code == status, (audience, response.text)
                contract.check(response)
            assert response.content == b""
        facade_calls = [line for line in core_banking.log_lines() if str(line.get("path", "")).startswith("/internal/")]
        assert facade_calls, "open_banking read the consent through core banking's facade over HTTP"

        # open_banking goes away: the gateway answers 502 in the OB dialect and keeps serving.
        stop_obank(open_banking)
        lost = await client.get(CONSENTS + consent.id, headers={"authorization": "Bearer t"})
        assert lost.status_code == 401  # no valid token: refused before any upstream
        unreachable = await client.get("/open-banking/discovery")
        assert unreachable.status_code == 502, unreachable.text
        contract.check_error_body(unreachable)
        assert unreachable.json()["Errors"][0]["ErrorCode"] == "U000"
        assert str(open_banking.port) not in unreachable.text
        assert (await client.get("/healthz")).status_code == 200


def _serve(home: Path, role: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OBANK_")}
    environment.update(OBANK_DATA_DIR=str(home / "var"), OBANK_CERTS_DIR=str(home / "certs"), COLUMNS="400", **env)
    return subprocess.run(
        [sys.executable, "-m", "bank.cli", "serve", "--role", role, "--port", "0"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_all_in_one_refuses_an_open_banking_upstream(tmp_path: Path) -> None:
    result = _serve(tmp_path, "all", {"OBANK_UPSTREAM_OPEN_BANKING_URL": "http://ob:8080"})

    assert result.returncode == 2, result.stderr
    assert "serves open_banking in-process" in " ".join(result.stderr.split())
    assert not (tmp_path / "var").exists()  # refused before touching anything


def test_open_banking_alone_needs_the_public_address_but_no_certificate_in_production(tmp_path: Path) -> None:
    result = _serve(tmp_path, "open_banking", {"OBANK_ENV": "production"})

    message = " ".join(result.stderr.split())
    assert result.returncode == 2
    assert "OBANK_ISSUER" in message and "OBANK_DATABASE_URL" in message
    assert "OBANK_TLS_CERT_FILE" not in message
