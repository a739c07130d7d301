"""structlog lines (JSON, or readable on a terminal) naming the logger, the process role, the correlation and
trace ids, with secrets redacted before output."""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal

import psycopg
import structlog
from opentelemetry import trace

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
        "role",
        "trace_id",
        "span_id",
    }
)
# What a process runs, named on its every line: `obank serve --role` (all, gateway, core_banking, open_banking),
# `obank worker` (worker), `obank scheme run` (scheme), any other command (cli).
LogFormat = Literal["auto", "console", "json"]
# Libraries whose INFO lines say nothing an operator acts on (alembic's "Context impl", "setup plugin"; uvicorn's
# start-up chatter; aiokafka's group joins; httpx's every request): WARNING and above only.
QUIET_LIBRARIES = ("alembic", "aiokafka", "httpx", "httpcore", "asyncio", "uvicorn.error")
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


def add_trace_context(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the active span's trace and span ids (W3C hex), so a line leads to its trace."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def _role_adder(role: str) -> Any:
    def add_role(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event_dict["role"] = role
        return event_dict

    return add_role


class _NamedPrintLogger(structlog.PrintLogger):
    """A print logger with a name, for `structlog.stdlib.add_logger_name` as stdlib loggers have."""

    def __init__(self, name: str) -> None:
        # sys.stderr looked up per logger, not once: test runners and daemons replace the stream.
        super().__init__(sys.stderr)
        self.name = name


def _stderr_logger(*args: Any) -> structlog.PrintLogger:
    return _NamedPrintLogger(str(args[0]) if args else "obank")


def uses_console(log_format: LogFormat) -> bool:
    """`console` always, `json` never, `auto` when stderr is a terminal (a person is reading)."""
    if log_format == "auto":
        return sys.stderr.isatty()
    return log_format == "console"


def _renderer(log_format: LogFormat) -> Any:
    if not uses_console(log_format):
        return structlog.processors.JSONRenderer()
    # https://no-color.org: any non-empty NO_COLOR turns colours off. Tracebacks arrive already rendered
    # without messages (`render_exception_without_messages`); never rich's, which would show locals.
    colors = not os.environ.get("NO_COLOR") and sys.stderr.isatty()
    return structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=structlog.dev.plain_traceback)


def configure_logging(level: str = "INFO", *, role: str = "cli", log_format: LogFormat | None = None) -> None:
    """Lines on stderr as `log_format` says (default `OBANK_LOG_FORMAT`, else auto); stdlib logging (uvicorn,
    alembic) goes through the same pipeline. Every line names its logger and `role`, the process's part."""
    if log_format is None:
        # Settings validated the variable already where a command read them; anything else means auto.
        configured = os.environ.get("OBANK_LOG_FORMAT", "auto").lower()
        log_format = configured if configured in ("console", "json") else "auto"  # type: ignore[assignment]
    assert log_format is not None
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_sensitive,
        _role_adder(role),
        add_trace_context,
    ]
    renderer = _renderer(log_format)
    structlog.configure(
        processors=[*shared, render_exception_without_messages, renderer],
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
                renderer,
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
    for library in QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> Any:
    """A logger whose every line carries `logger=name`."""
    return structlog.get_logger(name)
