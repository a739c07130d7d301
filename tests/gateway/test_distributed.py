"""The distributed deployment: a gateway process and a core_banking process talking over HTTP."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from audit.models import AuditRecord
from obank.outbox.models import OutboxEvent
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from obank.settings import PROJECT_ROOT
from tests.gateway.processes import (
    Deployment,
    ObankProcess,
    Spec,
    assertions_for,
    deployment_with_test_keys,
    internal_signing_key,
    running,
    stop_obank,
)
from tests.gateway.scenarios import customer_login, customer_moves_money


@pytest.fixture
def deployment(tmp_path: Path, database_url: str) -> Deployment:
    return deployment_with_test_keys(tmp_path, database_url)


@pytest.fixture
def distributed(deployment: Deployment) -> Iterator[tuple[ObankProcess, ObankProcess]]:
    """core_banking on plain HTTP and a gateway (TLS) that reaches it over HTTP, started together."""
    core_banking = Spec("core_banking", "core_banking")
    gateway = Spec("gateway", "gateway", {"OBANK_UPSTREAM_CORE_BANKING_URL": core_banking.url})
    with running(deployment, gateway, core_banking) as processes:
        yield processes[0], processes[1]


def _gateway_client(gateway: ObankProcess, deployment: Deployment) -> httpx.AsyncClient:
    verify = ssl.create_default_context(cafile=deployment.ca_file)
    return httpx.AsyncClient(base_url=gateway.url, verify=verify, timeout=15.0)


def _requests_served(served: ObankProcess, interaction_id: str) -> list[tuple[str, str, int]]:
    return [
        (line["method"], line["path"], line["status"])
        for line in served.log_lines()
        if line.get("event") == "request" and line.get("correlation_id") == interaction_id
    ]


async def test_a_customer_moves_money_through_a_gateway_and_a_core_banking_process(
    distributed: tuple[ObankProcess, ObankProcess], deployment: Deployment, platform: Platform
) -> None:
    gateway, core_banking = distributed
    demo: dict[str, Any] = json.loads((gateway.data_dir / "demo.json").read_text())

    async with _gateway_client(gateway, deployment) as client:
        interaction_id = await customer_moves_money(client, demo)

        # The transfer crossed the process boundary with its interaction id, into both processes' logs.
        assert ("POST", "/api/v1/transfers", 201) in _requests_served(core_banking, interaction_id)
        assert ("POST", "/api/v1/transfers", 201) in _requests_served(gateway, interaction_id)
        async with platform.sessions() as session:
            audited = await session.scalars(
                select(AuditRecord.action).where(AuditRecord.correlation_id == interaction_id)
            )
            published = await session.scalars(
                select(OutboxEvent.event_type).where(OutboxEvent.correlation_id == interaction_id)
            )
            assert list(audited) and list(published)

    # The authorization server in the gateway process asked core banking for the customer's accounts (the
    # consent page) through the facade over internal HTTP, not through the database.
    facade_calls = [
        (line["method"], line["path"].rsplit("/", 1)[-1], line["status"])
        for line in core_banking.log_lines()
        if line.get("event") == "request" and str(line.get("path", "")).startswith("/internal/v1/customers/")
    ]
    assert ("GET", "accounts", 200) in facade_calls, facade_calls

    # core_banking goes away: the gateway answers 502 in its own words and keeps serving.
    async with _gateway_client(gateway, deployment) as client:
        token = await customer_login(client, demo, customer_index=1)  # a TOTP code is accepted only once
        stop_obank(core_banking)
        lost = await client.get("/api/v1/accounts", headers={"authorization": f"Bearer {token}"})
        assert lost.status_code == 502, lost.text
        assert lost.headers["content-type"] == "application/problem+json"
        assert lost.json()["code"] == "upstream_unavailable"
        assert str(core_banking.port) not in lost.text
        assert (await client.get("/healthz")).status_code == 200


async def test_core_banking_refuses_any_request_without_a_valid_internal_assertion(deployment: Deployment) -> None:
    customer_id = str(uuid.uuid4())
    principal = Principal(
        subject=customer_id, kind="customer", interaction_id=str(uuid.uuid4()), scopes=frozenset({"accounts"})
    )
    genuine = assertions_for(deployment.signing_key)
    forger = assertions_for(internal_signing_key())
    claims = {**principal.to_claims(), "iss": "urn:obank:gateway", "aud": "core_banking", "exp": 2**31}
    unsigned = ".".join(
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
        for part in ({"alg": "none", "typ": "obank-principal+jwt"}, claims)
    )
    attempts = {
        "none": {},
        "plain identity headers": {"x-customer-id": customer_id, "x-scopes": "accounts"},
        "signed by another key": {PRINCIPAL_HEADER: forger.sign(principal, "core_banking")},
        "addressed to another service": {PRINCIPAL_HEADER: genuine.sign(principal, "auth_server")},
        "unsigned": {PRINCIPAL_HEADER: unsigned + "."},
        "garbage": {PRINCIPAL_HEADER: "not.a.jwt"},
    }

    with running(deployment, Spec("core_banking", "core_banking")) as (core_banking,):
        async with httpx.AsyncClient(base_url=core_banking.url, timeout=10.0) as client:
            refused = {
                name: await client.get("/api/v1/accounts", headers=headers) for name, headers in attempts.items()
            }
            accepted = await client.get(
                "/api/v1/accounts", headers={PRINCIPAL_HEADER: genuine.sign(principal, "core_banking")}
            )

    for name, response in refused.items():
        assert response.status_code == 401, (name, response.text)
        assert response.json()["code"] == "unauthenticated", name
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == []  # a customer the bank does not know holds no accounts


@pytest.mark.parametrize(
    ("role", "env", "refusal"),
    [
        ("gateway", {"OBANK_DATABASE_URL": "postgresql://db/obank"}, "needs OBANK_UPSTREAM_CORE_BANKING_URL"),
        ("all", {"OBANK_UPSTREAM_CORE_BANKING_URL": "http://core:8080"}, "serves core_banking in-process"),
        ("core_banking", {}, "needs OBANK_DATABASE_URL"),
    ],
)
def test_a_role_refuses_settings_it_cannot_work_with(
    tmp_path: Path, role: str, env: dict[str, str], refusal: str
) -> None:
    result = _serve(tmp_path, role, env)

    assert result.returncode == 2, result.stderr
    assert refusal in " ".join(result.stderr.split())
    assert not (tmp_path / "var").exists()  # refused before touching anything


def test_core_banking_alone_needs_no_public_address_or_certificate_in_production(tmp_path: Path) -> None:
    result = _serve(tmp_path, "core_banking", {"OBANK_ENV": "production"})

    message = " ".join(result.stderr.split())
    assert result.returncode == 2
    assert "OBANK_DATABASE_URL" in message and "OBANK_INTERNAL_VERIFICATION_KEYS" in message
    for public in ("OBANK_ISSUER", "OBANK_TLS_CERT_FILE", "OBANK_INTERNAL_SIGNING_KEY"):  # upstreams: public keys only
        assert public not in message, public
    gateway = _serve(tmp_path, "gateway", {"OBANK_ENV": "production"})
    assert "OBANK_ISSUER" in " ".join(gateway.stderr.split())


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
