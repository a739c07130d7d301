"""The authorization pages' plumbing inside the OAuth app: error pages and the pages' security headers."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from auth_server.errors import AuthError
from auth_server.pages.rendering import templates
from obank.browser.headers import PageSecurityHeaders
from obank.correlation import current_correlation_id

# Paths of this app that are pages for people (the rest answer machines in JSON).
PAGE_PATHS = ("/oauth2/authorize", "/account/grants")


async def error_page(request: Request, exc: Exception) -> Response:
    """An error page without forms and, above all, without a redirect to an unverified address."""
    status = exc.status if isinstance(exc, AuthError) else 500
    message = exc.detail if isinstance(exc, AuthError) else "Our service had a problem. Please try again."
    context = {
        "title": "We could not do that",
        "message": message,
        "correlation_id": current_correlation_id(),
        "back_url": "/account",
        "back_label": "Go to your obank account",
    }
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


class AuthorizePageHeaders:
    """The sign-in pages' headers (CSP without script, no framing, no-store) on the authorization pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.pages = PageSecurityHeaders(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if any(path == p or path.startswith(p + "/") for p in PAGE_PATHS):
            await self.pages(scope, receive, send)
        else:
            await self.app(scope, receive, send)
