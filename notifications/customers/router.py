"""The customer's notification preferences (`/api/v1/notification-preferences`) and in-app inbox
(`/api/v1/notifications`); the development mail sink's pages (`/dev/mail`, never routed in production)."""

from __future__ import annotations

import uuid
from html import escape
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from notifications.customers import service
from notifications.customers.schemas import InboxMessage, InboxPage, PreferencesRead, PreferencesUpdate
from notifications.customers.sink import kept_mail, kept_mails
from notifications.dependencies import Customer, UnitOfWorkDep
from obank.database import SessionDep
from obank.problems import ProblemError
from obank.runtime import KeyRingDep, Platform

preferences_router = APIRouter(prefix="/api/v1/notification-preferences", tags=["notifications"])
inbox_router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
mail_router = APIRouter(prefix="/dev/mail", tags=["development"], include_in_schema=False)


@preferences_router.get("")
async def get_preferences(customer: Customer, session: SessionDep) -> PreferencesRead:
    """Every kind of notification with its channels, and the low-balance threshold."""
    return await service.get_preferences(session, customer.customer_id)


@preferences_router.put("")
async def replace_preferences(body: PreferencesUpdate, customer: Customer, uow: UnitOfWorkDep) -> PreferencesRead:
    """Replace the preferences; a security notice's email cannot be turned off (422 naming the kind)."""
    return await service.replace_preferences(uow, customer.customer_id, body)


@inbox_router.get("")
async def list_notifications(
    customer: Customer,
    session: SessionDep,
    keyring: KeyRingDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> InboxPage:
    """The customer's in-app notifications, newest first."""
    return await service.inbox(session, keyring, customer.customer_id, limit, offset)


@inbox_router.post("/{notification_id}/read")
async def mark_read(notification_id: uuid.UUID, customer: Customer, uow: UnitOfWorkDep) -> InboxMessage:
    """Mark one notification read."""
    return await service.mark_read(uow, customer.customer_id, notification_id)


class NotDevelopment(ProblemError):
    status = 404
    code = "not_found"
    title = "Not found"


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    if platform.settings.is_production:
        raise NotDevelopment("the mail sink exists only in development")
    return platform


_PAGE = (
    '<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title></head>'
    '<body style="font-family: sans-serif;"><h1>{title}</h1>{body}</body></html>'
)


@mail_router.get("", response_class=HTMLResponse)
async def mail_list(request: Request) -> HTMLResponse:
    """The emails the development sink kept, newest first."""
    platform = _platform(request)
    rows = "".join(
        f"<tr><td>{escape(mail.received_at.isoformat(timespec='seconds'))}</td>"
        f"<td>{escape(', '.join(mail.recipients))}</td>"
        f'<td><a href="/dev/mail/{mail.id}">{escape(mail.subject)}</a></td></tr>'
        for mail in await kept_mails(platform.sessions, platform.keyring, limit=100)
    )
    table = f"<table><tr><th>received</th><th>to</th><th>subject</th></tr>{rows}</table>" if rows else "<p>No mail.</p>"
    return HTMLResponse(_PAGE.format(title="Development mail sink", body=table))


@mail_router.get("/{mail_id}", response_class=HTMLResponse)
async def mail_view(mail_id: uuid.UUID, request: Request) -> HTMLResponse:
    """One kept email: its headers and its plain text part (shown as text; its HTML is never rendered here)."""
    platform = _platform(request)
    mail = await kept_mail(platform.sessions, platform.keyring, mail_id)
    if mail is None:
        raise NotDevelopment(f"no mail {mail_id}")
    body = (
        f"<p>To: {escape(', '.join(mail.recipients))}<br>Subject: {escape(mail.subject)}</p>"
        f'<h2>Text</h2><pre style="white-space: pre-wrap;">{escape(mail.part("plain") or "")}</pre>'
        f'<h2>HTML source</h2><pre style="white-space: pre-wrap;">{escape(mail.part("html") or "")}</pre>'
        '<p><a href="/dev/mail">All mail</a></p>'
    )
    return HTMLResponse(_PAGE.format(title=escape(mail.subject), body=body))
