"""Secure messages over HTTP: the customer's threads under /api/v1/conversations, support staff's under
/admin/v1/conversations (support and admin roles, as the gateway's rows). Another customer's thread reads as
unknown (404); a closed thread takes no messages (409).

Attachments come with a customer's message as multipart/form-data: up to three files, each checked by its content
(PDF, PNG or JPEG by signature; the name and declared type are ignored) and at most 700 KB. The gateway refuses
request bodies over 1 MB (`OBANK_MAX_REQUEST_BODY_BYTES`) before they get here, so a message carries at most
1 MB of files in all.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from notifications.conversations import service
from notifications.conversations.auth import Customer, SupportStaff
from notifications.conversations.errors import UnsupportedMessageBody
from notifications.conversations.models import ATTACHMENT_MAX_BYTES, AttachmentType, AuthorKind, ConversationStatus
from notifications.conversations.schemas import (
    LIST_LIMIT,
    LIST_MAX,
    MAX_ATTACHMENTS,
    AttachmentFile,
    ConversationCreate,
    ConversationRead,
    ConversationSummary,
    MessageCreate,
    MessageRead,
    MessageUpload,
    StaffConversationRead,
    StaffConversationSummary,
    StaffMessageRead,
)
from notifications.conversations.service import Upload
from notifications.dependencies import UnitOfWorkDep
from obank.database import SessionDep
from obank.problems import problem_responses
from obank.runtime import KeyRingDep

CUSTOMER_PREFIX = "/api/v1/conversations"
STAFF_PREFIX = "/admin/v1/conversations"
OFFSET_MAX = 100_000
_FORM_FIELDS_MAX = 8

customer_router = APIRouter(
    prefix=CUSTOMER_PREFIX,
    tags=["secure messages"],
    responses=problem_responses(
        (
            (401, "No valid principal assertion"),
            (403, "The principal is not a customer"),
            (422, "Invalid request, naming the field"),
        )
    ),
)
staff_router = APIRouter(
    prefix=STAFF_PREFIX,
    tags=["admin: secure messages"],
    responses=problem_responses(
        (
            (401, "No valid principal assertion"),
            (403, "The principal is not support staff or an admin"),
            (422, "Invalid request, naming the field"),
        )
    ),
)

ConversationId = Annotated[uuid.UUID, Path(description="The conversation's id")]
AttachmentId = Annotated[uuid.UUID, Path(description="The attachment's id")]
Limit = Annotated[int, Query(ge=1, le=LIST_MAX, description="How many threads, newest activity first")]
Offset = Annotated[int, Query(ge=0, le=OFFSET_MAX, description="How many threads to skip (the next page)")]

_NOT_FOUND = problem_responses(((404, "No such conversation (or not the customer's)"),))
_CLOSED = problem_responses(((409, "The conversation is closed"),))
_ATTACHMENT_PROBLEMS = problem_responses(
    (
        (413, f"An attachment is over {ATTACHMENT_MAX_BYTES // 1024} KB (attachment_too_large)"),
        (
            415,
            "An attachment's content is not a PDF, PNG or JPEG (attachment_type_refused), or the body is neither "
            "JSON nor multipart/form-data",
        ),
    )
)
_DOWNLOAD = {
    200: {
        "description": "The file, as the media type its content showed, to download",
        "content": {
            media_type.value: {"schema": {"type": "string", "format": "binary"}} for media_type in AttachmentType
        },
    },
    **problem_responses(((404, "No such conversation or attachment"),)),
}
_MESSAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": MessageCreate.model_json_schema()},
            "multipart/form-data": {"schema": MessageUpload.model_json_schema()},
        },
    }
}


def _validation_error(error: ValidationError) -> RequestValidationError:
    return RequestValidationError(
        [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False, include_context=False)]
    )


def _refused_field(name: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", name), "msg": message, "type": "value_error"}])


async def _message_body(request: Request) -> tuple[str, list[Upload]]:
    """A message's text and files from a JSON body, or a multipart/form-data one (`text`, `files`)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        try:
            return MessageCreate.model_validate_json(await request.body()).text, []
        except ValidationError as error:
            raise _validation_error(error) from error
    if media_type != "multipart/form-data":
        raise UnsupportedMessageBody("send application/json, or multipart/form-data with text and files")
    # One file more than allowed is parsed, so that it is refused in our words (a 422 naming `files`).
    form = await request.form(max_files=MAX_ATTACHMENTS + 1, max_fields=_FORM_FIELDS_MAX)
    try:
        texts: list[str] = []
        uploads: list[Upload] = []
        for name, value in form.multi_items():
            if name == "text" and isinstance(value, str):
                texts.append(value)
            elif name == "files" and isinstance(value, UploadFile):
                content = await value.read(ATTACHMENT_MAX_BYTES + 1)  # one byte over is enough to refuse it
                uploads.append(Upload(value.filename, content))
            else:
                raise _refused_field(name, "only a text field and files are sent")
        if len(texts) != 1:
            raise _refused_field("text", "one text field is required")
        try:
            text = MessageCreate(text=texts[0]).text
        except ValidationError as error:
            raise _validation_error(error) from error
        return text, uploads
    finally:
        await form.close()


def _download(attachment: AttachmentFile) -> Response:
    """The file as a download, its type the one its content showed; never rendered or sniffed by a browser."""
    fallback = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in attachment.file_name
    )
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(attachment.file_name, safe='')}"
    headers = {
        "content-disposition": disposition,
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
        "content-security-policy": "default-src 'none'; sandbox",
    }
    return Response(attachment.content, media_type=attachment.media_type.value, headers=headers)


# Customers ---------------------------------------------------------------------------------------------------------


@customer_router.get("")
async def list_conversations(
    customer: Customer, session: SessionDep, keyring: KeyRingDep, limit: Limit = LIST_LIMIT, offset: Offset = 0
) -> list[ConversationSummary]:
    """The customer's threads, newest activity first, each with how many answers they have not read."""
    records = await service.list_conversations(
        session, keyring, AuthorKind.CUSTOMER, customer_id=customer.customer_id, limit=limit, offset=offset
    )
    return [ConversationSummary.from_record(record) for record in records]


@customer_router.post("", status_code=201)
async def open_conversation(body: ConversationCreate, customer: Customer, uow: UnitOfWorkDep) -> ConversationRead:
    """Start a thread with the bank's support staff: a subject (1-120 characters, one line) and a first message
    (1-5000). Not idempotent: a retried request opens a second thread."""
    thread = await service.open_conversation(uow, customer.customer_id, body.subject, body.text)
    return ConversationRead.from_thread(thread)


@customer_router.get("/{conversation_id}", responses=_NOT_FOUND)
async def get_conversation(conversation_id: ConversationId, customer: Customer, uow: UnitOfWorkDep) -> ConversationRead:
    """One of the customer's threads with its messages oldest first; support's answers are marked read."""
    thread = await service.read_thread(uow, conversation_id, AuthorKind.CUSTOMER, customer_id=customer.customer_id)
    return ConversationRead.from_thread(thread)


@customer_router.post(
    "/{conversation_id}/messages",
    status_code=201,
    openapi_extra=_MESSAGE_BODY,
    responses={**_NOT_FOUND, **_CLOSED, **_ATTACHMENT_PROBLEMS},
)
async def add_customer_message(
    conversation_id: ConversationId, request: Request, customer: Customer, uow: UnitOfWorkDep
) -> MessageRead:
    """Write in an open thread: JSON `{"text"}`, or multipart/form-data with `text` and up to 3 `files` (PDF, PNG
    or JPEG by content, at most 700 KB each; the gateway refuses bodies over 1 MB). A file of another type is 415
    `attachment_type_refused`, a larger one 413 `attachment_too_large`; a closed thread 409."""
    text, uploads = await _message_body(request)
    record = await service.add_message(
        uow,
        conversation_id,
        AuthorKind.CUSTOMER,
        str(customer.customer_id),
        text,
        uploads,
        customer_id=customer.customer_id,
    )
    return MessageRead.from_record(record)


@customer_router.get("/{conversation_id}/attachments/{attachment_id}", response_class=Response, responses=_DOWNLOAD)
async def download_customer_attachment(
    conversation_id: ConversationId,
    attachment_id: AttachmentId,
    customer: Customer,
    session: SessionDep,
    keyring: KeyRingDep,
) -> Response:
    """An attachment of one of the customer's threads, as a download."""
    attachment = await service.attachment_file(
        session, keyring, conversation_id, attachment_id, customer_id=customer.customer_id
    )
    return _download(attachment)


# Support staff -----------------------------------------------------------------------------------------------------


@staff_router.get("")
async def list_staff_conversations(
    _staff: SupportStaff,
    session: SessionDep,
    keyring: KeyRingDep,
    status: Annotated[ConversationStatus | None, Query(description="Only threads in this state")] = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Only this customer's threads")] = None,
    limit: Limit = LIST_LIMIT,
    offset: Offset = 0,
) -> list[StaffConversationSummary]:
    """Customers' threads, newest activity first, each with how many of the customer's messages no staff member
    has read."""
    records = await service.list_conversations(
        session, keyring, AuthorKind.STAFF, customer_id=customer_id, status=status, limit=limit, offset=offset
    )
    return [StaffConversationSummary.from_record(record) for record in records]


@staff_router.get("/{conversation_id}", responses=_NOT_FOUND)
async def get_staff_conversation(
    conversation_id: ConversationId, _staff: SupportStaff, uow: UnitOfWorkDep
) -> StaffConversationRead:
    """A thread with its messages oldest first, naming the staff member who wrote each answer; the customer's
    messages are marked read (audited)."""
    return StaffConversationRead.from_thread(await service.read_thread(uow, conversation_id, AuthorKind.STAFF))


@staff_router.post("/{conversation_id}/messages", status_code=201, responses={**_NOT_FOUND, **_CLOSED})
async def add_staff_message(
    conversation_id: ConversationId, body: MessageCreate, staff: SupportStaff, uow: UnitOfWorkDep
) -> StaffMessageRead:
    """Answer in an open thread (the customer is told there is a new message, never its text)."""
    record = await service.add_message(uow, conversation_id, AuthorKind.STAFF, staff.subject, body.text)
    return StaffMessageRead.from_record(record)


@staff_router.post("/{conversation_id}/close", responses=_NOT_FOUND)
async def close_conversation(
    conversation_id: ConversationId, staff: SupportStaff, uow: UnitOfWorkDep
) -> StaffConversationRead:
    """Close a thread: it takes no more messages. Closing it again answers the same."""
    return StaffConversationRead.from_thread(await service.close_conversation(uow, conversation_id, staff.subject))


@staff_router.get("/{conversation_id}/attachments/{attachment_id}", response_class=Response, responses=_DOWNLOAD)
async def download_staff_attachment(
    conversation_id: ConversationId,
    attachment_id: AttachmentId,
    _staff: SupportStaff,
    session: SessionDep,
    keyring: KeyRingDep,
) -> Response:
    """An attachment of a thread, as a download."""
    return _download(await service.attachment_file(session, keyring, conversation_id, attachment_id))
