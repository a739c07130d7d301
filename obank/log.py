"""structlog JSON lines with the correlation id on every line and secrets redacted before output."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

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
        processors=[*shared, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
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
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log would print query strings (which may carry codes); we log requests ourselves.
    logging.getLogger("uvicorn.access").disabled = True


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
