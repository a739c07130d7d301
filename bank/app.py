"""The composed ASGI app of `obank serve`: the gateway in front of every context's app, in-process or proxied."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp

from audit.app import ADMIN_PREFIXES as AUDIT_ADMIN_PREFIXES
from audit.app import create_app as create_audit_app
from auth_server import facade as auth_server_facade
from auth_server.app import PAGE_PREFIXES as AUTH_PAGE_PREFIXES
from auth_server.app import create_app as create_auth_server_app
from auth_server.oauth.app import MOUNT_PREFIXES as OAUTH_PREFIXES
from auth_server.oauth.app import create_oauth_app
from bank import api_docs, health
from bank.health import BackgroundJob
from bank.upstreams import close_upstream, core_banking_upstream, open_banking_upstream
from fraud.app import ADMIN_PREFIXES as FRAUD_ADMIN_PREFIXES
from fraud.app import create_app as create_fraud_app
from gateway.app import build_guard, create_gateway, first_party_cors
from gateway.ratelimit import RateLimiter
from gateway.routing import Route
from notifications.app import ADMIN_PREFIXES as NOTIFICATIONS_ADMIN_PREFIXES
from notifications.app import CUSTOMER_PREFIXES as NOTIFICATIONS_CUSTOMER_PREFIXES
from notifications.app import DEVELOPMENT_PREFIXES as NOTIFICATIONS_DEVELOPMENT_PREFIXES
from notifications.app import create_app as create_notifications_app
from obank.runtime import Platform
from open_banking.app import PREFIX as OPEN_BANKING_PREFIX
from web.api import GatewayApi
from web.app import PREFIXES as WEB_PREFIXES
from web.app import create_app as create_web_app


def create_app(
    platform: Platform, background: Sequence[BackgroundJob] = (), *, rate_limiter: RateLimiter | None = None
) -> ASGIApp:
    """The bank behind its gateway for `platform`.

    `background` jobs (the in-process outbox relay, scheduled jobs) run while the app serves and are
    asked to stop, then awaited, before the database engine closes. `rate_limiter` replaces the
    budgets from settings (tests use small ones).
    """
    settings = platform.settings
    oauth = create_oauth_app(platform)
    oauth_server = oauth.state.oauth
    limiter = rate_limiter or RateLimiter.from_settings(settings)
    guard = build_guard(
        settings,
        jwks=oauth_server.keys.token_jwks,  # access tokens: never a message signing key
        issuer=oauth_server.config.issuer,
        audience=oauth_server.config.resource_audience,
        revocations=platform.revocations,
        limiter=limiter,
    )
    core_banking = core_banking_upstream(platform)
    # open_banking shares the OAuth server's key and client caches; the OAuth server closes them.
    open_banking, close_open_banking = open_banking_upstream(
        platform, auth_server_facade.sharing(platform, oauth_server)
    )
    auth_server = create_auth_server_app(platform)
    notifications = create_notifications_app(platform)
    fraud = create_fraud_app(platform)
    audit = create_audit_app(platform)
    development = () if settings.is_production else NOTIFICATIONS_DEVELOPMENT_PREFIXES
    # The web app and console call the API through this very gateway (bound below, once it is built).
    web_api = GatewayApi(settings.public_base_url())
    web = create_web_app(platform, web_api)
    routes = [
        *(Route(prefix, first_party_cors(notifications, settings)) for prefix in NOTIFICATIONS_CUSTOMER_PREFIXES),
        *(Route(prefix, notifications) for prefix in (*NOTIFICATIONS_ADMIN_PREFIXES, *development)),
        *(Route(prefix, fraud) for prefix in FRAUD_ADMIN_PREFIXES),
        *(Route(prefix, audit) for prefix in AUDIT_ADMIN_PREFIXES),
        Route("/api/v1", first_party_cors(core_banking, settings)),
        Route("/admin/v1", core_banking),
        Route(OPEN_BANKING_PREFIX, open_banking),
        *(Route(prefix, auth_server) for prefix in AUTH_PAGE_PREFIXES),
        *(Route(prefix, oauth) for prefix in (*OAUTH_PREFIXES, "/api/v1/consents")),
        *(Route(prefix, web) for prefix in WEB_PREFIXES),
        Route("/", web, exact=True),
        *api_docs.gateway_routes(platform, core_banking, oauth, notifications, fraud, audit),
    ]
    closers = (
        oauth_server.close,
        limiter.close,
        lambda: close_upstream(core_banking),
        close_open_banking,
        fraud.state.core_banking.close,
        web_api.close,
    )
    probes = health.probes_app("obank gateway", platform, background, closers)
    gateway = create_gateway(settings, guard, routes, probes)
    web_api.bind(gateway)
    return gateway
