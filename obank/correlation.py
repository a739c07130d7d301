"""Correlation ids: the caller's `x-fapi-interaction-id` when it is a UUID, else a new one, everywhere."""

from __future__ import annotations

import json
import time
import uuid
from contextvars import ContextVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from obank.log import get_logger

HEADER = "x-fapi-interaction-id"
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_log = get_logger("obank.http")


def current_correlation_id() -> str:
    """The id of the request or message being handled; a fresh one outside any (CLI, jobs)."""
    value = _correlation_id.get()
    if value is None:
        value = str(uuid.uuid4())
        bind_correlation_id(value)
    return value


def bind_correlation_id(value: str) -> None:
    """Make `value` the correlation id of this task and of every log line it writes."""
    _correlation_id.set(value)
    structlog.contextvars.bind_contextvars(correlation_id=value)


def accept_or_generate(candidate: str | None) -> str:
    """Keep a caller's id only when it is a valid UUID (FAPI), so logs cannot be injected into."""
    if candidate:
        try:
            return str(uuid.UUID(candidate))
        except ValueError:
            pass
    return str(uuid.uuid4())


class CorrelationMiddleware:
    """Outermost ASGI middleware: binds the id, echoes it on every response, turns crashes into 500s."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == HEADER.encode()), None)
        correlation_id = accept_or_generate(incoming)
        structlog.contextvars.clear_contextvars()
        bind_correlation_id(correlation_id)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        # Upstream apps see the id we settled on, not the caller's raw value.
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != HEADER.encode()] + [
            (HEADER.encode(), correlation_id.encode())
        ]
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER.encode()]
                message = {**message, "headers": [*headers, (HEADER.encode(), correlation_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            _log.exception("request_failed", method=scope["method"], path=scope["path"])
            if not response_started:
                body = json.dumps(
                    {
                        "type": "about:blank",
                        "title": "Internal Server Error",
                        "status": 500,
                        "correlation_id": correlation_id,
                    }
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode()),
                            (HEADER.encode(), correlation_id.encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            _log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
