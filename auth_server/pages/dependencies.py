"""Typed dependencies of the auth pages: the browser (its session and CSRF cookie) and the replay guard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from auth_server.auditing import client_ip
from auth_server.dependencies import UnitOfWorkDep
from auth_server.devices.service import Device
from auth_server.mfa.replay import ReplayGuard
from auth_server.pages.errors import CsrfRejected
from auth_server.sessions import service as sessions_service
from auth_server.sessions.schemas import SessionRecord
from fraud.decisions import FraudSignIns
from obank.browser import csrf

SESSION_COOKIE = "__Host-obank_session"


@dataclass(frozen=True, slots=True)
class Browser:
    """The visitor: their live session if any, their CSRF cookie (new if they had none), their address and
    user agent."""

    session: SessionRecord | None
    csrf_cookie: str
    csrf_cookie_is_new: bool
    ip_address: str | None
    user_agent: str | None = None

    @property
    def device(self) -> Device:
        return Device(self.user_agent, self.ip_address)


async def _replay_guard(request: Request) -> ReplayGuard:
    guard: ReplayGuard = request.app.state.replay_guard
    return guard


ReplayGuardDep = Annotated[ReplayGuard, Depends(_replay_guard)]


async def _sign_ins(request: Request) -> FraudSignIns:
    sign_ins: FraudSignIns = request.app.state.sign_ins
    return sign_ins


# The fraud engine the app was given, asked about each customer's sign-in once the password is accepted.
SignInsDep = Annotated[FraudSignIns, Depends(_sign_ins)]


async def _browser(request: Request, uow: UnitOfWorkDep) -> Browser:
    # The request's own unit of work: resolving may end an expired session or note the browser's visit.
    session = await sessions_service.resolve_session(uow, request.cookies.get(SESSION_COOKIE))
    existing = request.cookies.get(csrf.CSRF_COOKIE)
    return Browser(
        session=session,
        csrf_cookie=existing or csrf.new_cookie_value(),
        csrf_cookie_is_new=not existing,
        ip_address=client_ip(request.client.host if request.client else None),
        user_agent=request.headers.get("user-agent"),
    )


async def _checked_browser(
    request: Request, browser: Annotated[Browser, Depends(_browser)], uow: UnitOfWorkDep
) -> Browser:
    """The browser of a form POST whose CSRF token matches its cookie and session; else CsrfRejected."""
    form = await request.form()
    submitted = form.get(csrf.CSRF_FIELD)
    cookie = None if browser.csrf_cookie_is_new else browser.csrf_cookie
    session_id = browser.session.id if browser.session else None
    if not isinstance(submitted, str) or not csrf.is_valid(uow.keyring, cookie, session_id, submitted):
        raise CsrfRejected()
    return browser


BrowserDep = Annotated[Browser, Depends(_browser)]
CheckedBrowserDep = Annotated[Browser, Depends(_checked_browser)]
