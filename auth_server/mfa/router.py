"""TOTP enrolment page: QR code and secret, a first code to confirm, then the recovery codes, shown once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from auth_server.dependencies import UnitOfWorkDep
from auth_server.identities import service as identities_service
from auth_server.identities.schemas import IdentityKind, IdentityRecord
from auth_server.login import service as login_service
from auth_server.mfa import service
from auth_server.mfa.errors import EnrolmentCodeRejected
from auth_server.pages.dependencies import Browser, BrowserDep, CheckedBrowserDep, ReplayGuardDep
from auth_server.pages.rendering import DEFAULT_LANDING, login_path, redirect, render
from auth_server.sessions.schemas import SessionRecord, SessionStage
from obank.unit_of_work import UnitOfWork

router = APIRouter(include_in_schema=False)

ENROL_PATH = "/mfa/enrol"


async def _enrolling(browser: Browser, uow: UnitOfWork) -> tuple[SessionRecord, IdentityRecord] | None:
    """The browser's session if it may enrol: signed in (or awaiting enrolment) without TOTP yet."""
    record = browser.session
    if record is None or record.stage not in (SessionStage.AWAITING_ENROLMENT, SessionStage.AUTHENTICATED):
        return None
    if await service.is_enrolled(uow.session, record.identity_id):
        return None
    return record, await identities_service.get_identity(uow.session, record.identity_id)


async def _enrolment_page(
    request: Request,
    browser: Browser,
    uow: UnitOfWork,
    record: SessionRecord,
    identity: IdentityRecord,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    username = identities_service.username_of(uow.keyring, identity)
    enrolment = await service.begin_enrolment(uow, identity.id, username)
    context: dict[str, Any] = {
        "title": "Set up two-step verification",
        "staff": identity.kind is IdentityKind.STAFF,
        "required": not record.is_authenticated,
        "qr_svg": enrolment.qr_svg,
        "secret": enrolment.secret,
        "secret_groups": enrolment.secret_groups,
        "account_name": username,
        "error": error,
    }
    return render(request, browser, uow.keyring, "enrol.html", context, status_code=status_code)


def _elsewhere(browser: Browser) -> Response:
    if browser.session is None:
        return redirect(login_path(ENROL_PATH), browser)
    return redirect(DEFAULT_LANDING, browser)


@router.get(ENROL_PATH)
async def enrolment_page(request: Request, browser: BrowserDep, uow: UnitOfWorkDep) -> Response:
    enrolling = await _enrolling(browser, uow)
    if enrolling is None:
        return _elsewhere(browser)
    return await _enrolment_page(request, browser, uow, *enrolling)


@router.post(ENROL_PATH)
async def enrolment_submit(
    request: Request,
    browser: CheckedBrowserDep,
    uow: UnitOfWorkDep,
    guard: ReplayGuardDep,
    otp: Annotated[str, Form()] = "",
) -> Response:
    enrolling = await _enrolling(browser, uow)
    if enrolling is None:
        return _elsewhere(browser)
    record, identity = enrolling
    try:
        outcome = await login_service.complete_enrolment(
            uow, browser=record, code=otp[:16], guard=guard, ip_address=browser.ip_address, device=browser.device
        )
    except EnrolmentCodeRejected as refused:
        return await _enrolment_page(request, browser, uow, record, identity, error=refused.detail, status_code=400)
    context = {
        "title": "Save your recovery codes",
        "staff": identity.kind is IdentityKind.STAFF,
        "recovery_codes": outcome.recovery_codes,
        "continue_to": outcome.issued.record.return_to or DEFAULT_LANDING,
    }
    return render(request, browser, uow.keyring, "recovery_codes.html", context, issued=outcome.issued)
