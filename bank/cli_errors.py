"""How `obank` reports a failed command: one line for a bad setting or an expected failure, never a secret.

An operator reads the line and fixes the cause; a traceback is for a bug, shown only when debugging.
"""

from __future__ import annotations

import errno
import os
import re

import psycopg
import redis.exceptions
import sqlalchemy.exc
from aiokafka.errors import KafkaConnectionError
from pydantic import ValidationError
from pydantic_settings.exceptions import SettingsError
from sqlalchemy.engine import make_url

from obank.db_roles import ServiceRoleError
from obank.embedded_db import EmbeddedDatabaseUnavailable
from obank.migrate import SchemaNotAtHead
from obank.settings import ProductionSettingsError, Settings
from obank.settings_sources import SettingsFileError, settings_error_lines

DEBUG_VARIABLE = "OBANK_DEBUG"
DEBUG_HINT = f"run with {DEBUG_VARIABLE}=1 for details"
# Credentials a driver message might echo: a URL's userinfo, a libpq `password=...` pair.
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")
_PASSWORD_PAIR = re.compile(r"(password\s*=\s*)\S+", re.IGNORECASE)


def debugging() -> bool:
    """OBANK_DEBUG=1 (or `obank --debug`): unexpected errors keep their traceback."""
    return os.environ.get(DEBUG_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def settings_problems(exc: BaseException) -> list[str] | None:
    """One line per bad setting when `exc` is a settings error, else None."""
    if isinstance(exc, ProductionSettingsError):
        return str(exc).splitlines()
    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        return settings_error_lines(exc, Settings.model_fields, "OBANK_")
    if isinstance(exc, SettingsFileError | SettingsError):
        return settings_error_lines(exc, Settings.model_fields, "OBANK_")
    return None


def _first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return _PASSWORD_PAIR.sub(r"\1***", _URL_USERINFO.sub("***@", line))


def _database_host() -> str | None:
    """host:port of OBANK_DATABASE_URL, read without failing (the settings may be what is broken)."""
    try:
        from obank.settings import get_settings

        url = get_settings().database_url
        if not url:
            return "the embedded database"
        parsed = make_url(url)
    except Exception:  # only a detail of the message: its absence is fine
        return None
    return f"{parsed.host}:{parsed.port or 5432}" if parsed.host else None


def operational_problem(exc: BaseException) -> str | None:
    """The line for an expected failure (database, Redis or Kafka unreachable, a file, a port), else None."""
    if isinstance(exc, EmbeddedDatabaseUnavailable | SchemaNotAtHead | ServiceRoleError):
        return _first_line(str(exc))  # written for the operator, naming what to do
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError | psycopg.OperationalError):
        cause = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.orig is not None else exc
        host = _database_host()
        return f"database unavailable{f' ({host})' if host else ''}: {_first_line(str(cause))}"
    if isinstance(exc, redis.exceptions.ConnectionError):
        return f"Redis unavailable: {_first_line(str(exc))}"
    if isinstance(exc, KafkaConnectionError):
        return f"Kafka unavailable: {_first_line(str(exc))}"
    if isinstance(exc, OSError):
        if exc.errno == errno.EADDRINUSE:
            return f"address already in use: {exc.strerror}"
        reason = exc.strerror or _first_line(str(exc)) or type(exc).__name__
        where = f": {exc.filename}" if exc.filename else ""
        return f"{reason}{where}"
    return None


def unexpected_problem(exc: BaseException) -> list[str]:
    """A bug's two lines: what was raised (its message's first line), and how to see the traceback."""
    detail = _first_line(str(exc))
    return [f"unexpected error: {type(exc).__name__}{f': {detail}' if detail else ''}", DEBUG_HINT]
