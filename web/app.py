"""The web app's ASGI app: the customer app under `/app`, the staff console under `/console`, `/` leading to the app.

Mounted by the gateway in its process (`bank/app.py`), which hands it the gateway to call (`GatewayApi.bind`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from obank.browser.headers import PageSecurityHeaders
from obank.inputs import refuse_control_characters
from obank.log import get_logger
from obank.runtime import Platform
from web import signin
from web.api import GatewayApi
from web.console.messages import router as console_messages_router
from web.console.router import router as console_router
from web.customer.messages import router as customer_messages_router
from web.customer.router import router as customer_router
from web.errors import ApiRefused, FormRejected, SignInNeeded, StepUpNeeded
from web.pages import HOMES, WebState, login_location
from web.sessions.schemas import Surface
from web.sessions.service import WebSessions

STATIC_PREFIX = "/static/web"
PREFIXES = ("/app", "/console", STATIC_PREFIX)
_log = get_logger("web")


def _surface(request: Request) -> Surface:
    return Surface.CONSOLE if request.url.path.startswith(HOMES[Surface.CONSOLE]) else Surface.APP


async def _handle_error(request: Request, exc: Exception) -> Response:
    surface = _surface(request)
    if isinstance(exc, SignInNeeded):
        return RedirectResponse(login_location(surface, exc.return_to), status_code=303)
    if isinstance(exc, StepUpNeeded):
        return await signin.step_up(request, exc, surface)
    if isinstance(exc, FormRejected):
        message = "This form expired. Go back, reload the page and try again."
        return signin.error_page(request, surface, "Form expired", message, 403)
    if isinstance(exc, ApiRefused):
        status = exc.status if 400 <= exc.status < 500 else 502
        return signin.error_page(request, surface, "We could not do that", exc.message, status)
    if isinstance(exc, RequestValidationError):
        return signin.error_page(request, surface, "Check the link", "Part of that address is not valid.", 400)
    if isinstance(exc, StarletteHTTPException):
        titles = {404: "Page not found", 405: "Not allowed"}
        title = titles.get(exc.status_code, "Something went wrong")
        return signin.error_page(request, surface, title, "There is no such page here.", exc.status_code)
    _log.exception("unhandled_error", path=request.url.path)
    return signin.error_page(request, surface, "Something went wrong", "Please try again in a moment.", 500)


def create_app(platform: Platform, api: GatewayApi) -> FastAPI:
    """The web app over `platform`, calling the public API through `api`."""
    settings = platform.settings
    app = FastAPI(
        title="obank web",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(refuse_control_characters)],
    )
    app.state.web = WebState(
        settings=settings,
        keyring=platform.keyring,
        api=api,
        sessions=WebSessions(platform.sessions, platform.keyring, settings),
        client_ids={Surface.APP: settings.web_client_id, Surface.CONSOLE: settings.web_console_client_id},
    )
    for surface in Surface:
        app.include_router(signin.router_for(surface))
    for router in (customer_router, customer_messages_router, console_router, console_messages_router):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse(HOMES[Surface.APP], status_code=303)

    app.mount(STATIC_PREFIX, StaticFiles(directory=Path(__file__).parent / "static"), name="web-static")
    for error in (SignInNeeded, StepUpNeeded, FormRejected, ApiRefused, RequestValidationError):
        app.add_exception_handler(error, _handle_error)
    app.add_exception_handler(StarletteHTTPException, _handle_error)
    app.add_exception_handler(Exception, _handle_error)
    app.add_middleware(PageSecurityHeaders)
    return app
