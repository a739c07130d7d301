"""A page of the web app or the console: the browser's session, its CSRF token, and API calls with its token.

`Page.call` refreshes the access token when it is about to expire, turns a refused token into a new sign-in,
and a step-up challenge (RFC 9470) into `StepUpNeeded`, so a route handler only says what to show.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from obank.browser import csrf
from obank.crypto import KeyRing
from obank.settings import Settings
from web.api import GatewayApi
from web.errors import ApiRefused, FormRejected, SignInNeeded, StepUpNeeded
from web.money import format_money
from web.sessions.schemas import PendingAction, Surface, Tokens, WebSessionRecord
from web.sessions.service import WebSessions

COOKIES = {Surface.APP: "__Host-obank_app", Surface.CONSOLE: "__Host-obank_console"}
HOMES = {Surface.APP: "/app", Surface.CONSOLE: "/console"}
REFRESH_MARGIN = timedelta(seconds=30)
_CHALLENGE_MAX_AGE = re.compile(r"max_age=(\d+)")

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["money"] = format_money


def _when(value: str | None, style: str = "%d %b %Y, %H:%M") -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(UTC).strftime(style)
    except ValueError:
        return value


templates.env.filters["when"] = _when
templates.env.filters["day"] = lambda value: _when(value, "%d %b %Y")


@dataclass(slots=True)
class WebState:
    """What every page of one web app shares (on `app.state.web`)."""

    settings: Settings
    keyring: KeyRing
    api: GatewayApi
    sessions: WebSessions
    client_ids: dict[Surface, str]

    def redirect_uri(self, surface: Surface) -> str:
        return f"{self.settings.public_base_url()}{HOMES[surface]}/callback"


def claims_of(access_token: str) -> dict[str, Any]:
    """The payload of a token this app just received from the token endpoint (verified by the gateway on use)."""
    payload = access_token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def tokens_from(answer: dict[str, Any]) -> Tokens:
    expires_in = int(answer.get("expires_in", 60))
    return Tokens(
        access_token=answer["access_token"],
        refresh_token=answer.get("refresh_token"),
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
    )


@dataclass(slots=True)
class Page:
    """One request of a signed-in person on one surface."""

    request: Request
    web: WebState
    surface: Surface
    record: WebSessionRecord
    csrf_cookie: str
    csrf_cookie_is_new: bool
    _dirty: bool = field(default=False)

    @property
    def csrf_token(self) -> str:
        return csrf.form_token(self.web.keyring, self.csrf_cookie, self.record.id, f"web-{self.surface}")

    def check_form(self, submitted: str | None) -> None:
        if not csrf.is_valid(self.web.keyring, self.csrf_cookie, self.record.id, submitted, f"web-{self.surface}"):
            raise FormRejected

    # API calls ---------------------------------------------------------------------------------------------
    async def _token(self) -> str:
        tokens = self.record.state.tokens
        if tokens is None:
            raise SignInNeeded(self.request.url.path)
        if tokens.expires_at - REFRESH_MARGIN > datetime.now(UTC):
            return tokens.access_token
        if tokens.refresh_token is None:
            await self._lose_session()
        answer = await self.web.api.request(
            self.request.scope,
            "POST",
            "/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token or "",
                "client_id": self.web.client_ids[self.surface],
            },
        )
        if answer.status_code != 200:
            await self._lose_session()
        self.record.state.tokens = tokens_from(answer.json())
        await self.web.sessions.save(self.record)
        return self.record.state.tokens.access_token

    async def _lose_session(self) -> None:
        await self.web.sessions.end(self.record)
        raise SignInNeeded(self.request.url.path)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        step_up: PendingAction | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    ) -> httpx.Response:
        """The API's answer; 401 ends the session (sign in again), or asks for a step-up when `step_up` says how.
        `files` (with `data` for the other fields) sends multipart/form-data instead of a JSON `body`."""
        sent = dict(headers or {})
        if idempotency_key:
            sent["idempotency-key"] = idempotency_key
        query = {name: value for name, value in (params or {}).items() if value not in (None, "")}
        answer = await self.web.api.request(
            self.request.scope,
            method,
            path,
            token=await self._token(),
            params=query,
            json=body,
            data=data,
            files=files,
            headers=sent,
        )
        if answer.status_code == 401:
            challenge = answer.headers.get("www-authenticate", "")
            if "insufficient_user_authentication" in challenge and step_up is not None:
                found = _CHALLENGE_MAX_AGE.search(challenge)
                raise StepUpNeeded(step_up, int(found.group(1)) if found else 300)
            await self._lose_session()
        return answer

    async def read(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """A GET's JSON; a refusal (404, 403, 422) raises ApiRefused for the page to show."""
        answer = await self.call("GET", path, params=params)
        if answer.status_code >= 400:
            raise ApiRefused(answer.status_code, _problem(answer))
        return answer.json()

    async def send(self, method: str, path: str, body: Any = None, **options: Any) -> Any:
        """A write's JSON answer (None for 204); a refusal raises ApiRefused."""
        answer = await self.call(method, path, body=body, **options)
        if answer.status_code >= 400:
            raise ApiRefused(answer.status_code, _problem(answer))
        return None if answer.status_code == 204 or not answer.content else answer.json()

    # Responses --------------------------------------------------------------------------------------------
    def render(self, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200) -> HTMLResponse:
        page_context = {
            "surface": self.surface.value,
            "csrf_field": csrf.CSRF_FIELD,
            "csrf_token": self.csrf_token,
            "roles": self.record.state.roles,
            "who": self.record.state.name,
            "path": self.request.url.path,
            **(context or {}),
        }
        response = templates.TemplateResponse(self.request, template, page_context, status_code=status_code)
        set_csrf_cookie(response, self.csrf_cookie, self.csrf_cookie_is_new)
        return response

    def redirect(self, location: str) -> RedirectResponse:
        response = RedirectResponse(location, status_code=303)
        set_csrf_cookie(response, self.csrf_cookie, self.csrf_cookie_is_new)
        return response


def _problem(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {"title": answer.reason_phrase}
    return body if isinstance(body, dict) else {"title": answer.reason_phrase}


def refusal_text(answer: httpx.Response, fallback: str) -> str:
    """What a refused call's problem says (its detail, else its title), for the page to show; `fallback` if nothing."""
    try:
        problem = answer.json()
    except ValueError:
        return fallback
    return str(problem.get("detail") or problem.get("title") or fallback) if isinstance(problem, dict) else fallback


def set_csrf_cookie(response: Response, value: str, is_new: bool) -> None:
    if is_new:
        response.set_cookie(csrf.CSRF_COOKIE, value, secure=True, httponly=True, samesite="lax", path="/")


def set_session_cookie(response: Response, surface: Surface, token: str) -> None:
    response.set_cookie(COOKIES[surface], token, secure=True, httponly=True, samesite="lax", path="/")


def clear_session_cookie(response: Response, surface: Surface) -> None:
    response.delete_cookie(COOKIES[surface], secure=True, httponly=True, samesite="lax", path="/")


def csrf_cookie_of(request: Request) -> tuple[str, bool]:
    value = request.cookies.get(csrf.CSRF_COOKIE)
    if value and 20 <= len(value) <= 128:
        return value, False
    return csrf.new_cookie_value(), True


def login_location(surface: Surface, return_to: str) -> str:
    return f"{HOMES[surface]}/login?return_to={quote(return_to, safe='/')}"


async def page_for(request: Request, surface: Surface) -> Page:
    """The signed-in session of this browser on `surface`, or SignInNeeded."""
    web: WebState = request.app.state.web
    record = await web.sessions.find(surface, request.cookies.get(COOKIES[surface]))
    if record is None or not record.signed_in:
        return_to = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(return_to if request.method == "GET" else HOMES[surface])
    cookie, is_new = csrf_cookie_of(request)
    return Page(request, web, surface, record, cookie, is_new)


async def form_page_for(request: Request, surface: Surface) -> Page:
    """A signed-in form submission: its CSRF token checked before anything else happens."""
    page = await page_for(request, surface)
    form = await request.form()
    submitted = form.get(csrf.CSRF_FIELD)
    page.check_form(submitted if isinstance(submitted, str) else None)
    return page
