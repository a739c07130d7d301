"""Session-wide real services and a fresh, migrated database per test."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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

# Test files, the test PostgreSQL servers' data directories above all, go to memory when the machine has a tmpfs.
# On ext4, cloning a database per test creates thousands of files, and the allocator's search past recently
# deleted inodes took about 40% of the suite's CPU (perf: ext4_create -> recently_deleted); on tmpfs it is gone.
# Set before pytest picks its base temporary directory; child processes (servers, Chromium) inherit TMPDIR.
MEMORY_TEMP_ROOT = Path("/dev/shm")  # pytest makes a private directory (mode 0700) under it


def _temp_in_memory() -> None:
    if "TMPDIR" in os.environ or not (MEMORY_TEMP_ROOT.is_dir() and os.access(MEMORY_TEMP_ROOT, os.W_OK)):
        return  # the developer's own choice, or no tmpfs here (macOS)
    os.environ["TMPDIR"] = str(MEMORY_TEMP_ROOT)
    tempfile.tempdir = None  # forget any directory chosen before, so the next call reads TMPDIR


_temp_in_memory()

TEMPLATE_DB = "obank_template"
# CLI tables (rich) are as wide as this, whether a terminal is attached or not (pytest-xdist workers have none).
os.environ["COLUMNS"] = "200"
TEST_KEYS = {"test-1": base64.b64encode(b"\x01" * 32).decode(), "test-2": base64.b64encode(b"\x02" * 32).decode()}


# A test server's data lives for one session: nothing need survive a crash of PostgreSQL itself (the tests kill
# obank's processes, never the database), so it skips flushing to disk. Cloning a database per test and every
# commit get several times cheaper; what each transaction sees is unchanged.
NO_DURABILITY = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _without_durability(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name, value in NO_DURABILITY.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        conn.execute("SELECT pg_reload_conf()")


class DatabasePool:
    """Fresh databases cloned from the migrated template one test ahead, and dropped behind it, off the tests' path.

    A clone and a drop each cost about a tenth of a second; done in a background thread they overlap the tests.
    """

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="test-databases")
        self._next: Future[str] = self._worker.submit(self._clone)

    def _clone(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(name), sql.Identifier(TEMPLATE_DB)
                )
            )
        return name

    def _drop(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))

    def take(self) -> str:
        name = self._next.result()
        self._next = self._worker.submit(self._clone)
        return name

    def give_back(self, name: str) -> None:
        self._worker.submit(self._drop, name)

    def close(self) -> None:
        self._worker.submit(self._drop, self._next.result())
        self._worker.shutdown(wait=True)


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An embedded PostgreSQL server for the whole session, with a migrated template database."""
    pgdata = tmp_path_factory.mktemp("pg") / "data"
    admin_url = ensure_embedded_database(pgdata, database="postgres")
    _without_durability(admin_url)
    template_url = ensure_embedded_database(pgdata, database=TEMPLATE_DB)
    upgrade_to_head(template_url)
    yield admin_url
    from obank.embedded_db import stop_embedded_database

    stop_embedded_database(pgdata)


@pytest.fixture(scope="session")
def database_pool(postgres_admin_url: str) -> Iterator[DatabasePool]:
    pool = DatabasePool(postgres_admin_url)
    yield pool
    pool.close()


@pytest.fixture
def database_url(postgres_admin_url: str, database_pool: DatabasePool) -> Iterator[str]:
    """A fresh database cloned from the migrated template: each test sees only its own rows."""
    name = database_pool.take()
    yield postgres_admin_url.replace("/postgres?", f"/{name}?")
    database_pool.give_back(name)


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
