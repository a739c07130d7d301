"""Liveness, readiness and the headers every gateway response carries."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from bank.app import create_app
from obank.runtime import Platform, build_platform
from obank.settings import Settings


async def _client(platform: Platform) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(platform))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(platform) as client:
        yield client


async def test_liveness(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers_at_the_migration_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "migrations": "head"}


async def test_not_ready_when_the_schema_is_not_at_head(platform: Platform, client: httpx.AsyncClient) -> None:
    async with platform.engine.begin() as connection:
        await connection.execute(text("UPDATE platform.alembic_version SET version_num = 'an_older_revision'"))

    response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "database": "ok", "migrations": "not_at_head"}


async def test_not_ready_when_the_database_is_unreachable(settings: Settings, tmp_path_factory) -> None:
    # A socket directory where no server listens: connecting fails at once.
    nowhere = tmp_path_factory.mktemp("no-server")
    platform = build_platform(settings, f"postgresql://postgres@/obank?host={nowhere}")
    try:
        async with await _client(platform) as client:
            response = await client.get("/readyz")
    finally:
        await platform.close()

    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "database": "unavailable", "migrations": "unknown"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/no-such-route"])
async def test_security_headers_on_every_response(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.headers["strict-transport-security"] == "max-age=31536000"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


async def test_interaction_id_is_echoed_when_valid_and_replaced_when_not(client: httpx.AsyncClient) -> None:
    mine = str(uuid.uuid4())

    echoed = await client.get("/healthz", headers={"x-fapi-interaction-id": mine})
    replaced = await client.get("/healthz", headers={"x-fapi-interaction-id": "not-a-uuid\r\nx: y"})

    assert echoed.headers["x-fapi-interaction-id"] == mine
    fresh = replaced.headers["x-fapi-interaction-id"]
    assert fresh != "not-a-uuid\r\nx: y"
    assert uuid.UUID(fresh).version == 4
