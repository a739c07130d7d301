"""Where the gateway's routes lead: each service in this process, or in another one reached over HTTP."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp

from auth_server.facade import AuthServer
from auth_server.facade import connect as connect_auth_server
from bank import health
from bank.health import BackgroundJob, Closer
from bank.jobs import job_registry
from core_banking.app import create_app as create_core_banking_app
from core_banking.facade import CoreBanking
from core_banking.facade import connect as connect_core_banking
from core_banking.internal.client import HttpCoreBanking
from faster_payments.facade import SchemeDirectory
from fraud.engine import FraudEngine
from gateway.proxy import HttpUpstream
from gateway.routing import PrefixRouter, Route
from obank.correlation import CorrelationMiddleware
from obank.runtime import Platform
from obank.telemetry import instrument_asgi
from open_banking.app import PREFIX as OPEN_BANKING_PREFIX
from open_banking.app import SERVICE_NAME as OPEN_BANKING_SERVICE
from open_banking.app import create_app as create_open_banking_app

CORE_BANKING_PREFIXES = ("/api/v1", "/admin/v1", "/internal/v1")  # the last for other services only


def _core_banking_app(platform: Platform) -> ASGIApp:
    """core_banking's app, answering confirmation of payee for other banks from the scheme's directory,
    screening transfers with the fraud engine, and showing staff the deployment's scheduled jobs."""
    return create_core_banking_app(
        platform,
        payee_names=SchemeDirectory(platform.sessions),
        jobs=job_registry(platform.settings),
        fraud=FraudEngine.for_platform(platform),
    )


def core_banking_upstream(platform: Platform) -> ASGIApp:
    """The core_banking app in this process, or a proxy to `OBANK_UPSTREAM_CORE_BANKING_URL` when set."""
    settings = platform.settings
    if settings.upstream_core_banking_url is None:
        return _core_banking_app(platform)
    return HttpUpstream(
        settings.upstream_core_banking_url,
        timeout_s=settings.upstream_timeout_s,
        max_body_bytes=settings.max_request_body_bytes,
    )


def _open_banking_core_banking(platform: Platform) -> CoreBanking:
    """Core banking as open_banking reaches it; over HTTP, its calls are signed as open_banking's."""
    settings = platform.settings
    if settings.upstream_core_banking_url:
        return HttpCoreBanking.from_settings(settings, service=OPEN_BANKING_SERVICE)
    return connect_core_banking(platform)


def open_banking_upstream(platform: Platform, auth_server: AuthServer) -> tuple[ASGIApp, Closer]:
    """The open_banking app here or a proxy to `OBANK_UPSTREAM_OPEN_BANKING_URL`, with what closes its connections.

    `auth_server` is the authorization server in this process (TPPs' keys, the bank's message signature).
    """
    settings = platform.settings
    if settings.upstream_open_banking_url is not None:
        proxy = HttpUpstream(
            settings.upstream_open_banking_url,
            timeout_s=settings.upstream_timeout_s,
            max_body_bytes=settings.max_request_body_bytes,
        )
        return proxy, proxy.close
    core_banking = _open_banking_core_banking(platform)
    return create_open_banking_app(platform, core_banking, auth_server), core_banking.close


async def close_upstream(upstream: ASGIApp) -> None:
    """Release an upstream's pooled connections; an in-process app holds none."""
    if isinstance(upstream, HttpUpstream):
        await upstream.close()


def core_banking_service_app(platform: Platform, background: Sequence[BackgroundJob] = ()) -> ASGIApp:
    """What `obank serve --role core_banking` serves: core_banking's routes, health probes, /metrics, correlation ids.

    Requests arrive from gateways with the principal as an internal assertion the app verifies itself.
    `background` jobs run while the app serves and are stopped and awaited before the database closes.
    """

    probes = health.probes_app("obank core banking service", platform, background)
    core_banking = _core_banking_app(platform)
    routes = [Route(prefix, core_banking) for prefix in CORE_BANKING_PREFIXES]
    return instrument_asgi(CorrelationMiddleware(PrefixRouter(routes, fallback=probes)))


def open_banking_service_app(platform: Platform, background: Sequence[BackgroundJob] = ()) -> ASGIApp:
    """What `obank serve --role open_banking` serves: /open-banking, health probes, /metrics, correlation ids.

    Requests arrive from gateways with the principal as an internal assertion addressed to `open_banking`;
    core banking is reached over HTTP when `OBANK_UPSTREAM_CORE_BANKING_URL` is set, else in this process. The
    authorization server's facade (TPPs' keys, the bank's message key) runs in this process over the database.
    """
    core_banking = _open_banking_core_banking(platform)
    auth_server = connect_auth_server(platform)
    probes = health.probes_app(
        "obank open banking service", platform, background, [core_banking.close, auth_server.close]
    )
    open_banking = create_open_banking_app(platform, core_banking, auth_server)
    return instrument_asgi(
        CorrelationMiddleware(PrefixRouter([Route(OPEN_BANKING_PREFIX, open_banking)], fallback=probes))
    )
