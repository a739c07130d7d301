"""Behind the gateway, core banking itself refuses an assertion whose token, grant or consent was revoked."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from obank.database import unit_of_work
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.revocation import consent_denial, grant_denial, record_revocations, token_denial
from obank.runtime import Platform


def _headers(app: FastAPI, *, token_id: str, grant_id: str, consent_id: str) -> dict[str, str]:
    principal = Principal(
        subject=str(uuid.uuid4()),
        kind="customer",
        interaction_id=str(uuid.uuid4()),
        client_id="obank-web",
        scopes=frozenset({"accounts"}),
        token_id=token_id,
        grant_id=grant_id,
        consent_id=consent_id,
    )
    return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}


@pytest.mark.parametrize("revoked", ["token", "grant", "consent"])
async def test_a_revoked_authorisation_is_refused_by_core_banking(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform, revoked: str
) -> None:
    ids = {"token_id": str(uuid.uuid4()), "grant_id": str(uuid.uuid4()), "consent_id": f"aac-{uuid.uuid4()}"}
    headers = _headers(app, **ids)
    assert (await client.get("/api/v1/accounts", headers=headers)).status_code == 200
    entry = {
        "token": token_denial(ids["token_id"]),
        "grant": grant_denial(ids["grant_id"]),
        "consent": consent_denial(ids["consent_id"]),
    }[revoked]
    async with unit_of_work(platform.sessions) as session:
        # Written as another process would: this one learns it from the table, not from the writer's memory.
        await record_revocations(session, [entry], datetime.now(UTC) + timedelta(minutes=5))
    for _ in range(100):
        response = await client.get("/api/v1/accounts", headers=headers)
        if response.status_code != 200:
            break
        await asyncio.sleep(0.02)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
