"""structlog JSON lines with the correlation id on every line and secrets redacted before output."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any

import psycopg
import structlog

# Keys whose values never reach a log: credentials, keys, tokens, personal data.
_SENSITIVE_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|otp|key|authorization|cookie|session|credential|"
    r"assertion|signature|jwt|code_verifier|^code$|email|phone|name|address|birth|national|iban|"
    r"(^|_)(ip|pin)(_|$))",
    re.IGNORECASE,
)
_ALLOWED_KEYS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "correlation_id",
        "key_id",
        "event_id",
        "event_type",
        "consumer",
        "topic",
        "method",
        "path",
        "status",
        "duration_ms",
        "entity_type",
        "entity_id",
        "action",
        "actor_kind",
        "client_id",
        "exception",
        "exc_info",
        "count",
        "schema",
        "revision",
    }
)
REDACTED = "[redacted]"


def _redact(value: Any, key: str) -> Any:
    if key not in _ALLOWED_KEYS and _SENSITIVE_KEY.search(key):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, key) for v in value]
    return value


def redact_sensitive(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: replace the value of every sensitive-looking key, at any depth."""
    for key in list(event_dict):
        event_dict[key] = _redact(event_dict[key], key)
    return event_dict


def describe_error(exc: BaseException) -> str:
    """An exception's class, and a database error's SQLSTATE and constraint, but never its message.

    Messages quote what was submitted: PostgreSQL's `Key (username)=(...) already exists` and `invalid input
    syntax for type uuid: "..."`, SQLAlchemy's statement, `KeyError('...')`, a validation error's input.
    """
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    if isinstance(exc, psycopg.Error):
        diag = exc.diag
        found = {
            "sqlstate": exc.sqlstate,
            "schema": diag.schema_name,
            "table": diag.table_name,
            "column": diag.column_name,
            "constraint": diag.constraint_name,
        }
        name += "".join(f" {label}={value}" for label, value in found.items() if value)
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    if isinstance(orig, BaseException) and orig is not exc:
        name += f" ({describe_error(orig)})"
    if isinstance(exc, BaseExceptionGroup):
        name += f" [{'; '.join(describe_error(inner) for inner in exc.exceptions)}]"
    return name


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _traceback_without_messages(exc: BaseException) -> str:
    """Python's traceback of `exc` and its causes, each exception shown by `describe_error`."""
    chain: list[tuple[BaseException, str]] = []
    current: BaseException | None = exc
    link = ""
    while current is not None and all(current is not seen for seen, _ in chain):
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for each, link_to_next in reversed(chain):
        if each.__traceback__ is not None:
            parts += ["Traceback (most recent call last):\n", *traceback.format_tb(each.__traceback__)]
        parts += [describe_error(each), "\n", link_to_next]
    return "".join(parts).rstrip("\n")


def _exception_of(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    # A (type, value, traceback) tuple, or the list `redact_sensitive` made of it.
    if isinstance(exc_info, tuple | list) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        return exc_info[1]
    return sys.exc_info()[1] if exc_info else None


def render_exception_without_messages(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: `exc_info` becomes a traceback naming each exception's class, not its message.

    Replaces structlog's `format_exc_info`. Messages are dropped for every exception, not only database
    errors, since any of them may quote a request's value (see `describe_error`).
    """
    exc = _exception_of(event_dict.pop("exc_info", None))
    if exc is None:
        return event_dict
    event = event_dict.get("event")
    if isinstance(event, str):
        # asyncio's "Task exception was never retrieved" message embeds the exception's repr.
        event_dict["event"] = event.replace(repr(exc), describe_error(exc))
    event_dict["exception"] = _traceback_without_messages(exc)
    return event_dict


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # sys.stderr looked up per logger, not once: test runners and daemons replace the stream.
    return structlog.PrintLogger(sys.stderr)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr; stdlib logging (uvicorn, alembic) routed through the same pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_sensitive,
    ]
    structlog.configure(
        processors=[*shared, render_exception_without_messages, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                render_exception_without_messages,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log would print query strings (which may carry codes); we log requests ourselves.
    logging.getLogger("uvicorn.access").disabled = True
    # aiosmtpd (the development mail sink) logs each SMTP command at INFO, recipients' addresses included.
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
