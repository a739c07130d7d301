"""The customer app's pages (`/app`): each calls the first-party API through the gateway with the customer's token.

Writes carry an idempotency key minted when the form is shown, so a double submission pays once; a payment or
payee the API wants a fresh SCA for waits in the session while the customer signs in again (web.signin).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from web.errors import ApiRefused
from web.money import AmountInvalid, parse_amount
from web.pages import Page, form_page_for, page_for, refusal_text
from web.sessions.schemas import PendingAction, Surface

router = APIRouter(prefix="/app", include_in_schema=False)

NOTICES = {
    "transfer-done": "Your money has moved.",
    "payee-added": "Payee added.",
    "payee-deleted": "Payee deleted.",
    "app-revoked": "That app can no longer see your accounts or make payments.",
    "sessions-ended": "You have been signed out everywhere else.",
    "session-ended": "That device has been signed out.",
    "order-cancelled": "The scheduled payment is cancelled.",
    "order-created": "The scheduled payment is set up.",
    "order-paused": "The scheduled payment is paused.",
    "order-resumed": "The scheduled payment is resumed.",
    "preferences-saved": "Your notification choices are saved.",
}
_MONTH = re.compile(r"20[0-9]{2}-(0[1-9]|1[0-2])")
_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def _customer_page(request: Request) -> Page:
    return await page_for(request, Surface.APP)


async def _customer_form(request: Request) -> Page:
    return await form_page_for(request, Surface.APP)


CustomerPage = Annotated[Page, Depends(_customer_page)]
CustomerForm = Annotated[Page, Depends(_customer_form)]


def _notice(code: str | None) -> str | None:
    return NOTICES.get(code or "")


def _key(value: str | None) -> str:
    """The form's idempotency key if it is one we minted (a UUID), else a fresh one."""
    return value if value and _UUID_TEXT.fullmatch(value) else str(uuid.uuid4())


@router.get("")
async def dashboard(page: CustomerPage, notice: str | None = None) -> Response:
    """Accounts and balances."""
    accounts = await page.read("/api/v1/accounts")
    context = {"title": "Your accounts", "accounts": accounts, "notice": _notice(notice)}
    return page.render("app/dashboard.html", context)


def _months(opened_at: str) -> list[str]:
    """This month so far and the months before it since the account opened, newest first (at most two years)."""
    today = datetime.now(UTC).date()
    opened = datetime.fromisoformat(opened_at).date()
    months: list[str] = [f"{today.year:04d}-{today.month:02d}"]
    year, month = today.year, today.month
    for _ in range(23):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        if date(year, month, 1) < opened.replace(day=1):
            break
        months.append(f"{year:04d}-{month:02d}")
    return months


@router.get("/accounts/{account_id}")
async def account(
    page: CustomerPage,
    account_id: uuid.UUID,
    from_date: Annotated[date | None, Query()] = None,
    to_date: Annotated[date | None, Query()] = None,
    direction: Annotated[str | None, Query(pattern="^(|CREDIT|DEBIT)$")] = None,
    min_amount: Annotated[str | None, Query(max_length=20)] = None,
    max_amount: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """An account's balances and transactions: date, direction and amount filters, pages of 25."""
    details = await page.read(f"/api/v1/accounts/{account_id}")
    currency = details["currency"]
    error = None
    params: dict[str, Any] = {
        "from_date": from_date,
        "to_date": to_date,
        "direction": direction or None,
        "cursor": cursor,
        "limit": 25,
    }
    try:
        params["min_amount_minor"] = parse_amount(min_amount, currency) if min_amount else None
        params["max_amount_minor"] = parse_amount(max_amount, currency) if max_amount else None
    except AmountInvalid as invalid:
        error = str(invalid)
    answer = await page.call("GET", f"/api/v1/accounts/{account_id}/transactions", params=params)
    history = answer.json() if answer.status_code == 200 else {"lines": [], "pending": [], "next_cursor": None}
    if answer.status_code != 200 and error is None:
        error = str(answer.json().get("detail") or "Those filters do not work together.")
    filters = {
        "from_date": from_date or "",
        "to_date": to_date or "",
        "direction": direction or "",
        "min_amount": min_amount or "",
        "max_amount": max_amount or "",
    }
    query = "&".join(f"{name}={value}" for name, value in filters.items() if value)
    context = {
        "title": details["name"],
        "account": details,
        "history": history,
        "filters": filters,
        "query": query,
        "error": error,
        "months": _months(details["opened_at"]),
    }
    return page.render("app/account.html", context)


@router.get("/accounts/{account_id}/statements/{month}")
async def statement(
    page: CustomerPage, account_id: uuid.UUID, month: str, format: Annotated[str, Query(pattern="^(pdf|csv)$")]
) -> Response:
    """A month's statement as the API renders it (PDF or CSV), downloaded."""
    if not _MONTH.fullmatch(month):
        raise ApiRefused(404, {"detail": "There is no statement for that month."})
    answer = await page.call("GET", f"/api/v1/accounts/{account_id}/statements/{month}", params={"format": format})
    if answer.status_code != 200:
        raise ApiRefused(answer.status_code, answer.json())
    headers = {"content-disposition": answer.headers.get("content-disposition", "attachment")}
    return Response(answer.content, media_type=answer.headers["content-type"], headers=headers)


# Paying ----------------------------------------------------------------------------------------------------------
async def _pay_form(page: Page, values: dict[str, Any], error: str | None = None, status_code: int = 200) -> Response:
    accounts = [a for a in await page.read("/api/v1/accounts") if a["status"] == "ACTIVE"]
    payees = await page.read("/api/v1/beneficiaries")
    context = {"title": "Pay someone", "accounts": accounts, "payees": payees, "values": values, "error": error}
    return page.render("app/pay.html", context, status_code=status_code)


@router.get("/pay")
async def pay_form(page: CustomerPage, payee_id: uuid.UUID | None = None) -> Response:
    """Pay a saved payee or a new account."""
    return await _pay_form(page, {"payee_id": str(payee_id or ""), "key": str(uuid.uuid4())})


@router.post("/pay")
async def pay(
    page: CustomerForm,
    from_account: Annotated[str, Form(max_length=36)],
    amount: Annotated[str, Form(max_length=20)],
    key: Annotated[str, Form(max_length=36)],
    payee_id: Annotated[str, Form(max_length=36)] = "",
    name: Annotated[str, Form(max_length=140)] = "",
    sort_code: Annotated[str, Form(max_length=8)] = "",
    account_number: Annotated[str, Form(max_length=8)] = "",
    reference: Annotated[str, Form(max_length=18)] = "",
) -> Response:
    """Send the payment (202, then its page shows how it goes)."""
    values = {
        "from_account": from_account,
        "amount": amount,
        "key": _key(key),
        "payee_id": payee_id,
        "name": name,
        "sort_code": sort_code,
        "account_number": account_number,
        "reference": reference,
    }
    accounts = {a["id"]: a for a in await page.read("/api/v1/accounts")}
    source = accounts.get(from_account)
    if source is None:
        return await _pay_form(page, values, "Choose the account to pay from.", 400)
    try:
        amount_minor = parse_amount(amount, source["currency"])
    except AmountInvalid as invalid:
        return await _pay_form(page, values, str(invalid), 400)
    body: dict[str, Any] = {"debtor_account_id": from_account, "amount_minor": amount_minor}
    body |= {"currency": source["currency"], "reference": reference.strip() or None}
    if payee_id:
        body["payee_id"] = payee_id
    elif name.strip() and sort_code.strip() and account_number.strip():
        body["payee"] = {"name": name.strip(), "sort_code": sort_code.strip(), "account_number": account_number.strip()}
    else:
        return await _pay_form(page, values, "Choose a payee, or give the name, sort code and account number.", 400)
    step_up = PendingAction(
        method="POST",
        path="/api/v1/payments",
        body=body,
        idempotency_key=values["key"],
        done="/app/payments/{id}",
        title="Pay someone",
    )
    answer = await page.call("POST", "/api/v1/payments", body=body, idempotency_key=values["key"], step_up=step_up)
    if answer.status_code >= 400:
        message = refusal_text(answer, "The payment could not be made.")
        return await _pay_form(page, values | {"key": str(uuid.uuid4())}, message, 400)
    return page.redirect(f"/app/payments/{answer.json()['id']}")


@router.get("/payments")
async def payments(page: CustomerPage, before: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    """Payments out of the bank, newest first."""
    listed = await page.read("/api/v1/payments", params={"limit": 25, "before": before})
    accounts = {a["id"]: a for a in await page.read("/api/v1/accounts")}
    context = {"title": "Payments", "payments": listed, "accounts": accounts}
    return page.render("app/payments.html", context)


@router.get("/payments/{payment_id}")
async def payment(page: CustomerPage, payment_id: uuid.UUID) -> Response:
    """One payment: where it is, and what the customer can still do (confirm a held one, cancel)."""
    found = await page.read(f"/api/v1/payments/{payment_id}")
    return page.render("app/payment.html", {"title": "Payment", "payment": found})


@router.post("/payments/{payment_id}/{decision}")
async def decide_payment(page: CustomerForm, payment_id: uuid.UUID, decision: str) -> Response:
    """Confirm (with a fresh SCA when asked) or cancel a payment waiting for the customer."""
    if decision not in ("confirm", "cancel"):
        raise ApiRefused(404, {"detail": "There is no such action."})
    path = f"/api/v1/payments/{payment_id}/{decision}"
    step_up = PendingAction(method="POST", path=path, done=f"/app/payments/{payment_id}", title="Payment")
    await page.send("POST", path, step_up=step_up)
    return page.redirect(f"/app/payments/{payment_id}")


# Moving money between own accounts ------------------------------------------------------------------------------
@router.get("/transfer")
async def transfer_form(page: CustomerPage) -> Response:
    accounts = [a for a in await page.read("/api/v1/accounts") if a["status"] == "ACTIVE"]
    context = {"title": "Move money", "accounts": accounts, "values": {"key": str(uuid.uuid4())}}
    return page.render("app/transfer.html", context)


@router.post("/transfer")
async def transfer(
    page: CustomerForm,
    from_account: Annotated[str, Form(max_length=36)],
    to_account: Annotated[str, Form(max_length=36)],
    amount: Annotated[str, Form(max_length=20)],
    key: Annotated[str, Form(max_length=36)],
    description: Annotated[str, Form(max_length=140)] = "",
) -> Response:
    """Move money between two of the customer's accounts (booked at once)."""
    accounts = {a["id"]: a for a in await page.read("/api/v1/accounts")}
    values = {"from_account": from_account, "to_account": to_account, "amount": amount, "key": _key(key)}
    values["description"] = description
    error = None
    source = accounts.get(from_account)
    if source is None or to_account not in accounts or from_account == to_account:
        error = "Choose two different accounts of yours."
    else:
        try:
            amount_minor = parse_amount(amount, source["currency"])
        except AmountInvalid as invalid:
            error = str(invalid)
    if error is None and source is not None:
        body = {
            "source_account_id": from_account,
            "destination_account_id": to_account,
            "amount_minor": amount_minor,
            "currency": source["currency"],
            "description": description.strip() or "Transfer",
        }
        step_up = PendingAction(
            method="POST",
            path="/api/v1/transfers",
            body=body,
            idempotency_key=values["key"],
            done="/app?notice=transfer-done",
            title="Move money",
        )
        answer = await page.call("POST", "/api/v1/transfers", body=body, idempotency_key=values["key"], step_up=step_up)
        if answer.status_code < 400:
            return page.redirect("/app?notice=transfer-done")
        error = refusal_text(answer, "The money could not be moved.")
        values["key"] = str(uuid.uuid4())
    active = [a for a in accounts.values() if a["status"] == "ACTIVE"]
    context = {"title": "Move money", "accounts": active, "values": values, "error": error}
    return page.render("app/transfer.html", context, status_code=400)


# Connected apps (Open Banking and the bank's own apps) ----------------------------------------------------------
@router.get("/connected-apps")
async def connected_apps(page: CustomerPage, notice: str | None = None) -> Response:
    """The apps the customer has let see their accounts or make payments, with revoke."""
    listed = await page.read("/api/v1/consents")
    current = page.web.client_ids[Surface.APP]
    others = [c for c in listed["consents"] if c["client_id"] != current]
    context = {"title": "Connected apps", "consents": others, "notice": _notice(notice)}
    return page.render("app/connected_apps.html", context)


@router.post("/connected-apps/{grant_id}/revoke")
async def revoke_app(page: CustomerForm, grant_id: uuid.UUID) -> Response:
    await page.send("DELETE", f"/api/v1/consents/{grant_id}")
    return page.redirect("/app/connected-apps?notice=app-revoked")


# Payees -------------------------------------------------------------------------------------------------------------
@router.get("/payees")
async def payees(page: CustomerPage, notice: str | None = None) -> Response:
    listed = await page.read("/api/v1/beneficiaries")
    return page.render("app/payees.html", {"title": "Payees", "payees": listed, "notice": _notice(notice)})


@router.get("/payees/new")
async def new_payee_form(page: CustomerPage) -> Response:
    """Step 1: the payee's name and account, checked with their bank (confirmation of payee)."""
    return page.render("app/payee_new.html", {"title": "Add a payee", "values": {}, "check": None})


@router.post("/payees/new")
async def new_payee(
    page: CustomerForm,
    name: Annotated[str, Form(max_length=140)],
    sort_code: Annotated[str, Form(max_length=8)],
    account_number: Annotated[str, Form(max_length=8)],
    nickname: Annotated[str, Form(max_length=40)] = "",
    confirmation_id: Annotated[str, Form(max_length=36)] = "",
    confirmed_despite: Annotated[str, Form(max_length=20)] = "",
    key: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Check the name (first submission), then add the payee with that check (second submission, after SCA)."""
    account = {"name": name.strip(), "sort_code": sort_code.strip(), "account_number": account_number.strip()}
    values = account | {"nickname": nickname, "key": _key(key)}
    if not confirmation_id:
        answer = await page.call("POST", "/api/v1/payee-confirmations", body=account)
        if answer.status_code >= 400:
            problem = answer.json() if answer.content else {}
            error = _first_error(problem) or "Check the name, sort code and account number."
            context = {"title": "Add a payee", "values": values, "check": None, "error": error}
            return page.render("app/payee_new.html", context, status_code=400)
        context = {"title": "Add a payee", "values": values, "check": answer.json()}
        return page.render("app/payee_new.html", context)
    body: dict[str, Any] = account | {"confirmation_id": confirmation_id, "nickname": nickname.strip() or None}
    if confirmed_despite:
        body["confirmed_despite"] = confirmed_despite
    step_up = PendingAction(
        method="POST",
        path="/api/v1/beneficiaries",
        body=body,
        idempotency_key=values["key"],
        done="/app/payees?notice=payee-added",
        title="Add a payee",
    )
    await page.send("POST", "/api/v1/beneficiaries", body, idempotency_key=values["key"], step_up=step_up)
    return page.redirect("/app/payees?notice=payee-added")


def _first_error(problem: dict[str, Any]) -> str | None:
    errors = problem.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("msg") or errors[0].get("detail") or "") or None
    detail = problem.get("detail")
    return str(detail) if detail else None


@router.post("/payees/{payee_id}/delete")
async def delete_payee(page: CustomerForm, payee_id: uuid.UUID) -> Response:
    await page.send("DELETE", f"/api/v1/beneficiaries/{payee_id}")
    return page.redirect("/app/payees?notice=payee-deleted")


# Scheduled payments and standing orders -----------------------------------------------------------------------------
@router.get("/scheduled")
async def scheduled(page: CustomerPage, notice: str | None = None) -> Response:
    orders = await page.read("/api/v1/scheduled-payments")
    accounts = {a["id"]: a for a in await page.read("/api/v1/accounts")}
    context = {"title": "Scheduled payments", "orders": orders, "accounts": accounts, "notice": _notice(notice)}
    return page.render("app/scheduled.html", context)


@router.post("/scheduled/{order_id}/{action}")
async def change_order(page: CustomerForm, order_id: uuid.UUID, action: str) -> Response:
    """Pause, resume or cancel a scheduled payment."""
    if action == "cancel":
        await page.send("DELETE", f"/api/v1/scheduled-payments/{order_id}")
        return page.redirect("/app/scheduled?notice=order-cancelled")
    if action not in ("pause", "resume"):
        raise ApiRefused(404, {"detail": "There is no such action."})
    await page.send("POST", f"/api/v1/scheduled-payments/{order_id}/{action}")
    return page.redirect(f"/app/scheduled?notice=order-{action}d")


# Messages from the bank and how they are sent -----------------------------------------------------------------------
@router.get("/notifications")
async def notifications(page: CustomerPage, offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> Response:
    inbox = await page.read("/api/v1/notifications", params={"limit": 20, "offset": offset})
    preferences = await page.read("/api/v1/notification-preferences")
    context = {"title": "Inbox", "inbox": inbox, "preferences": preferences, "offset": offset}
    return page.render("app/notifications.html", context)


@router.post("/notifications/{notification_id}/read")
async def mark_read(page: CustomerForm, notification_id: uuid.UUID) -> Response:
    await page.send("POST", f"/api/v1/notifications/{notification_id}/read")
    return page.redirect("/app/notifications")


# Security: where the customer is signed in ---------------------------------------------------------------------------
@router.get("/security")
async def security(page: CustomerPage, notice: str | None = None) -> Response:
    listed = await page.read("/api/v1/sessions")
    context = {"title": "Security", "sessions": listed["sessions"], "notice": _notice(notice)}
    return page.render("app/security.html", context)


@router.post("/security/sessions/{session_id}/end")
async def end_session(page: CustomerForm, session_id: uuid.UUID) -> Response:
    await page.send("DELETE", f"/api/v1/sessions/{session_id}")
    return page.redirect("/app/security?notice=session-ended")


@router.post("/security/sessions/end-others")
async def end_other_sessions(page: CustomerForm) -> Response:
    await page.send("DELETE", "/api/v1/sessions")
    return page.redirect("/app/security?notice=sessions-ended")
