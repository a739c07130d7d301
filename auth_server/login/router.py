"""Sign-in pages: password (customers at /login, staff at /staff/login), TOTP, recovery code, sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from auth_server.dependencies import RevocationsDep, UnitOfWorkDep
from auth_server.identities import service as identities_service
from auth_server.identities.schemas import IdentityKind
from auth_server.login import service
from auth_server.login.schemas import NextStep
from auth_server.pages.dependencies import Browser, BrowserDep, CheckedBrowserDep, ReplayGuardDep, SignInsDep
from auth_server.pages.rendering import (
    DEFAULT_LANDING,
    clear_session_cookie,
    login_path,
    redirect,
    render,
    safe_return_to,
)
from auth_server.sessions.schemas import IssuedSession, SessionRecord, SessionStage
from fraud.decisions import FraudSignIns
from obank.crypto import KeyRing
from obank.revocation import RevocationList
from obank.unit_of_work import UnitOfWork

router = APIRouter(include_in_schema=False)

# One sentence for every refusal: unknown user, wrong password, locked or disabled login (no enumeration).
SIGN_IN_REFUSED = (
    "We could not sign you in with those details. Check them and try again. "
    "After repeated failures, signing in is paused for a while."
)
CODE_REFUSED = "That code was not accepted. Wait for a new code in your app and try again."
RECOVERY_CODE_REFUSED = "That recovery code was not accepted. Check it and try again; each code works once."

# Not 401: that status requires a WWW-Authenticate challenge (RFC 9110 s15.5.2), which forms do not have.
REFUSED_STATUS = 400

FormField = Annotated[str, Form()]


def _landing(record: SessionRecord) -> str:
    return record.return_to or DEFAULT_LANDING


def _login_page(
    request: Request,
    browser: Browser,
    keyring: KeyRing,
    kind: IdentityKind,
    *,
    return_to: str | None,
    sca: bool,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    staff = kind is IdentityKind.STAFF
    context = {
        "title": "Staff sign-in" if staff else "Sign in to obank",
        "staff": staff,
        "action": "/staff/login" if staff else "/login",
        "return_to": return_to,
        "sca": sca,
        "username": username,
        "error": error,
    }
    return render(request, browser, keyring, "login.html", context, status_code=status_code)


async def _show_login(
    request: Request,
    browser: Browser,
    uow: UnitOfWork,
    kind: IdentityKind,
    return_to: str | None,
    sca: bool,
    fresh: bool,
) -> Response:
    resume_at = safe_return_to(return_to)
    current = browser.session
    if current is not None and current.is_authenticated and not fresh and (current.is_strong or not sca):
        identity = await identities_service.get_identity(uow.session, current.identity_id)
        if identity.kind is kind:
            return redirect(resume_at or DEFAULT_LANDING, browser)
    return _login_page(request, browser, uow.keyring, kind, return_to=resume_at, sca=sca)


async def _submit_login(
    request: Request,
    browser: Browser,
    uow: UnitOfWork,
    kind: IdentityKind,
    username: str,
    password: str,
    return_to: str,
    sca: str,
    sign_ins: FraudSignIns,
    revocations: RevocationList,
) -> Response:
    resume_at = safe_return_to(return_to)
    require_sca = kind is IdentityKind.STAFF or sca == "1"
    outcome = await service.sign_in_with_password(
        uow,
        kind=kind,
        username=username[:64],
        password=password[:1024],
        require_sca=require_sca,
        return_to=resume_at,
        previous_session=browser.session,
        ip_address=browser.ip_address,
        device=browser.device,
        sign_ins=sign_ins,
        revocations=revocations,
    )
    if outcome.issued is None:
        return _login_page(
            request,
            browser,
            uow.keyring,
            kind,
            return_to=resume_at,
            sca=require_sca,
            username=username[:64],
            error=SIGN_IN_REFUSED,
            status_code=REFUSED_STATUS,
        )
    target = {NextStep.OTP: "/login/otp", NextStep.ENROL: "/mfa/enrol"}.get(
        outcome.next_step or NextStep.DONE, _landing(outcome.issued.record)
    )
    return redirect(target, browser, issued=outcome.issued)


@router.get("/login")
async def login_page(
    request: Request,
    browser: BrowserDep,
    uow: UnitOfWorkDep,
    return_to: str | None = None,
    sca: bool = False,
    fresh: bool = False,
) -> Response:
    """Customer sign-in; `sca` demands password and TOTP, `fresh` asks again whatever the session holds."""
    return await _show_login(request, browser, uow, IdentityKind.CUSTOMER, return_to, sca, fresh)


@router.post("/login")
async def login_submit(
    request: Request,
    browser: CheckedBrowserDep,
    uow: UnitOfWorkDep,
    sign_ins: SignInsDep,
    revocations: RevocationsDep,
    username: FormField = "",
    password: FormField = "",
    return_to: FormField = "",
    sca: FormField = "",
) -> Response:
    return await _submit_login(
        request, browser, uow, IdentityKind.CUSTOMER, username, password, return_to, sca, sign_ins, revocations
    )


@router.get("/staff/login")
async def staff_login_page(
    request: Request,
    browser: BrowserDep,
    uow: UnitOfWorkDep,
    return_to: str | None = None,
    fresh: bool = False,
) -> Response:
    """Staff sign-in: staff identities only, always with TOTP."""
    return await _show_login(request, browser, uow, IdentityKind.STAFF, return_to, True, fresh)


@router.post("/staff/login")
async def staff_login_submit(
    request: Request,
    browser: CheckedBrowserDep,
    uow: UnitOfWorkDep,
    sign_ins: SignInsDep,
    revocations: RevocationsDep,
    username: FormField = "",
    password: FormField = "",
    return_to: FormField = "",
) -> Response:
    return await _submit_login(
        request, browser, uow, IdentityKind.STAFF, username, password, return_to, "1", sign_ins, revocations
    )


async def _pending(browser: Browser, uow: UnitOfWork) -> tuple[SessionRecord, IdentityKind] | None:
    """The browser's session when it awaits a second factor, with the kind of login it is for."""
    record = browser.session
    if record is None or record.stage is not SessionStage.AWAITING_OTP:
        return None
    identity = await identities_service.get_identity(uow.session, record.identity_id)
    return record, identity.kind


def _second_factor_page(
    request: Request,
    browser: Browser,
    keyring: KeyRing,
    template: str,
    kind: IdentityKind,
    record: SessionRecord,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    staff = kind is IdentityKind.STAFF
    context = {
        "title": "Enter your authentication code" if template == "otp.html" else "Use a recovery code",
        "staff": staff,
        "restart_url": login_path(record.return_to, staff=staff),
        "error": error,
    }
    return render(request, browser, keyring, template, context, status_code=status_code)


def _restart(
    browser: Browser, record: SessionRecord | None = None, kind: IdentityKind = IdentityKind.CUSTOMER
) -> Response:
    return redirect(login_path(record.return_to if record else None, staff=kind is IdentityKind.STAFF), browser)


@router.get("/login/otp")
async def otp_page(request: Request, browser: BrowserDep, uow: UnitOfWorkDep) -> Response:
    pending = await _pending(browser, uow)
    if pending is None:
        return _restart(browser)
    return _second_factor_page(request, browser, uow.keyring, "otp.html", pending[1], pending[0])


@router.post("/login/otp")
async def otp_submit(
    request: Request, browser: CheckedBrowserDep, uow: UnitOfWorkDep, guard: ReplayGuardDep, otp: FormField = ""
) -> Response:
    pending = await _pending(browser, uow)
    if pending is None:
        return _restart(browser)
    record, kind = pending
    outcome = await service.complete_with_totp(
        uow, pending=record, code=otp[:16], guard=guard, ip_address=browser.ip_address, device=browser.device
    )
    return _after_second_factor(
        request, browser, uow.keyring, "otp.html", kind, record, outcome.issued, outcome.session_ended, CODE_REFUSED
    )


@router.get("/login/recovery")
async def recovery_page(request: Request, browser: BrowserDep, uow: UnitOfWorkDep) -> Response:
    pending = await _pending(browser, uow)
    if pending is None:
        return _restart(browser)
    return _second_factor_page(request, browser, uow.keyring, "recovery.html", pending[1], pending[0])


@router.post("/login/recovery")
async def recovery_submit(
    request: Request, browser: CheckedBrowserDep, uow: UnitOfWorkDep, recovery_code: FormField = ""
) -> Response:
    pending = await _pending(browser, uow)
    if pending is None:
        return _restart(browser)
    record, kind = pending
    outcome = await service.complete_with_recovery_code(
        uow, pending=record, code=recovery_code[:32], ip_address=browser.ip_address, device=browser.device
    )
    return _after_second_factor(
        request,
        browser,
        uow.keyring,
        "recovery.html",
        kind,
        record,
        outcome.issued,
        outcome.session_ended,
        RECOVERY_CODE_REFUSED,
    )


def _after_second_factor(
    request: Request,
    browser: Browser,
    keyring: KeyRing,
    template: str,
    kind: IdentityKind,
    record: SessionRecord,
    issued: IssuedSession | None,
    session_ended: bool,
    refusal: str,
) -> Response:
    if issued is not None:
        return redirect(_landing(issued.record), browser, issued=issued)
    if session_ended:
        signed_out = Browser(None, browser.csrf_cookie, browser.csrf_cookie_is_new, browser.ip_address)
        response = _login_page(
            request,
            signed_out,
            keyring,
            kind,
            return_to=record.return_to,
            sca=True,
            error=SIGN_IN_REFUSED,
            status_code=REFUSED_STATUS,
        )
        clear_session_cookie(response)
        return response
    return _second_factor_page(
        request, browser, keyring, template, kind, record, error=refusal, status_code=REFUSED_STATUS
    )


@router.get("/logout")
async def logout_page(request: Request, browser: BrowserDep, uow: UnitOfWorkDep) -> Response:
    """A sign-out button (signing out is a POST with a CSRF token, so no other site can sign anyone out)."""
    context = {
        "title": "Sign out",
        "signed_in": browser.session is not None,
        "message": "You are not signed in.",
        "login_url": "/login",
    }
    return render(request, browser, uow.keyring, "logout.html", context)


@router.post("/logout")
async def logout_submit(
    request: Request, browser: CheckedBrowserDep, uow: UnitOfWorkDep, revocations: RevocationsDep
) -> Response:
    if browser.session is not None:
        await service.sign_out(uow, browser=browser.session, revocations=revocations, ip_address=browser.ip_address)
    signed_out = Browser(None, browser.csrf_cookie, browser.csrf_cookie_is_new, browser.ip_address)
    context = {
        "title": "You have signed out",
        "signed_in": False,
        "message": "You have signed out of obank on this device.",
        "login_url": "/login",
    }
    response = render(request, signed_out, uow.keyring, "logout.html", context)
    clear_session_cookie(response)
    return response
