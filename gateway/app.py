"""The composed ASGI app of `obank serve`: the gateway with every context's app mounted in-process."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_server.app import PAGE_PREFIXES as AUTH_PAGE_PREFIXES
from auth_server.app import create_app as create_auth_server_app
from auth_server.oauth.app import MOUNT_PREFIXES as OAUTH_PREFIXES
from auth_server.oauth.app import create_oauth_app
from gateway import health
from gateway.guard import Guard, GuardMiddleware
from gateway.health import BackgroundJob
from gateway.metrics import GatewayMetrics
from gateway.ratelimit import RateLimiter
from gateway.routing import PrefixRouter, Route
from gateway.tokens import AccessTokenVerifier, JwksCache
from gateway.upstreams import close_upstream, core_banking_upstream
from obank.correlation import CorrelationMiddleware
from obank.principal import load_internal_assertions
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


def create_app(
    platform: Platform, background: Sequence[BackgroundJob] = (), *, rate_limiter: RateLimiter | None = None
) -> ASGIApp:
    """The gateway app for `platform`; the correlation middleware is outermost so every line carries the id.

    `background` jobs (the in-process outbox relay, scheduled jobs) run while the app serves and are
    asked to stop, then awaited, before the database engine closes. `rate_limiter` replaces the
    budgets from settings (tests use small ones).
    """

    settings = platform.settings
    oauth = create_oauth_app(platform)
    oauth_server = oauth.state.oauth
    metrics = GatewayMetrics()
    limiter = rate_limiter or RateLimiter.from_settings(settings)
    guard = Guard(
        verifier=AccessTokenVerifier(
            JwksCache(oauth_server.keys.jwks),
            issuer=oauth_server.config.issuer,
            audience=oauth_server.config.resource_audience,
        ),
        revocations=platform.revocations,
        assertions=load_internal_assertions(settings),
        limiter=limiter,
        metrics=metrics,
    )

    core_banking = core_banking_upstream(platform)
    first_party = CORSMiddleware(
        core_banking,
        allow_origins=settings.cors_allowed_origins,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["authorization", "content-type", "idempotency-key", "x-fapi-interaction-id"],
        expose_headers=["x-fapi-interaction-id", "retry-after"],
        max_age=600,
    )
    routes = [
        Route("/api/v1", first_party),
        Route("/admin/v1", core_banking),
        Route("/metrics", metrics_app(metrics, settings.metrics_allowed_networks)),
    ]
    auth_server = create_auth_server_app(platform)
    routes += [Route(prefix, auth_server) for prefix in AUTH_PAGE_PREFIXES]
    routes += [Route(prefix, oauth) for prefix in (*OAUTH_PREFIXES, "/api/v1/consents")]
    closers = (oauth_server.close, limiter.close, lambda: close_upstream(core_banking))
    gateway = health.probes_app("obank gateway", platform, background, closers)
    router = PrefixRouter(routes, fallback=gateway)
    guarded = GuardMiddleware(
        router, guard, max_body_bytes=settings.max_request_body_bytes, cors_origins=settings.cors_allowed_origins
    )
    return CorrelationMiddleware(SecurityHeadersMiddleware(guarded))


def metrics_app(metrics: GatewayMetrics, allowed: Sequence[str]) -> ASGIApp:
    """`/metrics` for scrapers on the networks in `allowed` (CIDRs) only; anyone else sees no such path.

    Loopback by default: behind a load balancer every caller may come from a private address.
    """
    networks = [ipaddress.ip_network(network) for network in allowed]
    exposition = metrics.asgi_app()

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        try:
            address = ipaddress.ip_address(client[0]) if client else None
        except ValueError:
            address = None
        if address is None or not any(address in network for network in networks):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await exposition(scope, receive, send)

    return serve
