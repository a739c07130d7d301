"""The composed ASGI app of `obank serve`: the gateway with every context's app mounted in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import health
from obank.correlation import CorrelationMiddleware
from obank.migrate import head_revisions
from obank.runtime import Platform

# RFC 6797: browsers keep to HTTPS for a year; no includeSubDomains, the operator's other hosts are not ours.
STRICT_TRANSPORT_SECURITY = b"max-age=31536000"


def _is_json(content_type: bytes) -> bool:
    media_type = content_type.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or media_type.endswith(b"+json")


class SecurityHeadersMiddleware:
    """HSTS and nosniff on every response; `Cache-Control: no-store` on JSON unless the route chose otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.append((b"strict-transport-security", STRICT_TRANSPORT_SECURITY))
                headers.append((b"x-content-type-options", b"nosniff"))
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if b"cache-control" not in present and _is_json(content_type):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(platform: Platform) -> ASGIApp:
    """The gateway app for `platform`; the correlation middleware is outermost so every line carries the id."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await platform.close()

    gateway = FastAPI(title="obank gateway", lifespan=lifespan)
    gateway.state.platform = platform
    gateway.state.sessions = platform.sessions
    gateway.state.migration_heads = head_revisions(platform.database_url)
    gateway.include_router(health.router)

    # Each context's app is mounted below by path prefix:
    # auth_server at /.well-known, /oauth2, /login; core_banking at /api/v1, /open-banking; admin at /admin/v1.

    return CorrelationMiddleware(SecurityHeadersMiddleware(gateway))
