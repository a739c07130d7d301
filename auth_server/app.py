"""The auth_server ASGI app (identity half): sign-in, second factors, sessions and account pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from audit.trail import platform_units
from auth_server.errors import AuthError
from auth_server.identities import passwords
from auth_server.identities import router as identities_router
from auth_server.login import router as login_router
from auth_server.mfa import router as mfa_router
from auth_server.mfa.replay import replay_guard
from auth_server.pages.errors import SignInIncomplete, SignInRequired
from auth_server.pages.rendering import login_path, redirect, templates
from fraud.decisions import FraudSignIns
from fraud.engine import FraudEngine
from obank.browser.headers import PageSecurityHeaders
from obank.correlation import current_correlation_id
from obank.inputs import refuse_control_characters
from obank.log import get_logger
from obank.runtime import Platform

SERVICE_NAME = "auth_server"
STATIC_PREFIX = "/static/auth"
# Path prefixes the gateway routes to this app.
PAGE_PREFIXES = ("/login", "/staff/login", "/logout", "/mfa", "/account", STATIC_PREFIX)
_log = get_logger("auth_server.app")


def _error_page(request: Request, status: int, message: str) -> Response:
    """An error page without forms: rendering it needs no session, no CSRF token, no database."""
    context = {
        "title": "Sorry, something went wrong" if status >= 500 else "We could not do that",
        "message": message,
        "correlation_id": current_correlation_id(),
        "back_url": "/login",
        "back_label": "Go to sign-in",
    }
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


async def _handle_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SignInRequired):
        return redirect(login_path(exc.return_to))
    if isinstance(exc, SignInIncomplete):
        return redirect(exc.location)
    if isinstance(exc, AuthError):
        return _error_page(request, exc.status, exc.detail)
    if isinstance(exc, RequestValidationError):
        return _error_page(request, 400, "The form was incomplete or malformed. Go back and try again.")
    if isinstance(exc, StarletteHTTPException):
        message = "There is no page at this address." if exc.status_code == 404 else "That request is not supported."
        return _error_page(request, exc.status_code, message)
    _log.exception("unhandled_error", path=request.url.path)
    return _error_page(request, 500, "Our service had a problem. Please try again in a moment.")


def create_app(platform: Platform, *, sign_ins: FraudSignIns | None = None) -> FastAPI:
    """The app over `platform`; TOTP replay is also refused through Redis when OBANK_REDIS_URL is set.

    `sign_ins` scores customers' sign-ins once their password is accepted (the fraud engine over `platform`
    unless another is handed in).
    """
    app = FastAPI(
        title="obank sign-in",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(refuse_control_characters)],
    )
    app.state.platform = platform
    app.state.units = platform_units(platform)
    app.state.service_name = SERVICE_NAME
    app.state.replay_guard = replay_guard(platform.settings.redis_url)
    app.state.sign_ins = sign_ins if sign_ins is not None else FraudEngine.for_platform(platform)
    passwords.prepare_unknown_user_hash()
    for router in (login_router.router, mfa_router.router, identities_router.router):
        app.include_router(router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=Path(__file__).parent / "pages" / "static"), name="auth-static")
    for error in (AuthError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(error, _handle_error)
    app.add_middleware(PageSecurityHeaders)
    return app
