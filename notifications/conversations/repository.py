"""SQL of secure messages: threads with their unread counts, messages, attachments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from notifications.conversations.models import (
    AuthorKind,
    Conversation,
    ConversationAttachment,
    ConversationMessage,
    ConversationStatus,
)


def _unread_by(reader: AuthorKind) -> Select[int]:
    """How many of a thread's messages, written by the other side, `reader` has not read."""
    writer = AuthorKind.STAFF if reader is AuthorKind.CUSTOMER else AuthorKind.CUSTOMER
    return (
        select(func.count())
        .where(
            ConversationMessage.conversation_id == Conversation.id,
            ConversationMessage.author_kind == writer,
            ConversationMessage.read_at.is_(None),
        )
        .correlate(Conversation)
    )


async def add_conversation(session: AsyncSession, conversation: Conversation) -> None:
    session.add(conversation)
    await session.flush()


async def add_message(
    session: AsyncSession, message: ConversationMessage, attachments: Sequence[ConversationAttachment]
) -> None:
    session.add(message)
    await session.flush()  # the message before its attachments (their foreign key)
    session.add_all(attachments)
    await session.flush()


async def conversations(
    session: AsyncSession,
    reader: AuthorKind,
    *,
    customer_id: uuid.UUID | None,
    status: ConversationStatus | None,
    limit: int,
    offset: int,
) -> list[tuple[Conversation, int]]:
    """Threads with the count `reader` has not read, newest activity first."""
    query = select(Conversation, _unread_by(reader).scalar_subquery().label("unread"))
    if customer_id is not None:
        query = query.where(Conversation.customer_id == customer_id)
    if status is not None:
        query = query.where(Conversation.status == status)
    query = query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit).offset(offset)
    rows = await session.execute(query)
    return [(conversation, int(unread)) for conversation, unread in rows.all()]


async def conversation(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
    for_update: bool = False,
) -> Conversation | None:
    """One thread (only if it is `customer_id`'s, when given); locked until commit with `for_update`, so messages
    and closing of one thread take turns."""
    query = select(Conversation).where(Conversation.id == conversation_id)
    if customer_id is not None:
        query = query.where(Conversation.customer_id == customer_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def messages_of(session: AsyncSession, conversation_id: uuid.UUID) -> list[ConversationMessage]:
    """A thread's messages, oldest first."""
    query = (
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conversation_id)
        .order_by(ConversationMessage.sent_at, ConversationMessage.id)
    )
    return list((await session.scalars(query)).all())


async def attachments_of(session: AsyncSession, conversation_id: uuid.UUID) -> list[ConversationAttachment]:
    """A thread's attachments without their content (never loaded for a list: reading it raises)."""
    query = (
        select(ConversationAttachment)
        .where(ConversationAttachment.conversation_id == conversation_id)
        .options(defer(ConversationAttachment.content_sealed, raiseload=True))
        .order_by(ConversationAttachment.message_id, ConversationAttachment.position)
    )
    return list((await session.scalars(query)).all())


async def attachment(
    session: AsyncSession, conversation_id: uuid.UUID, attachment_id: uuid.UUID
) -> ConversationAttachment | None:
    query = select(ConversationAttachment).where(
        ConversationAttachment.id == attachment_id, ConversationAttachment.conversation_id == conversation_id
    )
    return await session.scalar(query)


async def mark_read(
    session: AsyncSession, conversation_id: uuid.UUID, writer: AuthorKind, now: datetime
) -> list[uuid.UUID]:
    """Mark the thread's unread messages by `writer` read now; the ids of those marked."""
    result = await session.execute(
        update(ConversationMessage)
        .where(
            ConversationMessage.conversation_id == conversation_id,
            ConversationMessage.author_kind == writer,
            ConversationMessage.read_at.is_(None),
        )
        .values(read_at=now)
        .returning(ConversationMessage.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars().all())
