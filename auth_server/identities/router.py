"""Account pages of a signed-in person: who they are signed in as, and changing their password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from auth_server.dependencies import RevocationsDep, UnitOfWorkDep
from auth_server.errors import AuthError
from auth_server.identities import service
from auth_server.identities.errors import PasswordsDoNotMatch
from auth_server.identities.passwords import MIN_LENGTH
from auth_server.identities.schemas import IdentityKind, IdentityRecord
from auth_server.mfa import service as mfa_service
from auth_server.pages.dependencies import Browser, BrowserDep, CheckedBrowserDep
from auth_server.pages.errors import SignInIncomplete, SignInRequired
from auth_server.pages.rendering import DEFAULT_LANDING, redirect, render
from auth_server.sessions.schemas import SessionRecord, SessionStage
from obank.crypto import KeyRing
from obank.unit_of_work import UnitOfWork

router = APIRouter(include_in_schema=False)

PASSWORD_PATH = "/account/password"  # noqa: S105 (a path, not a secret)
FormField = Annotated[str, Form()]


async def _signed_in(browser: Browser, uow: UnitOfWork, path: str) -> tuple[SessionRecord, IdentityRecord]:
    record = browser.session
    if record is not None and record.stage is SessionStage.AWAITING_OTP:
        raise SignInIncomplete("/login/otp")
    if record is not None and record.stage is SessionStage.AWAITING_ENROLMENT:
        raise SignInIncomplete("/mfa/enrol")
    if record is None or not record.is_authenticated:
        raise SignInRequired(path)
    return record, await service.get_identity(uow.session, record.identity_id)


@router.get(DEFAULT_LANDING)
async def account_page(
    request: Request, browser: BrowserDep, uow: UnitOfWorkDep, password_changed: bool = False
) -> Response:
    """Who the browser is signed in as, and how strongly."""
    record, identity = await _signed_in(browser, uow, DEFAULT_LANDING)
    context = {
        "notice": "Your password has been changed. You were signed out everywhere else." if password_changed else None,
        "title": "Your sign-in",
        "staff": identity.kind is IdentityKind.STAFF,
        "identity": identity,
        "username": service.username_of(uow.keyring, identity),
        "browser_session": record,
        "enrolled": await mfa_service.is_enrolled(uow.session, identity.id),
    }
    return render(request, browser, uow.keyring, "account.html", context)


def _password_page(
    request: Request,
    browser: Browser,
    keyring: KeyRing,
    identity: IdentityRecord,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "title": "Change your password",
        "staff": identity.kind is IdentityKind.STAFF,
        "username": service.username_of(keyring, identity),
        "min_length": MIN_LENGTH,
        "error": error,
        "notice": notice,
    }
    return render(request, browser, keyring, "password.html", context, status_code=status_code)


@router.get(PASSWORD_PATH)
async def password_page(request: Request, browser: BrowserDep, uow: UnitOfWorkDep) -> Response:
    _, identity = await _signed_in(browser, uow, PASSWORD_PATH)
    return _password_page(request, browser, uow.keyring, identity)


@router.post(PASSWORD_PATH)
async def password_submit(
    request: Request,
    browser: CheckedBrowserDep,
    uow: UnitOfWorkDep,
    revocations: RevocationsDep,
    current_password: FormField = "",
    new_password: FormField = "",
    confirm_password: FormField = "",
) -> Response:
    record, identity = await _signed_in(browser, uow, PASSWORD_PATH)
    try:
        if new_password != confirm_password:
            raise PasswordsDoNotMatch()
        issued = await service.change_password(
            uow,
            identity_id=identity.id,
            browser_session_id=record.id,
            current_password=current_password[:1024],
            new_password=new_password,
            revocations=revocations,
            ip_address=browser.ip_address,
        )
    except AuthError as refused:
        return _password_page(request, browser, uow.keyring, identity, error=refused.detail, status_code=refused.status)
    return redirect(DEFAULT_LANDING + "?password_changed=1", browser, issued=issued)
