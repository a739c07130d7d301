"""Liveness, readiness (the database, Redis and Kafka when configured) and the headers every gateway response
carries."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bank import health
from bank.app import create_app
from obank.runtime import Platform, build_platform
from obank.settings import Settings
from tests import services


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


@asynccontextmanager
async def _probes(platform: Platform) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The probes app of `platform` and a client of it; its Kafka client closed after."""
    app = health.probes_app("probes", platform, ())
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://probes") as client:
            yield app, client
    finally:
        await app.state.readiness.close()


@asynccontextmanager
async def _platform_with(settings: Settings, **dependencies: str) -> AsyncIterator[Platform]:
    platform = build_platform(settings.model_copy(update=dependencies))
    try:
        yield platform
    finally:
        await platform.close()


async def test_ready_when_redis_and_kafka_answer_each_in_its_own_field(
    settings: Settings, redis_url: str, kafka_bootstrap: str
) -> None:
    async with (
        _platform_with(settings, redis_url=redis_url, kafka_bootstrap_servers=kafka_bootstrap) as platform,
        _probes(platform) as (_app, client),
    ):
        first = await client.get("/readyz")
        again = await client.get("/readyz")  # the Kafka client kept from the first probe

    for response in (first, again):
        assert response.status_code == 200, response.text
        assert response.json() == {
            "status": "ready",
            "database": "ok",
            "migrations": "head",
            "redis": "ok",
            "kafka": "ok",
        }


async def test_not_ready_when_redis_or_kafka_is_unreachable(settings: Settings) -> None:
    nobody = f"127.0.0.1:{services.free_port()}"  # a port nobody listens on
    async with (
        _platform_with(settings, redis_url=f"redis://{nobody}/0", kafka_bootstrap_servers=nobody) as platform,
        _probes(platform) as (_app, client),
    ):
        started = time.monotonic()
        response = await client.get("/readyz")
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "database": "ok",
        "migrations": "head",
        "redis": "unavailable",
        "kafka": "unavailable",
    }
    assert elapsed < 2 * platform.settings.readiness_timeout_s  # checked at once, each within its timeout


async def test_a_stopped_broker_or_redis_turns_readiness_off_and_back_on(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    redis_process, redis_url = services.start_redis(tmp_path_factory.mktemp("redis-probe"))
    kafka_process, bootstrap = services.start_kafka(tmp_path_factory.mktemp("kafka-probe"))
    try:
        async with (
            _platform_with(settings, redis_url=redis_url, kafka_bootstrap_servers=bootstrap) as platform,
            _probes(platform) as (_app, client),
        ):
            before = await client.get("/readyz")
            services.stop(kafka_process)
            services.stop(redis_process)
            after = await client.get("/readyz")
    finally:
        services.stop(kafka_process)
        services.stop(redis_process)

    assert (before.status_code, before.json()["kafka"], before.json()["redis"]) == (200, "ok", "ok")
    assert (after.status_code, after.json()["kafka"], after.json()["redis"]) == (503, "unavailable", "unavailable")


async def test_the_readiness_document_names_every_dependency(platform: Platform) -> None:
    async with _probes(platform) as (app, _client):
        schema = app.openapi()["components"]["schemas"]["Readiness"]
        responses = app.openapi()["paths"]["/readyz"]["get"]["responses"]

    assert set(schema["properties"]) == {"status", "database", "migrations", "redis", "kafka"}
    assert set(schema["required"]) == {"status", "database", "migrations"}
    assert set(responses) >= {"200", "503"}
