"""The composed ASGI app of `obank serve`: the gateway with every context's app mounted in-process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_server.app import PAGE_PREFIXES as AUTH_PAGE_PREFIXES
from auth_server.app import create_app as create_auth_server_app
from auth_server.oauth.app import MOUNT_PREFIXES as OAUTH_PREFIXES
from auth_server.oauth.app import create_oauth_app
from core_banking.app import create_app as create_core_banking_app
from gateway import health
from gateway.routing import PrefixRouter, Route
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


BackgroundJob = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def create_app(platform: Platform, background: Sequence[BackgroundJob] = ()) -> ASGIApp:
    """The gateway app for `platform`; the correlation middleware is outermost so every line carries the id.

    `background` jobs (the in-process outbox relay, scheduled jobs) run while the app serves and are
    asked to stop, then awaited, before the database engine closes.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(job(stop)) for job in background]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await oauth.state.oauth.close()
            await platform.close()

    gateway = FastAPI(title="obank gateway", lifespan=lifespan)
    gateway.state.platform = platform
    gateway.state.sessions = platform.sessions
    gateway.state.migration_heads = head_revisions(platform.database_url)
    gateway.include_router(health.router)

    core_banking = create_core_banking_app(platform)
    routes = [Route("/api/v1", core_banking), Route("/admin/v1", core_banking)]
    auth_server = create_auth_server_app(platform)
    routes += [Route(prefix, auth_server) for prefix in AUTH_PAGE_PREFIXES]
    oauth = create_oauth_app(platform)
    routes += [Route(prefix, oauth) for prefix in OAUTH_PREFIXES]
    return CorrelationMiddleware(SecurityHeadersMiddleware(PrefixRouter(routes, fallback=gateway)))
