"""The OAuth server's ASGI app: mounted at each of MOUNT_PREFIXES (the customer's grants page included)."""

from __future__ import annotations

from dataclasses import replace
from http import HTTPStatus

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from audit.trail import platform_units
from auth_server.errors import AuthError
from auth_server.oauth.authorize import router as authorize_router
from auth_server.oauth.authorize.pages import AuthorizePageHeaders, error_page
from auth_server.oauth.clients import router as clients_router
from auth_server.oauth.discovery import router as discovery_router
from auth_server.oauth.errors import OAuthError, handle_error
from auth_server.oauth.grants import router as grants_router
from auth_server.oauth.keys import router as keys_router
from auth_server.oauth.par import router as par_router
from auth_server.oauth.registration import router as registration_router
from auth_server.oauth.server import OAuthServer
from auth_server.oauth.tokens import code_flow, grant_types
from auth_server.oauth.tokens import router as tokens_router
from auth_server.oauth.userinfo import router as userinfo_router
from auth_server.sessions import router as sessions_router
from auth_server.sessions.schemas import ACR_CA, ACR_SCA
from auth_server.staff_admin import router as staff_admin_router
from obank.inputs import refuse_control_characters
from obank.principal import InvalidPrincipalAssertionError, load_internal_assertions
from obank.problems import problem_body, problem_response, render_error, with_complete_allow
from obank.runtime import Platform

SERVICE_NAME = "auth_server"
ID_TOKEN_CLAIMS = ("sub", "acr", "amr", "auth_time", "nonce", "openbanking_intent_id")
# Paths of the first-party and admin API families among them, whose errors are problem details (RFC 9457).
PROBLEM_PREFIXES = ("/api/", "/admin/")
# Where the lead's gateway routes to this app (paths are served unchanged).
MOUNT_PREFIXES = (
    "/.well-known",
    "/oauth2",
    "/connect/register",
    "/admin/v1/oauth-clients",
    "/account/grants",
    "/admin/v1/identities",
    "/admin/v1/grants",
    "/api/v1/sessions",
)


async def _handle_error(request: Request, exc: Exception) -> Response:
    """OAuth endpoints answer RFC 6749 errors; the first-party and admin APIs this app serves answer problem details,
    their unknown paths and methods included."""
    if not request.url.path.startswith(PROBLEM_PREFIXES):
        return await with_complete_allow(handle_error)(request, exc)
    if isinstance(exc, OAuthError):
        body = problem_body(exc.status, exc.error, HTTPStatus(exc.status).phrase, exc.description)
        return problem_response(exc.status, body)
    return await render_error(request, exc)


def create_oauth_app(platform: Platform, server: OAuthServer | None = None) -> FastAPI:
    """The app over `platform`; `server.close()` releases its HTTP client and Redis connection."""
    server = server or OAuthServer.build(platform)
    server.grant_handlers.setdefault(grant_types.CLIENT_CREDENTIALS, grant_types.client_credentials)
    server.grant_handlers.setdefault(code_flow.AUTHORIZATION_CODE, code_flow.authorization_code)
    server.grant_handlers.setdefault(code_flow.REFRESH_TOKEN, code_flow.refresh_token)
    server.capabilities = replace(
        server.capabilities,
        grant_types=tuple(server.grant_handlers),
        authorization_endpoint_path=authorize_router.AUTHORIZE_PATH,
        userinfo_endpoint_path=userinfo_router.USERINFO_PATH,
        acr_values=(ACR_SCA, ACR_CA),
        claims=ID_TOKEN_CLAIMS,
    )
    app = FastAPI(
        title="obank authorization server (OAuth 2.0 / FAPI 2.0)",
        version="1",
        dependencies=[Depends(refuse_control_characters)],
    )
    app.state.platform = platform
    app.state.sessions = platform.sessions
    app.state.units = platform_units(platform)
    app.state.oauth = server
    app.state.internal_assertions = load_internal_assertions(platform.settings)
    app.state.service_name = SERVICE_NAME
    routers = (discovery_router, keys_router, par_router, tokens_router, clients_router, registration_router)
    for module in (*routers, authorize_router, userinfo_router, grants_router, staff_admin_router, sessions_router):
        app.include_router(module.router)
    handled = (OAuthError, InvalidPrincipalAssertionError, RequestValidationError, StarletteHTTPException, Exception)
    for error in handled:
        app.add_exception_handler(error, _handle_error)
    # The authorization endpoint and consent page are pages for people: errors as pages, page headers.
    app.add_exception_handler(AuthError, error_page)
    app.add_middleware(AuthorizePageHeaders)
    return app
