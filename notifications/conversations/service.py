"""Secure messages: customers open threads and write to support staff, who answer and close them.

Subjects, texts, file names and files are sealed to their rows; events and audit records carry ids, counts,
media types and sizes only. Every change reports its audit record and its event (topic
`notifications.conversations`) to the unit of work, so they commit with it. A staff answer's
`conversation.message_added` is what tells the customer (`notifications.customers` makes a SECURE_MESSAGE
notice of it: never the text).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.conversations import repository
from notifications.conversations.attachments import clean_file_name, detect_type
from notifications.conversations.errors import (
    AttachmentNotFound,
    AttachmentTooLarge,
    AttachmentTypeRefused,
    ConversationClosed,
    ConversationNotFound,
    TooManyAttachments,
)
from notifications.conversations.models import (
    ATTACHMENT_MAX_BYTES,
    AuthorKind,
    Conversation,
    ConversationAttachment,
    ConversationMessage,
    ConversationStatus,
)
from notifications.conversations.schemas import (
    MAX_ATTACHMENTS,
    AttachmentFile,
    AttachmentRecord,
    ConversationRecord,
    MessageRecord,
    ThreadRecord,
)
from obank.crypto import KeyRing, seal, unseal
from obank.unit_of_work import UnitOfWork

TOPIC = "notifications.conversations"
OPENED = "conversation.opened"
MESSAGE_ADDED = "conversation.message_added"
READ = "conversation.read"
CLOSED = "conversation.closed"
# Purposes each sealed value is bound to (with its row's id).
SUBJECT = "conversation.subject"
TEXT = "conversation_message.text"
FILE_NAME = "conversation_attachment.file_name"
CONTENT = "conversation_attachment.content"


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as it arrived: the name the sender gave (untrusted) and its bytes."""

    file_name: str | None
    content: bytes


# Reading -----------------------------------------------------------------------------------------------------------


def _record(keyring: KeyRing, conversation: Conversation, unread: int) -> ConversationRecord:
    return ConversationRecord(
        id=conversation.id,
        customer_id=conversation.customer_id,
        subject=unseal(keyring, conversation.id, SUBJECT, conversation.subject_sealed).decode(),
        status=conversation.status,
        opened_at=conversation.opened_at,
        last_message_at=conversation.last_message_at,
        closed_at=conversation.closed_at,
        closed_by=conversation.closed_by,
        unread_count=unread,
    )


def _attachment(keyring: KeyRing, row: ConversationAttachment) -> AttachmentRecord:
    file_name = unseal(keyring, row.id, FILE_NAME, row.file_name_sealed).decode()
    return AttachmentRecord(row.id, row.message_id, file_name, row.media_type, row.size_bytes)


async def _thread(session: AsyncSession, keyring: KeyRing, conversation: Conversation, unread: int) -> ThreadRecord:
    attachments: dict[uuid.UUID, list[AttachmentRecord]] = {}
    for row in await repository.attachments_of(session, conversation.id):
        attachments.setdefault(row.message_id, []).append(_attachment(keyring, row))
    messages = tuple(
        MessageRecord(
            id=message.id,
            author_kind=message.author_kind,
            author_id=message.author_id,
            text=unseal(keyring, message.id, TEXT, message.text_sealed).decode(),
            sent_at=message.sent_at,
            read_at=message.read_at,
            attachments=tuple(attachments.get(message.id, ())),
        )
        for message in await repository.messages_of(session, conversation.id)
    )
    return ThreadRecord(_record(keyring, conversation, unread), messages)


async def list_conversations(
    session: AsyncSession,
    keyring: KeyRing,
    reader: AuthorKind,
    *,
    customer_id: uuid.UUID | None = None,
    status: ConversationStatus | None = None,
    limit: int,
    offset: int = 0,
) -> list[ConversationRecord]:
    """Threads newest activity first, each with what `reader` has not read (a customer: only their own)."""
    rows = await repository.conversations(
        session, reader, customer_id=customer_id, status=status, limit=limit, offset=offset
    )
    return [_record(keyring, conversation, unread) for conversation, unread in rows]


async def _found(
    session: AsyncSession, conversation_id: uuid.UUID, customer_id: uuid.UUID | None, *, for_update: bool = False
) -> Conversation:
    conversation = await repository.conversation(
        session, conversation_id, customer_id=customer_id, for_update=for_update
    )
    if conversation is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    return conversation


async def read_thread(
    uow: UnitOfWork,
    conversation_id: uuid.UUID,
    reader: AuthorKind,
    *,
    customer_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> ThreadRecord:
    """A thread with its messages oldest first; the other side's messages are marked read by `reader` (audited
    when that changes anything). A customer reads only their own: another's reads as unknown."""
    conversation = await _found(uow.session, conversation_id, customer_id)
    writer = AuthorKind.STAFF if reader is AuthorKind.CUSTOMER else AuthorKind.CUSTOMER
    marked = await repository.mark_read(uow.session, conversation.id, writer, now or datetime.now(UTC))
    if marked:
        detail = {
            "conversation_id": str(conversation.id),
            "customer_id": str(conversation.customer_id),
            "reader_kind": reader.value,
            "message_ids": [str(message_id) for message_id in marked],
        }
        uow.audit(action=READ, entity_type="conversation", entity_id=str(conversation.id), after=detail)
        uow.publish(topic=TOPIC, event_type=READ, key=str(conversation.customer_id), payload=detail)
    return await _thread(uow.session, uow.keyring, conversation, 0)


async def attachment_file(
    session: AsyncSession,
    keyring: KeyRing,
    conversation_id: uuid.UUID,
    attachment_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
) -> AttachmentFile:
    """An attachment's content and its name (the thread must be the customer's, when one asks)."""
    await _found(session, conversation_id, customer_id)
    row = await repository.attachment(session, conversation_id, attachment_id)
    if row is None:
        raise AttachmentNotFound(f"no attachment {attachment_id} in this conversation")
    return AttachmentFile(
        file_name=unseal(keyring, row.id, FILE_NAME, row.file_name_sealed).decode(),
        media_type=row.media_type,
        content=unseal(keyring, row.id, CONTENT, row.content_sealed),
    )


# Writing -----------------------------------------------------------------------------------------------------------


def checked_attachments(
    keyring: KeyRing, uploads: Sequence[Upload], message_id: uuid.UUID, conversation_id: uuid.UUID, now: datetime
) -> list[ConversationAttachment]:
    """Each upload checked by its content (type by signature, size) and sealed; one refusal refuses them all."""
    if len(uploads) > MAX_ATTACHMENTS:
        raise TooManyAttachments(f"files: at most {MAX_ATTACHMENTS} attachments a message")
    rows = []
    for index, upload in enumerate(uploads):
        if len(upload.content) > ATTACHMENT_MAX_BYTES:
            raise AttachmentTooLarge(f"files.{index}: each attachment is at most {ATTACHMENT_MAX_BYTES // 1024} KB")
        media_type = detect_type(upload.content)
        if media_type is None:
            raise AttachmentTypeRefused(f"files.{index}: the file's content is not a PDF, PNG or JPEG")
        attachment_id = uuid.uuid4()
        file_name = clean_file_name(upload.file_name, media_type)
        rows.append(
            ConversationAttachment(
                id=attachment_id,
                conversation_id=conversation_id,
                message_id=message_id,
                position=index,
                media_type=media_type,
                size_bytes=len(upload.content),
                file_name_sealed=seal(keyring, attachment_id, FILE_NAME, file_name.encode()),
                content_sealed=seal(keyring, attachment_id, CONTENT, upload.content),
                created_at=now,
            )
        )
    return rows


async def _add_message(
    uow: UnitOfWork,
    conversation: Conversation,
    author_kind: AuthorKind,
    author_id: str,
    text: str,
    uploads: Sequence[Upload],
    now: datetime,
) -> tuple[ConversationMessage, list[ConversationAttachment]]:
    message_id = uuid.uuid4()
    attachments = checked_attachments(uow.keyring, uploads, message_id, conversation.id, now)
    message = ConversationMessage(
        id=message_id,
        conversation_id=conversation.id,
        author_kind=author_kind,
        author_id=author_id,
        text_sealed=seal(uow.keyring, message_id, TEXT, text.encode()),
        sent_at=now,
    )
    await repository.add_message(uow.session, message, attachments)
    conversation.last_message_at = now
    await uow.session.flush()
    return message, attachments


def _message_facts(
    conversation: Conversation, message: ConversationMessage, attachments: Sequence[ConversationAttachment]
) -> dict[str, Any]:
    """What an event or audit record says of a message: ids, who wrote (kind), the files' types and sizes."""
    return {
        "conversation_id": str(conversation.id),
        "customer_id": str(conversation.customer_id),
        "message_id": str(message.id),
        "author_kind": message.author_kind.value,
        "attachments": [
            {"id": str(row.id), "media_type": row.media_type.value, "size_bytes": row.size_bytes} for row in attachments
        ],
    }


async def open_conversation(
    uow: UnitOfWork,
    customer_id: uuid.UUID,
    subject: str,
    text: str,
    uploads: Sequence[Upload] = (),
    *,
    now: datetime | None = None,
) -> ThreadRecord:
    """A customer's new thread with its first message."""
    now = now or datetime.now(UTC)
    conversation_id = uuid.uuid4()
    conversation = Conversation(
        id=conversation_id,
        customer_id=customer_id,
        subject_sealed=seal(uow.keyring, conversation_id, SUBJECT, subject.encode()),
        status=ConversationStatus.OPEN,
        opened_at=now,
        last_message_at=now,
    )
    await repository.add_conversation(uow.session, conversation)
    message, attachments = await _add_message(
        uow, conversation, AuthorKind.CUSTOMER, str(customer_id), text, uploads, now
    )
    facts = _message_facts(conversation, message, attachments)
    uow.audit(action=OPENED, entity_type="conversation", entity_id=str(conversation.id), after=facts)
    uow.publish(topic=TOPIC, event_type=OPENED, key=str(customer_id), payload=facts)
    return await _thread(uow.session, uow.keyring, conversation, 0)


async def add_message(
    uow: UnitOfWork,
    conversation_id: uuid.UUID,
    author_kind: AuthorKind,
    author_id: str,
    text: str,
    uploads: Sequence[Upload] = (),
    *,
    customer_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> MessageRecord:
    """A message in an open thread (a closed one: 409); a customer writes only in their own."""
    conversation = await _found(uow.session, conversation_id, customer_id, for_update=True)
    if conversation.status is ConversationStatus.CLOSED:
        raise ConversationClosed("this conversation is closed: start a new one")
    message, attachments = await _add_message(
        uow, conversation, author_kind, author_id, text, uploads, now or datetime.now(UTC)
    )
    facts = _message_facts(conversation, message, attachments)
    uow.audit(action=MESSAGE_ADDED, entity_type="conversation", entity_id=str(conversation.id), after=facts)
    uow.publish(topic=TOPIC, event_type=MESSAGE_ADDED, key=str(conversation.customer_id), payload=facts)
    return MessageRecord(
        id=message.id,
        author_kind=message.author_kind,
        author_id=message.author_id,
        text=text,
        sent_at=message.sent_at,
        read_at=None,
        attachments=tuple(_attachment(uow.keyring, row) for row in attachments),
    )


async def close_conversation(
    uow: UnitOfWork, conversation_id: uuid.UUID, staff_id: str, *, now: datetime | None = None
) -> ThreadRecord:
    """Support staff close a thread: no more messages. Closing it again answers the same and changes nothing."""
    conversation = await _found(uow.session, conversation_id, None, for_update=True)
    if conversation.status is ConversationStatus.OPEN:
        conversation.status = ConversationStatus.CLOSED
        conversation.closed_at = now or datetime.now(UTC)
        conversation.closed_by = staff_id
        await uow.session.flush()
        facts = {"conversation_id": str(conversation.id), "customer_id": str(conversation.customer_id)}
        uow.audit(
            action=CLOSED,
            entity_type="conversation",
            entity_id=str(conversation.id),
            before={"status": ConversationStatus.OPEN.value},
            after={**facts, "status": ConversationStatus.CLOSED.value},
        )
        uow.publish(topic=TOPIC, event_type=CLOSED, key=str(conversation.customer_id), payload=facts)
    return await _thread(uow.session, uow.keyring, conversation, 0)
