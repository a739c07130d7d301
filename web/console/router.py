"""The staff console's pages (`/console`): each calls `/admin/v1/...` through the gateway with the staff token.

A page leaves out a section the staff member's roles do not open (the API's 403) and shows any other refusal in
its place. A change is a form posted with the CSRF token: done, it redirects (303) to the page showing the outcome;
refused, the page shows the API's problem detail. High-risk actions wait for a second staff member (four eyes):
the Approvals page repeats the held request with `Obank-Approval-Id`.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from obank.approvals.http import APPROVAL_HEADER
from web.errors import ApiRefused
from web.pages import Page, form_page_for, page_for
from web.sessions.schemas import Surface

router = APIRouter(prefix="/console", include_in_schema=False)

# What a customer is looked for by (the search form's choices), and the timeline's subjects.
SEARCH_KEYS = {
    "name": "Full name",
    "email": "Email address",
    "iban": "IBAN",
    "account": "Sort code and account number",
}
TIMELINE_SUBJECTS = {
    "correlation_id": "Correlation id",
    "customer_id": "Customer id",
    "account_id": "Account id",
    "payment_id": "Payment id",
}
NOTICES = {
    "frozen": "The account is frozen: payments out are refused, money still comes in.",
    "unfrozen": "The account is active again.",
    "close-requested": "Closing the account waits for a second staff member: they approve it under Approvals.",
    "sessions-ended": "Every sign-in session of this login has ended.",
    "unlocked": "The login is unlocked.",
    "totp-reset-requested": "Resetting the login's TOTP waits for a second staff member under Approvals.",
    "grant-revoked": "The grant is revoked: its tokens no longer work.",
    "payment-released": "The payment is released and goes on to be sent.",
    "payment-rejected": "The payment is rejected and its money returned to the account.",
    "approved": "Approved: the action is done.",
    "rejected": "Rejected: the action will not run.",
}
# What each kind of four-eyes approval does, in words (others show their kind).
APPROVAL_KINDS = {
    "core_banking.account.close": "Close an account",
    "auth_server.identity.totp_reset": "Reset a login's TOTP",
    "core_banking.cash.adjustment": "A large deposit or withdrawal",
}
STAFF_REASON_MAX = 200  # the shortest of the APIs' limits on a staff member's reason
DECRYPTION_REASON_MIN = 10
DECRYPTION_REASON_MAX = 500
RECENT_TRANSACTIONS = 5
RECENT_PAYMENTS = 20
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ACCOUNT = re.compile(r"([0-9]{6})([0-9]{8})")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Reason = Annotated[str, Form(max_length=DECRYPTION_REASON_MAX)]


async def _staff_page(request: Request) -> Page:
    return await page_for(request, Surface.CONSOLE)


async def _staff_form(request: Request) -> Page:
    return await form_page_for(request, Surface.CONSOLE)


StaffPage = Annotated[Page, Depends(_staff_page)]
StaffForm = Annotated[Page, Depends(_staff_form)]


@dataclass(frozen=True, slots=True)
class Section:
    """One part of a page: what the API answered, or the refusal to show in its place."""

    value: Any = None
    refused: str | None = None


async def _section(page: Page, path: str, params: dict[str, Any] | None = None) -> Section | None:
    """The section's data; None when the staff member's roles do not open it (403: the page leaves it out)."""
    try:
        return Section(await page.read(path, params))
    except ApiRefused as refused:
        if refused.status == 403:
            return None
        return Section(refused=refused.message)


def _refusal_status(refused: ApiRefused) -> int:
    return refused.status if 400 <= refused.status < 500 else 502


def _notice(code: str | None) -> str | None:
    return NOTICES.get(code or "")


# Customer search -------------------------------------------------------------------------------------------------


def _search_params(by: str, text: str) -> dict[str, str]:
    """The search API's query for what was typed; ValueError says what to type instead."""
    if by == "account":
        found = _ACCOUNT.fullmatch(re.sub(r"[\s-]", "", text))
        if found is None:
            raise ValueError("Enter the 6-digit sort code and the 8-digit account number, such as 04-00-04 12345678.")
        return {"sort_code": found.group(1), "account_number": found.group(2)}
    return {by: text}


@router.get("")
async def home(
    page: StaffPage,
    by: Annotated[str, Query(max_length=20)] = "iban",
    q: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """Customer search: by name, email, IBAN, or sort code and account number; each result links to the customer."""
    context: dict[str, Any] = {"title": "Find a customer", "keys": SEARCH_KEYS, "by": by, "q": q, "results": None}
    text = q.strip()
    if not text:
        return page.render("console/search.html", context)
    if by not in SEARCH_KEYS:
        return page.render("console/search.html", context | {"error": "Choose what to search by."}, status_code=400)
    try:
        params = _search_params(by, text)
    except ValueError as invalid:
        return page.render("console/search.html", context | {"error": str(invalid)}, status_code=400)
    try:
        context["results"] = await page.read("/admin/v1/customers", params)
    except ApiRefused as refused:
        return page.render(
            "console/search.html", context | {"error": refused.message}, status_code=_refusal_status(refused)
        )
    return page.render("console/search.html", context)


# Customer 360 ----------------------------------------------------------------------------------------------------


async def _customer_page(
    page: Page, customer_id: uuid.UUID, *, notice: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    """Everything about one customer, each section from its own API, loaded together."""
    # The first read alone: it refreshes the token if it must, so the concurrent reads below all find it fresh.
    customer = await page.read(f"/admin/v1/customers/{customer_id}")
    query = {"customer_id": str(customer_id)}
    accounts, payments, consents, identities, grants, alerts, approvals = await asyncio.gather(
        _section(page, f"/admin/v1/customers/{customer_id}/accounts"),
        _section(page, f"/admin/v1/customers/{customer_id}/payments", {"limit": RECENT_PAYMENTS}),
        _section(page, f"/admin/v1/customers/{customer_id}/consents"),
        _section(page, "/admin/v1/identities", query),
        _section(page, "/admin/v1/grants", query),
        _section(page, "/admin/v1/fraud/alerts", query),
        _section(page, "/admin/v1/approvals", {"status": "PENDING", "limit": 200}),
    )
    account_list: list[dict[str, Any]] = accounts.value if accounts and accounts.value else []
    logins: list[dict[str, Any]] = identities.value["identities"] if identities and identities.value else []
    lookups: list[Awaitable[Section | None]] = [
        _section(page, f"/admin/v1/accounts/{account['id']}/transactions", {"limit": RECENT_TRANSACTIONS})
        for account in account_list
    ]
    lookups += [_section(page, f"/admin/v1/identities/{login['id']}/sessions") for login in logins]
    found = await asyncio.gather(*lookups)
    split = len(account_list)
    transactions = dict(zip((account["id"] for account in account_list), found[:split], strict=True))
    sessions = dict(zip((login["id"] for login in logins), found[split:], strict=True))
    waiting = {
        approval["target"]: approval
        for approval in (approvals.value if approvals and approvals.value else [])
        if approval["status"] == "PENDING"
    }
    context = {
        "title": customer["full_name"],
        "customer": customer,
        "accounts": accounts,
        "transactions": transactions,
        "payments": payments,
        "consents": consents,
        "logins": identities,
        "sessions": sessions,
        "grants": grants,
        "alerts": alerts,
        "waiting": waiting,
        "reason_max": STAFF_REASON_MAX,
        "notice": notice,
        "error": error,
    }
    return page.render("console/customer.html", context, status_code=status_code)


@router.get("/customers/{customer_id}")
async def customer(page: StaffPage, customer_id: uuid.UUID, notice: str | None = None) -> Response:
    """Customer 360: details, accounts, payments, Open Banking, login state, fraud alerts (analysts)."""
    return await _customer_page(page, customer_id, notice=_notice(notice))


async def _account_page(
    page: Page,
    account_id: uuid.UUID,
    *,
    cursor: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    account = await page.read(f"/admin/v1/accounts/{account_id}")
    history, approvals = await asyncio.gather(
        _section(page, f"/admin/v1/accounts/{account_id}/transactions", {"cursor": cursor, "limit": 25}),
        _section(page, "/admin/v1/approvals", {"status": "PENDING", "limit": 200}),
    )
    waiting = [
        approval
        for approval in (approvals.value if approvals and approvals.value else [])
        if approval["target"] == str(account_id) and approval["status"] == "PENDING"
    ]
    context = {
        "title": account["name"],
        "account": account,
        "history": history,
        "waiting": {str(account_id): waiting[0]} if waiting else {},
        "first_page": cursor is None,
        "reason_max": STAFF_REASON_MAX,
        "notice": notice,
        "error": error,
    }
    return page.render("console/account.html", context, status_code=status_code)


@router.get("/accounts/{account_id}")
async def account(
    page: StaffPage,
    account_id: uuid.UUID,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    notice: str | None = None,
) -> Response:
    """One account: balances, status, its transactions page by page."""
    return await _account_page(page, account_id, cursor=cursor, notice=_notice(notice))


# Changes from the customer and account pages ----------------------------------------------------------------------


async def _show_refusal(
    page: Page, refused: ApiRefused, *, customer_id: uuid.UUID | None, account_id: uuid.UUID | None
) -> Response:
    """The page the form came from, with the API's reason for refusing."""
    status_code = _refusal_status(refused)
    if customer_id is not None:
        return await _customer_page(page, customer_id, error=refused.message, status_code=status_code)
    assert account_id is not None
    return await _account_page(page, account_id, error=refused.message, status_code=status_code)


@router.post("/accounts/{account_id}/{action}")
async def change_account(
    page: StaffForm,
    account_id: uuid.UUID,
    action: Literal["freeze", "unfreeze", "close"],
    reason: Reason = "",
    customer_id: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Freeze, unfreeze or (four eyes: a request first) close an account, with a reason; back to the customer's
    page when asked from there (`customer_id`), else the account's."""
    owner = uuid.UUID(customer_id) if _UUID_TEXT.fullmatch(customer_id) else None
    try:
        answer = await page.send("POST", f"/admin/v1/accounts/{account_id}/{action}", {"reason": reason})
    except ApiRefused as refused:
        return await _show_refusal(page, refused, customer_id=owner, account_id=account_id)
    notice = {"freeze": "frozen", "unfreeze": "unfrozen"}.get(action)
    if action == "close":
        notice = "close-requested" if answer and "approval" in answer else "approved"
    if owner is not None:
        return page.redirect(f"/console/customers/{owner}?notice={notice}")
    return page.redirect(f"/console/accounts/{account_id}?notice={notice}")


async def _customer_change(
    page: Page, customer_id: uuid.UUID, path: str, body: dict[str, Any] | None, notice: str
) -> Response:
    """One change asked from the customer page: back to it with the outcome, or showing the refusal."""
    try:
        await page.send("POST", path, body)
    except ApiRefused as refused:
        return await _show_refusal(page, refused, customer_id=customer_id, account_id=None)
    return page.redirect(f"/console/customers/{customer_id}?notice={notice}")


CustomerField = Annotated[uuid.UUID, Form()]


@router.post("/identities/{identity_id}/sessions/end")
async def end_sessions(
    page: StaffForm, identity_id: uuid.UUID, customer_id: CustomerField, reason: Reason = ""
) -> Response:
    """End every sign-in session of a customer's login."""
    path = f"/admin/v1/identities/{identity_id}/sessions/revocation"
    return await _customer_change(page, customer_id, path, {"reason": reason}, "sessions-ended")


@router.post("/identities/{identity_id}/unlock")
async def unlock(page: StaffForm, identity_id: uuid.UUID, customer_id: CustomerField, reason: Reason = "") -> Response:
    """Lift a login's lockout."""
    path = f"/admin/v1/identities/{identity_id}/unlock"
    return await _customer_change(page, customer_id, path, {"reason": reason}, "unlocked")


@router.post("/identities/{identity_id}/totp-reset")
async def reset_totp(
    page: StaffForm, identity_id: uuid.UUID, customer_id: CustomerField, reason: Reason = ""
) -> Response:
    """Ask for a login's TOTP to be reset (four eyes: a second staff member approves it)."""
    path = f"/admin/v1/identities/{identity_id}/totp-reset"
    return await _customer_change(page, customer_id, path, {"reason": reason}, "totp-reset-requested")


@router.post("/grants/{grant_id}/revoke")
async def revoke_grant(
    page: StaffForm, grant_id: uuid.UUID, customer_id: CustomerField, reason: Reason = ""
) -> Response:
    """Revoke a customer's grant to an app, as their own withdrawal would."""
    path = f"/admin/v1/grants/{grant_id}/revocation"
    return await _customer_change(page, customer_id, path, {"reason": reason}, "grant-revoked")


@router.post("/payments/{payment_id}/{decision}")
async def decide_payment(
    page: StaffForm, payment_id: uuid.UUID, decision: Literal["release", "reject"], customer_id: CustomerField
) -> Response:
    """A fraud analyst releases or rejects a payment held for review."""
    path = f"/admin/v1/fraud/payments/{payment_id}/{decision}"
    notice = "payment-released" if decision == "release" else "payment-rejected"
    return await _customer_change(page, customer_id, path, None, notice)


# Investigation timeline and decryption ----------------------------------------------------------------------------


@router.get("/timeline")
async def timeline(
    page: StaffPage,
    correlation_id: Annotated[str | None, Query(max_length=200)] = None,
    customer_id: Annotated[str | None, Query(max_length=100)] = None,
    account_id: Annotated[str | None, Query(max_length=100)] = None,
    payment_id: Annotated[str | None, Query(max_length=100)] = None,
    before: Annotated[str | None, Query(max_length=64)] = None,
    by: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """What one request, customer, account or payment touched, in time order; older pages by `before`."""
    named = {
        name: value.strip()
        for name, value in (
            ("correlation_id", correlation_id),
            ("customer_id", customer_id),
            ("account_id", account_id),
            ("payment_id", payment_id),
        )
        if value and value.strip()
    }
    if not named and by in TIMELINE_SUBJECTS and q and q.strip():  # the form: what it is, and its id
        named = {by: q.strip()}
    subject = next(iter(named.items()), ("correlation_id", ""))
    context: dict[str, Any] = {
        "title": "Investigation timeline",
        "subjects": TIMELINE_SUBJECTS,
        "by": subject[0],
        "q": subject[1],
        "entries": None,
    }
    if not named:
        return page.render("console/timeline.html", context)
    try:
        found = await page.read("/admin/v1/audit/timeline", named | {"before": before})
    except ApiRefused as refused:
        return page.render(
            "console/timeline.html", context | {"error": refused.message}, status_code=_refusal_status(refused)
        )
    older = None
    if found.get("next_before"):
        older = "/console/timeline?" + urlencode(named | {"before": found["next_before"]})
    context |= {"entries": found["entries"], "older": older, "subject": found["subject"]}
    return page.render("console/timeline.html", context)


def _back_to_timeline(correlation_id: str | None) -> str | None:
    if correlation_id and len(correlation_id) <= 200 and correlation_id.isprintable():
        return "/console/timeline?" + urlencode({"correlation_id": correlation_id})
    return None


@router.get("/audit/{record_id}")
async def decryption_form(
    page: StaffPage, record_id: uuid.UUID, correlation_id: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    """Ask why before opening an audit record's details (the reason is recorded and auditors read it)."""
    context = {
        "title": "Decrypt an audit record",
        "record_id": record_id,
        "correlation_id": correlation_id or "",
        "back": _back_to_timeline(correlation_id),
        "reason_min": DECRYPTION_REASON_MIN,
        "reason_max": DECRYPTION_REASON_MAX,
    }
    return page.render("console/decrypt.html", context)


def _pretty(value: Any) -> str | None:
    return None if value is None else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@router.post("/audit/{record_id}")
async def decrypt(
    page: StaffForm,
    record_id: uuid.UUID,
    reason: Reason = "",
    correlation_id: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Open the record's before/after, stating why, and show them in this answer (never in a link, never cached)."""
    form = {
        "title": "Decrypt an audit record",
        "record_id": record_id,
        "correlation_id": correlation_id,
        "back": _back_to_timeline(correlation_id),
        "reason": reason,
        "reason_min": DECRYPTION_REASON_MIN,
        "reason_max": DECRYPTION_REASON_MAX,
    }
    if len(reason.strip()) < DECRYPTION_REASON_MIN:
        message = f"Say why you open this record in at least {DECRYPTION_REASON_MIN} characters: it is kept with it."
        return page.render("console/decrypt.html", form | {"error": message}, status_code=422)
    try:
        opened = await page.send("POST", f"/admin/v1/audit/records/{record_id}/decryption", {"reason": reason})
    except ApiRefused as refused:
        return page.render(
            "console/decrypt.html", form | {"error": refused.message}, status_code=_refusal_status(refused)
        )
    context = {
        "title": "Audit record details",
        "opened": opened,
        "record": opened["record"],
        "before": _pretty(opened.get("before")),
        "after": _pretty(opened.get("after")),
        "back": _back_to_timeline(opened["record"]["correlation_id"]),
    }
    return page.render("console/decrypted.html", context)


@router.get("/decryptions")
async def decryptions(page: StaffPage) -> Response:
    """Who decrypted which audit record, when and why (auditors and admins)."""
    context: dict[str, Any] = {"title": "Decryptions", "decryptions": None}
    try:
        context["decryptions"] = await page.read("/admin/v1/audit/decryptions")
    except ApiRefused as refused:
        return page.render(
            "console/decryptions.html", context | {"error": refused.message}, status_code=_refusal_status(refused)
        )
    return page.render("console/decryptions.html", context)


# Four-eyes approvals ------------------------------------------------------------------------------------------


async def _approvals_page(
    page: Page, *, notice: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    pending = await page.read("/admin/v1/approvals", {"status": "PENDING"})
    context = {
        "title": "Approvals",
        "approvals": pending,
        "kinds": APPROVAL_KINDS,
        "me": page.record.subject,
        "notice": notice,
        "error": error,
    }
    return page.render("console/approvals.html", context, status_code=status_code)


@router.get("/approvals")
async def approvals(page: StaffPage, notice: str | None = None) -> Response:
    """High-risk actions waiting for a second staff member."""
    return await _approvals_page(page, notice=_notice(notice))


@router.post("/approvals/{approval_id}/approve")
async def approve(page: StaffForm, approval_id: uuid.UUID) -> Response:
    """Carry out the held action as the second staff member: its own request again, with `Obank-Approval-Id`."""
    try:
        held = await page.read(f"/admin/v1/approvals/{approval_id}")
        if held["method"] not in _WRITE_METHODS or not held["path"].startswith("/admin/v1/"):
            raise ApiRefused(409, {"detail": "This approval holds no action the console can carry out."})
        await page.send(held["method"], held["path"], held["params"], headers={APPROVAL_HEADER: str(approval_id)})
    except ApiRefused as refused:
        return await _approvals_page(page, error=refused.message, status_code=_refusal_status(refused))
    return page.redirect("/console/approvals?notice=approved")


@router.post("/approvals/{approval_id}/reject")
async def reject(page: StaffForm, approval_id: uuid.UUID, reason: Reason = "") -> Response:
    """Reject another staff member's request, or withdraw one's own: the action never runs."""
    try:
        await page.send("POST", f"/admin/v1/approvals/{approval_id}/rejection", {"reason": reason})
    except ApiRefused as refused:
        return await _approvals_page(page, error=refused.message, status_code=_refusal_status(refused))
    return page.redirect("/console/approvals?notice=rejected")


# Fraud -------------------------------------------------------------------------------------------------------------


@router.get("/fraud")
async def fraud(page: StaffPage) -> Response:
    """Fraud alerts still open or under investigation, newest first, each linking to its customer."""
    context: dict[str, Any] = {"title": "Fraud alerts", "alerts": None}
    try:
        waiting = await page.read("/admin/v1/fraud/alerts", {"status": "OPEN"})
        investigating = await page.read("/admin/v1/fraud/alerts", {"status": "INVESTIGATING"})
    except ApiRefused as refused:
        return page.render(
            "console/fraud.html", context | {"error": refused.message}, status_code=_refusal_status(refused)
        )
    context["alerts"] = sorted([*waiting, *investigating], key=lambda alert: alert["created_at"], reverse=True)
    return page.render("console/fraud.html", context)


__all__ = ["router"]
