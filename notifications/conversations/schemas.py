"""Shapes of secure messages: what customers and staff send, the records services hand back, what each reads.

Customers never see which staff member wrote: a staff message reads as from "obank support".
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from notifications.conversations.models import AttachmentType, AuthorKind, ConversationStatus

SUBJECT_MAX = 120
TEXT_MAX = 5000
MAX_ATTACHMENTS = 3
LIST_LIMIT = 50
LIST_MAX = 200
SUPPORT_NAME = "obank support"
CUSTOMER_NAME = "Customer"
YOU = "You"

# TAB, LF and CR may break a message into lines; other control characters never (`obank.inputs` refuses them in
# JSON bodies already; a multipart body reaches this check).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[\r\n\t]")


def _no_controls(value: str) -> str:
    if _CONTROLS.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _one_line(value: str) -> str:
    if _LINE_BREAKS.search(value):
        raise ValueError("the subject is one line")
    return value


Subject = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=SUBJECT_MAX),
    AfterValidator(_no_controls),
    AfterValidator(_one_line),
]
MessageText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX), AfterValidator(_no_controls)
]


# What callers send -------------------------------------------------------------------------------------------------


class ConversationCreate(BaseModel):
    """A new thread: its subject and first message (both sealed at rest)."""

    model_config = ConfigDict(extra="forbid")

    subject: Subject
    text: MessageText


class MessageCreate(BaseModel):
    """A message in a thread (sealed at rest). As multipart/form-data, a `text` field and up to three `files`."""

    model_config = ConfigDict(extra="forbid")

    text: MessageText


class MessageUpload(BaseModel):
    """The multipart/form-data form of a message (documentation of the request body only)."""

    text: str = Field(min_length=1, max_length=TEXT_MAX)
    files: list[bytes] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS,
        description="Up to 3 files, each a PDF, PNG or JPEG (by content) of at most 700 KB",
    )


# Records (what services return) -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    id: uuid.UUID
    message_id: uuid.UUID
    file_name: str
    media_type: AttachmentType
    size_bytes: int


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    """An attachment's content, to download."""

    file_name: str
    media_type: AttachmentType
    content: bytes


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: uuid.UUID
    author_kind: AuthorKind
    author_id: str
    text: str
    sent_at: datetime
    read_at: datetime | None
    attachments: tuple[AttachmentRecord, ...]


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    id: uuid.UUID
    customer_id: uuid.UUID
    subject: str
    status: ConversationStatus
    opened_at: datetime
    last_message_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    unread_count: int  # messages the reader has not read yet (the customer's or the staff's, as listed for)


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    conversation: ConversationRecord
    messages: tuple[MessageRecord, ...]


# What customers read -----------------------------------------------------------------------------------------------


class AttachmentRead(BaseModel):
    id: uuid.UUID
    file_name: str
    media_type: AttachmentType = Field(description="As the file's content shows, whatever its name said")
    size_bytes: int

    @classmethod
    def from_record(cls, record: AttachmentRecord) -> Self:
        return cls(id=record.id, file_name=record.file_name, media_type=record.media_type, size_bytes=record.size_bytes)


class ConversationSummary(BaseModel):
    """A thread in a list: newest activity first."""

    id: uuid.UUID
    subject: str
    status: ConversationStatus
    opened_at: datetime
    last_message_at: datetime
    unread_count: int = Field(description="Messages from support the customer has not read")

    @classmethod
    def from_record(cls, record: ConversationRecord) -> Self:
        return cls(
            id=record.id,
            subject=record.subject,
            status=record.status,
            opened_at=record.opened_at,
            last_message_at=record.last_message_at,
            unread_count=record.unread_count,
        )


class MessageRead(BaseModel):
    id: uuid.UUID
    author_kind: AuthorKind
    author: str = Field(description='"You", or "obank support" for any staff member')
    text: str
    sent_at: datetime
    attachments: list[AttachmentRead]

    @classmethod
    def from_record(cls, record: MessageRecord) -> Self:
        return cls(
            id=record.id,
            author_kind=record.author_kind,
            author=YOU if record.author_kind is AuthorKind.CUSTOMER else SUPPORT_NAME,
            text=record.text,
            sent_at=record.sent_at,
            attachments=[AttachmentRead.from_record(attachment) for attachment in record.attachments],
        )


class ConversationRead(BaseModel):
    """A thread with its messages, oldest first."""

    id: uuid.UUID
    subject: str
    status: ConversationStatus
    opened_at: datetime
    last_message_at: datetime
    closed_at: datetime | None
    messages: list[MessageRead]

    @classmethod
    def from_thread(cls, thread: ThreadRecord) -> Self:
        conversation = thread.conversation
        return cls(
            id=conversation.id,
            subject=conversation.subject,
            status=conversation.status,
            opened_at=conversation.opened_at,
            last_message_at=conversation.last_message_at,
            closed_at=conversation.closed_at,
            messages=[MessageRead.from_record(message) for message in thread.messages],
        )


# What staff read ---------------------------------------------------------------------------------------------------


class StaffConversationSummary(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    subject: str
    status: ConversationStatus
    opened_at: datetime
    last_message_at: datetime
    unread_count: int = Field(description="Messages from the customer no staff member has read")

    @classmethod
    def from_record(cls, record: ConversationRecord) -> Self:
        return cls(
            id=record.id,
            customer_id=record.customer_id,
            subject=record.subject,
            status=record.status,
            opened_at=record.opened_at,
            last_message_at=record.last_message_at,
            unread_count=record.unread_count,
        )


class StaffMessageRead(BaseModel):
    id: uuid.UUID
    author_kind: AuthorKind
    author: str = Field(description='"Customer", or the staff member who wrote it')
    staff_id: str | None = Field(description="The staff member who wrote it (staff messages only)")
    text: str
    sent_at: datetime
    read_at: datetime | None = Field(description="When the other side read it")
    attachments: list[AttachmentRead]

    @classmethod
    def from_record(cls, record: MessageRecord) -> Self:
        staff = record.author_kind is AuthorKind.STAFF
        return cls(
            id=record.id,
            author_kind=record.author_kind,
            author=record.author_id if staff else CUSTOMER_NAME,
            staff_id=record.author_id if staff else None,
            text=record.text,
            sent_at=record.sent_at,
            read_at=record.read_at,
            attachments=[AttachmentRead.from_record(attachment) for attachment in record.attachments],
        )


class StaffConversationRead(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    subject: str
    status: ConversationStatus
    opened_at: datetime
    last_message_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    messages: list[StaffMessageRead]

    @classmethod
    def from_thread(cls, thread: ThreadRecord) -> Self:
        conversation = thread.conversation
        return cls(
            id=conversation.id,
            customer_id=conversation.customer_id,
            subject=conversation.subject,
            status=conversation.status,
            opened_at=conversation.opened_at,
            last_message_at=conversation.last_message_at,
            closed_at=conversation.closed_at,
            closed_by=conversation.closed_by,
            messages=[StaffMessageRead.from_record(message) for message in thread.messages],
        )
