"""Second-factor pages: first TOTP enrolment, replacing the authenticator app, new recovery codes.

Each shows a QR code and secret (or a button), takes a code from the app, then shows the recovery codes, once.
Replacing the app or the recovery codes needs password and code proven recently; else the person signs in again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from auth_server.authentication import authentication_url
from auth_server.dependencies import RevocationsDep, UnitOfWorkDep
from auth_server.identities import service as identities_service
from auth_server.identities.schemas import IdentityKind, IdentityRecord
from auth_server.login import service as login_service
from auth_server.mfa import service
from auth_server.mfa.errors import EnrolmentCodeRejected, ReplacementExpired, StrongSignInRequired
from auth_server.mfa.schemas import ReplacementOffer
from auth_server.pages.dependencies import Browser, BrowserDep, CheckedBrowserDep, ReplayGuardDep
from auth_server.pages.rendering import DEFAULT_LANDING, login_path, redirect, render
from auth_server.sessions.schemas import SessionRecord, SessionStage
from obank.unit_of_work import UnitOfWork

router = APIRouter(include_in_schema=False)

ENROL_PATH = "/mfa/enrol"
# Under /mfa: the gateway rate-limits its POSTs as sign-in pages (they check one-time codes).
REPLACE_PATH = "/mfa/replace"
RECOVERY_CODES_PATH = "/account/recovery-codes"
FormField = Annotated[str, Form()]


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
    otp: FormField = "",
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


async def _strongly_signed_in(browser: Browser, uow: UnitOfWork, path: str) -> tuple[SessionRecord, IdentityRecord]:
    """The browser's session and its enrolled login when both factors were proven recently.

    Otherwise the browser signs in again with password and code (`sca`, `fresh`) and comes back to `path`; a login
    without TOTP goes to enrol one first.
    """
    record = browser.session
    if record is None or not record.is_authenticated:
        raise StrongSignInRequired(authentication_url(path))
    identity = await identities_service.get_identity(uow.session, record.identity_id)
    if not await service.is_enrolled(uow.session, identity.id):
        raise StrongSignInRequired(ENROL_PATH)
    if not service.is_recently_strong(record, datetime.now(UTC)):
        raise StrongSignInRequired(authentication_url(path, kind=identity.kind))
    return record, identity


def _replacement_page(
    request: Request,
    browser: Browser,
    uow: UnitOfWork,
    identity: IdentityRecord,
    offer: ReplacementOffer,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    enrolment = offer.enrolment
    context: dict[str, Any] = {
        "title": "Set up a new authenticator app",
        "staff": identity.kind is IdentityKind.STAFF,
        "replacing": True,
        "form_action": REPLACE_PATH,
        "replacement": offer.sealed,
        "qr_svg": enrolment.qr_svg,
        "secret": enrolment.secret,
        "secret_groups": enrolment.secret_groups,
        "account_name": identities_service.username_of(uow.keyring, identity),
        "error": error,
    }
    return render(request, browser, uow.keyring, "enrol.html", context, status_code=status_code)


@router.get(REPLACE_PATH)
async def replacement_page(request: Request, browser: BrowserDep, uow: UnitOfWorkDep) -> Response:
    """A new secret and its QR code for a new authenticator app (a lost or new phone)."""
    record, identity = await _strongly_signed_in(browser, uow, REPLACE_PATH)
    username = identities_service.username_of(uow.keyring, identity)
    return _replacement_page(
        request, browser, uow, identity, service.offer_replacement(uow.keyring, record.id, username)
    )


@router.post(REPLACE_PATH)
async def replacement_submit(
    request: Request,
    browser: CheckedBrowserDep,
    uow: UnitOfWorkDep,
    guard: ReplayGuardDep,
    revocations: RevocationsDep,
    otp: FormField = "",
    replacement: FormField = "",
) -> Response:
    """A code from the new app: the new secret replaces the old, with new recovery codes shown once."""
    record, identity = await _strongly_signed_in(browser, uow, REPLACE_PATH)
    username = identities_service.username_of(uow.keyring, identity)
    try:
        offer = service.reopen_replacement(uow.keyring, record.id, replacement, username)
    except ReplacementExpired as expired:
        offer = service.offer_replacement(uow.keyring, record.id, username)
        return _replacement_page(request, browser, uow, identity, offer, error=expired.detail, status_code=400)
    try:
        replaced = await service.replace_authenticator(
            uow,
            identity=identity,
            browser=record,
            secret=offer.enrolment.secret,
            code=otp[:16],
            guard=guard,
            revocations=revocations,
            ip_address=browser.ip_address,
        )
    except EnrolmentCodeRejected as refused:
        return _replacement_page(request, browser, uow, identity, offer, error=refused.detail, status_code=400)
    context = {
        "title": "Save your new recovery codes",
        "staff": identity.kind is IdentityKind.STAFF,
        "notice": "Your new authenticator app is set up. Your old app's codes and your old recovery codes no longer "
        "work, and you were signed out everywhere else.",
        "recovery_codes": replaced.recovery_codes,
        "continue_to": DEFAULT_LANDING,
    }
    return render(request, browser, uow.keyring, "recovery_codes.html", context, issued=replaced.issued)


@router.get(RECOVERY_CODES_PATH)
async def recovery_codes_page(request: Request, browser: BrowserDep, uow: UnitOfWorkDep) -> Response:
    """How many recovery codes are left, and a button for a new set."""
    _, identity = await _strongly_signed_in(browser, uow, RECOVERY_CODES_PATH)
    factors = await service.second_factors(uow.session, identity.id)
    context = {
        "title": "Get new recovery codes",
        "staff": identity.kind is IdentityKind.STAFF,
        "recovery_codes_left": factors.recovery_codes_left,
        "form_action": RECOVERY_CODES_PATH,
    }
    return render(request, browser, uow.keyring, "recovery_codes_renew.html", context)


@router.post(RECOVERY_CODES_PATH)
async def recovery_codes_submit(request: Request, browser: CheckedBrowserDep, uow: UnitOfWorkDep) -> Response:
    """A new set of recovery codes, shown once; the old ones stop working."""
    record, identity = await _strongly_signed_in(browser, uow, RECOVERY_CODES_PATH)
    codes = await service.renew_recovery_codes(uow, identity=identity, browser=record, ip_address=browser.ip_address)
    context = {
        "title": "Save your new recovery codes",
        "staff": identity.kind is IdentityKind.STAFF,
        "notice": "Your old recovery codes no longer work.",
        "recovery_codes": codes,
        "continue_to": DEFAULT_LANDING,
    }
    return render(request, browser, uow.keyring, "recovery_codes.html", context)
