"""Where the gateway's routes lead: each service in this process, or in another one reached over HTTP."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp

from bank import health
from bank.health import BackgroundJob
from core_banking.app import create_app as create_core_banking_app
from gateway.proxy import HttpUpstream
from gateway.routing import PrefixRouter, Route
from obank.correlation import CorrelationMiddleware
from obank.runtime import Platform

CORE_BANKING_PREFIXES = ("/api/v1", "/admin/v1", "/internal/v1")  # the last for other services only


def core_banking_upstream(platform: Platform) -> ASGIApp:
    """The core_banking app in this process, or a proxy to `OBANK_UPSTREAM_CORE_BANKING_URL` when set."""
    settings = platform.settings
    if settings.upstream_core_banking_url is None:
        return create_core_banking_app(platform)
    return HttpUpstream(
        settings.upstream_core_banking_url,
        timeout_s=settings.upstream_timeout_s,
        max_body_bytes=settings.max_request_body_bytes,
    )


async def close_upstream(upstream: ASGIApp) -> None:
    """Release an upstream's pooled connections; an in-process app holds none."""
    if isinstance(upstream, HttpUpstream):
        await upstream.close()


def core_banking_service_app(platform: Platform, background: Sequence[BackgroundJob] = ()) -> ASGIApp:
    """What `obank serve --role core_banking` serves: core_banking's routes, health probes, correlation ids.

    Requests arrive from gateways with the principal as an internal assertion the app verifies itself.
    `background` jobs run while the app serves and are stopped and awaited before the database closes.
    """

    probes = health.probes_app("obank core banking service", platform, background)
    core_banking = create_core_banking_app(platform)
    routes = [Route(prefix, core_banking) for prefix in CORE_BANKING_PREFIXES]
    return CorrelationMiddleware(PrefixRouter(routes, fallback=probes))
