"""The gateway as an ASGI app: the guard in front of the upstream apps it is handed, security headers, /metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.forwarded import ForwardedClientMiddleware, TrustedProxies
from gateway.guard import Guard, GuardMiddleware
from gateway.metrics import GatewayMetrics
from gateway.ratelimit import RateLimiter
from gateway.routing import PrefixRouter, Route
from gateway.tokens import AccessTokenVerifier, JwksCache
from obank.correlation import CorrelationMiddleware
from obank.metrics import Collector, scrape_of
from obank.principal import load_internal_assertions
from obank.revocation import RevocationList
from obank.settings import Settings
from obank.telemetry import instrument_asgi

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
                if b"x-content-type-options" not in present:
                    headers.append((b"x-content-type-options", b"nosniff"))
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if b"cache-control" not in present and _is_json(content_type):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_gateway(
    settings: Settings,
    guard: Guard,
    upstreams: Sequence[Route],
    fallback: ASGIApp,
) -> ASGIApp:
    """The front door over `upstreams` (path prefix → app, in this process or a proxy to another).

    The guard checks every request before routing; `/metrics` is the gateway's own; anything unrouted goes
    to `fallback` (the probes). The correlation middleware is outermost so every line carries the id.
    """
    # /metrics shows the gateway's own metrics with those the fallback (the probes app) serves for the process.
    also = scrape_of(fallback).sources
    routes = [*upstreams, Route("/metrics", metrics_app(guard.metrics, settings.metrics_allowed_networks, *also))]
    router = PrefixRouter(routes, fallback=fallback)
    guarded = GuardMiddleware(
        router, guard, max_body_bytes=settings.max_request_body_bytes, cors_origins=settings.cors_allowed_origins
    )
    # The client's certificate and address from the trusted proxy (RFC 9440) before anything reads them.
    forwarded = ForwardedClientMiddleware(guarded, TrustedProxies(settings.trusted_proxy_networks))
    # Tracing (when on) outside the correlation id: the request's server span is current for every log line.
    return instrument_asgi(CorrelationMiddleware(SecurityHeadersMiddleware(forwarded)))


def build_guard(
    settings: Settings,
    *,
    jwks: Callable[[], Awaitable[dict[str, Any]]],
    issuer: str,
    audience: str,
    revocations: RevocationList,
    limiter: RateLimiter,
) -> Guard:
    """The guard over the issuer's JWKS, the deny-list and the rate limits, signing principals for upstreams."""
    return Guard(
        verifier=AccessTokenVerifier(JwksCache(jwks), issuer=issuer, audience=audience),
        revocations=revocations,
        assertions=load_internal_assertions(settings),
        limiter=limiter,
        metrics=GatewayMetrics(),
    )


def first_party_cors(app: ASGIApp, settings: Settings) -> ASGIApp:
    """CORS for the bank's own browser apps (`OBANK_CORS_ALLOWED_ORIGINS`) in front of a first-party upstream."""
    return CORSMiddleware(
        app,
        allow_origins=settings.cors_allowed_origins,
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["authorization", "content-type", "idempotency-key", "x-fapi-interaction-id"],
        expose_headers=["x-fapi-interaction-id", "retry-after"],
        max_age=600,
    )


def metrics_app(metrics: GatewayMetrics, allowed: Sequence[str], *also: Collector) -> ASGIApp:
    """`/metrics` (the gateway's metrics, the process's and `also`) for scrapers on the networks in `allowed`
    (CIDRs) only; anyone else sees no such path.

    Loopback by default: behind a load balancer every caller may come from a private address.
    """
    return metrics.asgi_app(*also, allowed=allowed)
