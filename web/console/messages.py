"""Support staff answering customers' secure messages (`/console/messages`): the threads waiting (or closed), a
thread with its messages and files, a reply, and closing it; all through `/admin/v1/conversations`, which admits
support staff and admins (others see the API's refusal)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from web.customer.messages import FIELD_MAX, attachment_response, described
from web.errors import ApiRefused
from web.pages import Page, form_page_for, page_for
from web.sessions.schemas import Surface

router = APIRouter(prefix="/console/messages", include_in_schema=False)

API = "/admin/v1/conversations"
NOTICES = {"sent": "Your answer is sent; the customer is told there is a new message.", "closed": "Thread closed."}
STATUSES = {"OPEN": "Open threads", "CLOSED": "Closed threads"}


async def _staff_page(request: Request) -> Page:
    return await page_for(request, Surface.CONSOLE)


async def _staff_form(request: Request) -> Page:
    return await form_page_for(request, Surface.CONSOLE)


StaffPage = Annotated[Page, Depends(_staff_page)]
StaffForm = Annotated[Page, Depends(_staff_form)]


def _status(refused: ApiRefused) -> int:
    return refused.status if 400 <= refused.status < 500 else 502


@router.get("")
async def threads(
    page: StaffPage, status: Annotated[str, Query(pattern="^(OPEN|CLOSED)$")] = "OPEN", notice: str | None = None
) -> Response:
    """Customers' threads in one state, newest activity first, with what no staff member has read yet."""
    context = {"title": "Secure messages", "status": status, "statuses": STATUSES, "threads": None}
    context["notice"] = NOTICES.get(notice or "")
    try:
        context["threads"] = await page.read(API, {"status": status, "limit": 200})
    except ApiRefused as refused:
        return page.render("console/messages.html", context | {"error": refused.message}, status_code=_status(refused))
    return page.render("console/messages.html", context)


async def _thread(
    page: Page,
    conversation_id: uuid.UUID,
    *,
    text: str = "",
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    thread = described(await page.read(f"{API}/{conversation_id}"))
    context = {"title": thread["subject"], "thread": thread, "text": text, "notice": notice, "error": error}
    return page.render("console/messages_thread.html", context, status_code=status_code)


@router.get("/{conversation_id}")
async def thread(page: StaffPage, conversation_id: uuid.UUID, notice: str | None = None) -> Response:
    """A thread, oldest message first, naming who answered; the customer's messages are then read."""
    return await _thread(page, conversation_id, notice=NOTICES.get(notice or ""))


@router.post("/{conversation_id}/reply")
async def reply(
    page: StaffForm, conversation_id: uuid.UUID, text: Annotated[str, Form(max_length=FIELD_MAX)] = ""
) -> Response:
    """Answer the customer; a refusal (a closed thread, an empty answer) is shown on the thread."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        await page.send("POST", f"{API}/{conversation_id}/messages", {"text": text})
    except ApiRefused as refused:
        return await _thread(page, conversation_id, text=text, error=refused.message, status_code=_status(refused))
    return page.redirect(f"/console/messages/{conversation_id}?notice=sent")


@router.post("/{conversation_id}/close")
async def close(page: StaffForm, conversation_id: uuid.UUID) -> Response:
    """Close the thread: the customer can read it but not write in it."""
    await page.send("POST", f"{API}/{conversation_id}/close")
    return page.redirect(f"/console/messages/{conversation_id}?notice=closed")


@router.get("/{conversation_id}/attachments/{attachment_id}")
async def attachment(page: StaffPage, conversation_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    """A file the customer sent, downloaded."""
    return attachment_response(await page.call("GET", f"{API}/{conversation_id}/attachments/{attachment_id}"))
