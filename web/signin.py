"""Signing a person in to the web app or the console as its OAuth client: PAR with PKCE, the code, the tokens.

Each surface has its own routes under its home (`/app/login`, `/app/callback`, `/app/logout`; the same under
`/console`), its own first-party client and cookie. A step-up (RFC 9470) is a new authorization with `acr_values`
and `max_age`; the refused action waits sealed in the session and runs once the fresh tokens arrive.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from obank.claims import ACR_SCA
from web.errors import ApiRefused, StepUpNeeded
from web.pages import (
    COOKIES,
    HOMES,
    WebState,
    claims_of,
    clear_session_cookie,
    csrf_cookie_of,
    form_page_for,
    set_csrf_cookie,
    set_session_cookie,
    templates,
    tokens_from,
)
from web.sessions.schemas import PendingAction, SessionState, SignInInProgress, Surface, WebSessionRecord

SCOPES = {Surface.APP: "openid accounts payments", Surface.CONSOLE: "openid"}
# Why an action that waited for a step-up was refused when it ran, in words (never the request's own text).
NOT_DONE = {
    "insufficient_user_authentication": "Your sign-in took too long to count as fresh. Please try again.",
    "insufficient_funds": "There was not enough money in the account.",
    "limit_exceeded": "That is over the account's daily or monthly limit.",
    "account_frozen": "The account is frozen. Contact us.",
    "account_closed": "The account is closed.",
}
_MAX_RETURN_TO = 2048


def safe_return_to(surface: Surface, value: str | None) -> str:
    """A path of this surface to resume at; anything else (another origin, another surface) is its home."""
    home = HOMES[surface]
    if not value or len(value) > _MAX_RETURN_TO or any(ord(ch) < 0x21 or ch == "\\" for ch in value):
        return home
    if value == home or value.startswith(home + "/") or value.startswith(home + "?"):
        return value
    return home


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def error_page(request: Request, surface: Surface, title: str, message: str, status_code: int) -> HTMLResponse:
    context = {"surface": surface.value, "title": title, "message": message, "home": HOMES[surface]}
    return templates.TemplateResponse(request, "error.html", context, status_code=status_code)


async def start_sign_in(
    request: Request,
    web: WebState,
    surface: Surface,
    return_to: str,
    *,
    record: WebSessionRecord | None = None,
    pending: PendingAction | None = None,
    max_age: int | None = None,
) -> Response:
    """Push an authorization request (PAR) and send the browser to the authorization endpoint."""
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(24)
    sign_in = SignInInProgress(state=state, verifier=verifier, return_to=return_to, started_at=datetime.now(UTC))
    new_token: str | None = None
    if record is None:
        record = await web.sessions.find(surface, request.cookies.get(COOKIES[surface]))
    if record is None:
        record, new_token = await web.sessions.open(surface, SessionState(sign_in=sign_in))
    else:
        record.state.sign_in = sign_in
        record.state.pending = pending
        await web.sessions.save(record)
    form = {
        "client_id": web.client_ids[surface],
        "response_type": "code",
        "redirect_uri": web.redirect_uri(surface),
        "scope": SCOPES[surface],
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if pending is not None:
        form |= {"acr_values": ACR_SCA, "max_age": str(max_age if max_age is not None else 0), "prompt": "login"}
    pushed = await web.api.request(request.scope, "POST", "/oauth2/par", data=form)
    if pushed.status_code != 201:
        return error_page(
            request, surface, "Sign-in is unavailable", "The bank could not start your sign-in. Try again.", 503
        )
    query = f"client_id={web.client_ids[surface]}&request_uri={pushed.json()['request_uri']}"
    response = RedirectResponse(f"/oauth2/authorize?{query}", status_code=303)
    if new_token is not None:
        set_session_cookie(response, surface, new_token)
    return response


async def step_up(request: Request, needed: StepUpNeeded, surface: Surface) -> Response:
    """The API wants a fresh strong authentication: keep the action, sign in again with SCA, then run it."""
    web: WebState = request.app.state.web
    record = await web.sessions.find(surface, request.cookies.get(COOKIES[surface]))
    if record is None:
        return RedirectResponse(f"{HOMES[surface]}/login", status_code=303)
    return await start_sign_in(
        request, web, surface, HOMES[surface], record=record, pending=needed.action, max_age=needed.max_age
    )


def _who(claims: dict[str, Any]) -> str | None:
    name = claims.get("name") or claims.get("preferred_username")
    return str(name) if name else None


async def _run_pending(request: Request, web: WebState, surface: Surface, record: WebSessionRecord) -> str | None:
    """The action that waited for the step-up, sent once with the fresh token; the page to show its outcome."""
    pending = record.state.pending
    tokens = record.state.tokens
    record.state.pending = None
    if pending is None or tokens is None:
        return None
    headers = {"idempotency-key": pending.idempotency_key} if pending.idempotency_key else {}
    answer = await web.api.request(
        request.scope,
        pending.method,
        pending.path,
        token=tokens.access_token,
        json=pending.body,
        headers=headers,
    )
    if answer.status_code >= 400:
        refused = ApiRefused(answer.status_code, answer.json() if answer.content else {})
        return f"{HOMES[surface]}/not-done?code={quote(refused.code or str(answer.status_code))}"
    identifier = answer.json().get("id", "") if answer.content else ""
    return pending.done.replace("{id}", str(identifier))


def router_for(surface: Surface) -> APIRouter:
    """`/login`, `/callback` and `/logout` of one surface."""
    home = HOMES[surface]
    router = APIRouter(prefix=home, include_in_schema=False)

    @router.get("/login")
    async def login(request: Request, return_to: str | None = None) -> Response:
        web: WebState = request.app.state.web
        return await start_sign_in(request, web, surface, safe_return_to(surface, return_to))

    @router.get("/callback")
    async def callback(
        request: Request,
        code: str | None = None,
        state: str | None = None,
        iss: str | None = None,
        error: str | None = None,
    ) -> Response:
        web: WebState = request.app.state.web
        record = await web.sessions.find(surface, request.cookies.get(COOKIES[surface]))
        sign_in = record.state.sign_in if record is not None else None
        if record is None or sign_in is None or not state or not hmac.compare_digest(sign_in.state, state):
            return error_page(request, surface, "Sign-in expired", "Please sign in again.", 400)
        if iss != web.settings.public_base_url():
            return error_page(request, surface, "Sign-in failed", "The answer did not come from this bank.", 400)
        record.state.sign_in = None
        if error or not code:
            record.state.pending = None
            await web.sessions.save(record)
            message = "You cancelled the sign-in." if error == "access_denied" else "The sign-in did not complete."
            return error_page(request, surface, "Not signed in", message, 400)
        answer = await web.api.request(
            request.scope,
            "POST",
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "client_id": web.client_ids[surface],
                "code": code,
                "redirect_uri": web.redirect_uri(surface),
                "code_verifier": sign_in.verifier,
            },
        )
        if answer.status_code != 200:
            await web.sessions.save(record)
            return error_page(request, surface, "Sign-in failed", "The bank could not sign you in. Try again.", 400)
        tokens = tokens_from(answer.json())
        claims = claims_of(tokens.access_token)
        subject = str(claims.get("customer_id") or claims.get("sub"))
        if record.subject is not None and record.subject != subject:  # someone else signed in: a fresh session
            record.state = SessionState()
        record.subject = subject
        record.state.tokens = tokens
        record.state.roles = [str(role) for role in claims.get("roles") or []]
        record.state.name = _who(claims)
        destination = await _run_pending(request, web, surface, record) or sign_in.return_to
        new_token = await web.sessions.save(record, rotate=True)
        response = RedirectResponse(destination, status_code=303)
        assert new_token is not None
        set_session_cookie(response, surface, new_token)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        web: WebState = request.app.state.web
        page = await form_page_for(request, surface)
        tokens = page.record.state.tokens
        if surface is Surface.APP and tokens is not None:
            # End the sign-in itself, not only this app's hold on it: the next sign-in asks for the password.
            listed = await web.api.request(request.scope, "GET", "/api/v1/sessions", token=tokens.access_token)
            current = (
                [s["id"] for s in listed.json().get("sessions", []) if s.get("current")] if listed.is_success else []
            )
            for session_id in current:
                path = f"/api/v1/sessions/{session_id}"
                await web.api.request(request.scope, "DELETE", path, token=tokens.access_token)
        for token in (tokens.refresh_token, tokens.access_token) if tokens else ():
            if token:
                await web.api.request(
                    request.scope,
                    "POST",
                    "/oauth2/revoke",
                    data={"token": token, "client_id": web.client_ids[surface]},
                )
        await web.sessions.end(page.record)
        response = RedirectResponse(f"{home}/signed-out", status_code=303)
        clear_session_cookie(response, surface)
        return response

    @router.get("/not-done")
    async def not_done(request: Request, code: Annotated[str, Query(max_length=80)] = "") -> Response:
        """What became of an action that waited for a step-up and was refused when it ran (by the API's code)."""
        message = NOT_DONE.get(code, "The bank refused it. Check your accounts before you try again.")
        return error_page(request, surface, "That was not done", message, 200)

    @router.get("/signed-out")
    async def signed_out(request: Request) -> Response:
        cookie, is_new = csrf_cookie_of(request)
        context = {"surface": surface.value, "title": "You have signed out", "home": home}
        response = templates.TemplateResponse(request, "signed_out.html", context)
        set_csrf_cookie(response, cookie, is_new)
        return response

    return router
