"""The customer's secure messages with the bank (`/app/messages`): their threads, a new one, a thread with its
messages and a reply form that takes files, and the files themselves, all through `/api/v1/conversations`.

Files are sent on as the browser gave them; the API checks them by content (PDF, PNG, JPEG, 700 KB each, three a
message) and its refusal is shown on the thread. Downloads come back with the API's media type and disposition.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from web.errors import ApiRefused
from web.pages import Page, form_page_for, page_for, refusal_text
from web.sessions.schemas import Surface

router = APIRouter(prefix="/app/messages", include_in_schema=False)

API = "/api/v1/conversations"
# Longer than the API takes, so that the API says what is wrong in words (a form limit would be a bare 400 page).
FIELD_MAX = 20_000
FILES_READ_MAX = 1_048_576  # the gateway refuses bodies over 1 MB: no file of a form that got here is larger
MEDIA_TYPES = {"application/pdf": "PDF", "image/png": "PNG image", "image/jpeg": "JPEG image"}
NOTICES = {"sent": "Your message is sent.", "opened": "Your message is sent. We will answer here."}


async def _customer_page(request: Request) -> Page:
    return await page_for(request, Surface.APP)


async def _customer_form(request: Request) -> Page:
    return await form_page_for(request, Surface.APP)


CustomerPage = Annotated[Page, Depends(_customer_page)]
CustomerForm = Annotated[Page, Depends(_customer_form)]
FormText = Annotated[str, Form(max_length=FIELD_MAX)]


def _lines(text: str) -> str:
    """A textarea's CR LF line breaks as the API keeps them."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _size(size_bytes: int) -> str:
    return f"{size_bytes} bytes" if size_bytes < 1024 else f"{size_bytes / 1024:.0f} KB"


def described(thread: dict[str, Any]) -> dict[str, Any]:
    """The thread with each attachment's kind and size in words."""
    for message in thread["messages"]:
        for attachment in message["attachments"]:
            attachment["kind"] = MEDIA_TYPES.get(attachment["media_type"], "file")
            attachment["size"] = _size(int(attachment["size_bytes"]))
    return thread


def attachment_response(answer: httpx.Response) -> Response:
    """The API's file sent on as a download with its media type (one of the three, else octet-stream)."""
    if answer.status_code != 200:
        raise ApiRefused(answer.status_code, {"detail": refusal_text(answer, "There is no such file.")})
    media_type = answer.headers.get("content-type", "").split(";", 1)[0].strip()
    # The gateway adds `x-content-type-options: nosniff` to every response, and PageSecurityHeaders the page CSP.
    headers = {
        "content-disposition": answer.headers.get("content-disposition", "attachment"),
        "cache-control": "no-store",
    }
    return Response(
        answer.content,
        media_type=media_type if media_type in MEDIA_TYPES else "application/octet-stream",
        headers=headers,
    )


async def _list(
    page: Page, values: dict[str, str], *, notice: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    threads = await page.read(API, {"limit": 100})
    context = {"title": "Messages", "threads": threads, "values": values, "notice": notice, "error": error}
    return page.render("app/messages.html", context, status_code=status_code)


@router.get("")
async def messages(page: CustomerPage, notice: str | None = None) -> Response:
    """The customer's conversations with support, newest activity first, and a form to start one."""
    return await _list(page, {}, notice=NOTICES.get(notice or ""))


@router.post("")
async def new_conversation(page: CustomerForm, subject: FormText = "", text: FormText = "") -> Response:
    """Start a conversation; a refusal shows the form again with what was typed."""
    body = {"subject": subject.strip(), "text": _lines(text)}
    answer = await page.call("POST", API, body=body)
    if answer.status_code >= 400:
        error = refusal_text(answer, "The message could not be sent.")
        return await _list(page, {"subject": subject, "text": text}, error=error, status_code=_status(answer))
    return page.redirect(f"/app/messages/{answer.json()['id']}?notice=opened")


def _status(answer: httpx.Response) -> int:
    return answer.status_code if 400 <= answer.status_code < 500 else 502


async def _thread(
    page: Page,
    conversation_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    thread = described(await page.read(f"{API}/{conversation_id}"))
    context = {
        "title": thread["subject"],
        "thread": thread,
        "values": values or {},
        "notice": notice,
        "error": error,
    }
    return page.render("app/messages_thread.html", context, status_code=status_code)


@router.get("/{conversation_id}")
async def conversation(page: CustomerPage, conversation_id: uuid.UUID, notice: str | None = None) -> Response:
    """A conversation, oldest message first (support's answers are then read), with the reply form."""
    return await _thread(page, conversation_id, notice=NOTICES.get(notice or ""))


@router.post("/{conversation_id}")
async def reply(page: CustomerForm, conversation_id: uuid.UUID, request: Request) -> Response:
    """Reply, with up to three files (multipart/form-data); the API's refusal is shown on the thread."""
    form = await request.form()  # parsed once already, for its CSRF token
    text = form.get("text")
    text = _lines(text) if isinstance(text, str) else ""
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for upload in form.getlist("files"):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue  # a file input left empty sends a part with no name and no content
        content = await upload.read(FILES_READ_MAX)
        files.append(("files", (upload.filename, content, upload.content_type or "application/octet-stream")))
    path = f"{API}/{conversation_id}/messages"
    if files:
        answer = await page.call("POST", path, data={"text": text}, files=files)
    else:
        answer = await page.call("POST", path, body={"text": text})
    if answer.status_code >= 400:
        error = refusal_text(answer, "The message could not be sent.")
        return await _thread(page, conversation_id, values={"text": text}, error=error, status_code=_status(answer))
    return page.redirect(f"/app/messages/{conversation_id}?notice=sent")


@router.get("/{conversation_id}/attachments/{attachment_id}")
async def attachment(page: CustomerPage, conversation_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    """A file of the conversation, downloaded."""
    return attachment_response(await page.call("GET", f"{API}/{conversation_id}/attachments/{attachment_id}"))
