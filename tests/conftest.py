"""Session-wide real services and a fresh, migrated database per test."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from audit.trail import platform_units
from obank.embedded_db import ensure_embedded_database
from obank.migrate import upgrade_to_head
from obank.runtime import Platform, build_platform
from obank.settings import Settings
from obank.unit_of_work import UnitsOfWork
from tests import services

TEMPLATE_DB = "obank_template"
# CLI tables (rich) are as wide as this, whether a terminal is attached or not (pytest-xdist workers have none).
os.environ["COLUMNS"] = "200"
TEST_KEYS = {"test-1": base64.b64encode(b"\x01" * 32).decode(), "test-2": base64.b64encode(b"\x02" * 32).decode()}


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An embedded PostgreSQL server for the whole session, with a migrated template database."""
    pgdata = tmp_path_factory.mktemp("pg") / "data"
    admin_url = ensure_embedded_database(pgdata, database="postgres")
    template_url = ensure_embedded_database(pgdata, database=TEMPLATE_DB)
    upgrade_to_head(template_url)
    yield admin_url
    from obank.embedded_db import stop_embedded_database

    stop_embedded_database(pgdata)


@pytest.fixture
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database cloned from the migrated template: each test sees only its own rows."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE_DB)
            )
        )
    yield postgres_admin_url.replace("/postgres?", f"/{name}?")
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        certs_dir=tmp_path / "certs",
        database_url=database_url,
        encryption_keys=json.dumps(TEST_KEYS),
        active_encryption_key_id="test-1",
    )


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    built = build_platform(settings)
    yield built
    await built.close()


@pytest.fixture
def units(platform: Platform) -> UnitsOfWork:
    """Units of work on the test platform, writing audit records to its trail."""
    return platform_units(platform)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = services.start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    services.stop(process)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, bootstrap = services.start_kafka(tmp_path_factory.mktemp("kafka"))
    yield bootstrap
    services.stop(process)
