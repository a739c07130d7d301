"""The OAuth server's ASGI app: mount it at /.well-known, /oauth2, /connect/register, /admin/v1/oauth-clients."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from auth_server.oauth.clients import registration
from auth_server.oauth.clients import router as clients_router
from auth_server.oauth.discovery import router as discovery_router
from auth_server.oauth.errors import OAuthError, handle_error
from auth_server.oauth.keys import router as keys_router
from auth_server.oauth.par import router as par_router
from auth_server.oauth.server import OAuthServer
from auth_server.oauth.tokens import grants
from auth_server.oauth.tokens import router as tokens_router
from obank.principal import InvalidPrincipalAssertionError, load_internal_assertions
from obank.runtime import Platform

SERVICE_NAME = "auth_server"
# Where the lead's gateway routes to this app (paths are served unchanged).
MOUNT_PREFIXES = ("/.well-known", "/oauth2", "/connect/register", "/admin/v1/oauth-clients")


def create_oauth_app(platform: Platform, server: OAuthServer | None = None) -> FastAPI:
    """The app over `platform`; `server.close()` releases its HTTP client and Redis connection."""
    server = server or OAuthServer.build(platform)
    server.grants.setdefault(grants.CLIENT_CREDENTIALS, grants.client_credentials)
    app = FastAPI(title="obank authorization server (OAuth 2.0 / FAPI 2.0)", version="1")
    app.state.platform = platform
    app.state.sessions = platform.sessions
    app.state.oauth = server
    app.state.internal_assertions = load_internal_assertions(platform.settings)
    app.state.service_name = SERVICE_NAME
    for module in (discovery_router, keys_router, par_router, tokens_router, clients_router, registration):
        app.include_router(module.router)
    handled = (OAuthError, InvalidPrincipalAssertionError, RequestValidationError, StarletteHTTPException, Exception)
    for error in handled:
        app.add_exception_handler(error, handle_error)
    return app
