"""Server-rendered pages (Jinja2, autoescaped) and the cookies they set."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from auth_server.pages.dependencies import SESSION_COOKIE, Browser
from auth_server.sessions.schemas import IssuedSession
from obank.browser import csrf
from obank.crypto import KeyRing

DEFAULT_LANDING = "/account"
_MAX_RETURN_TO = 2048

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def safe_return_to(value: str | None) -> str | None:
    """A same-origin path to resume at, or None: never another origin (no open redirect)."""
    if not value or len(value) > _MAX_RETURN_TO or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ord(ch) < 0x21 or ch == "\\" for ch in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def login_path(return_to: str | None = None, *, staff: bool = False, **flags: bool) -> str:
    """The sign-in page, carrying where to resume and any demands (`sca`, `fresh`)."""
    query: dict[str, str] = {name: "1" for name, on in flags.items() if on}
    if return_to:
        query["return_to"] = return_to
    base = "/staff/login" if staff else "/login"
    return f"{base}?{urlencode(query)}" if query else base


def render(
    request: Request,
    browser: Browser,
    keyring: KeyRing,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    issued: IssuedSession | None = None,
) -> HTMLResponse:
    """A page whose forms carry the CSRF token bound to the session the browser holds after this response."""
    session_id = issued.record.id if issued is not None else (browser.session.id if browser.session else None)
    page_context = {
        "csrf_field": csrf.CSRF_FIELD,
        "csrf_token": csrf.form_token(keyring, browser.csrf_cookie, session_id),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, page_context, status_code=status_code)
    _set_cookies(response, browser, issued)
    return response


def redirect(location: str, browser: Browser | None = None, *, issued: IssuedSession | None = None) -> RedirectResponse:
    """303 See Other: after a POST the browser follows with a GET (no form resubmission on reload)."""
    response = RedirectResponse(location, status_code=303)
    if browser is not None:
        _set_cookies(response, browser, issued)
    return response


def _set_cookies(response: Response, browser: Browser, issued: IssuedSession | None) -> None:
    if browser.csrf_cookie_is_new:
        # The `__Host-` prefix (RFC 6265bis s4.1.3.2) makes browsers insist on Secure, Path=/ and no Domain.
        response.set_cookie(csrf.CSRF_COOKIE, browser.csrf_cookie, secure=True, httponly=True, samesite="lax", path="/")
    if issued is not None:
        set_session_cookie(response, issued.token)


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, secure=True, httponly=True, samesite="lax", path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, secure=True, httponly=True, samesite="lax", path="/")
