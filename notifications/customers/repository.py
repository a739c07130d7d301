"""SQL of customer notifications: preferences, messages and their claims, low-balance state, the mail sink."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.customers.models import (
    Channel,
    CustomerMessage,
    LowBalanceState,
    MessageStatus,
    Preferences,
    SinkedMail,
)


async def get_preferences(session: AsyncSession, customer_id: uuid.UUID) -> Preferences | None:
    return await session.get(Preferences, customer_id)


async def save_preferences(
    session: AsyncSession, customer_id: uuid.UUID, channels: dict[str, Any], threshold: int | None, now: datetime
) -> None:
    values = {"channels": channels, "low_balance_threshold_minor": threshold, "updated_at": now}
    await session.execute(
        insert(Preferences)
        .values(customer_id=customer_id, **values)
        .on_conflict_do_update(index_elements=[Preferences.customer_id], set_=values)
    )


async def add_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert messages, skipping any already made from the same event, kind and channel; how many were new."""
    if not rows:
        return 0
    inserted = await session.scalars(
        insert(CustomerMessage)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["event_id", "kind", "channel"])
        .returning(CustomerMessage.id)
    )
    return len(inserted.all())


async def swap_low_balance_state(
    session: AsyncSession, account_id: uuid.UUID, customer_id: uuid.UUID, below: bool, now: datetime
) -> bool:
    """Record whether the account is below its threshold now; whether it was before (False when never seen).

    The row is locked until commit, so two events of one account never both see the crossing.
    """
    await session.execute(
        insert(LowBalanceState)
        .values(account_id=account_id, customer_id=customer_id, below=False, changed_at=now)
        .on_conflict_do_nothing()
    )
    state = await session.scalar(
        select(LowBalanceState).where(LowBalanceState.account_id == account_id).with_for_update()
    )
    assert state is not None
    was_below = state.below
    if was_below != below:
        state.below = below
        state.changed_at = now
        await session.flush()
    return was_below


async def claim_due(session: AsyncSession, now: datetime, lease_until: datetime, limit: int) -> list[CustomerMessage]:
    """Take up to `limit` messages due now (or whose sender's lease ran out), oldest due first, skipping those
    another sender holds; each is SENDING under a lease, its attempt counted."""
    due = (
        select(CustomerMessage.id)
        .where(
            or_(
                and_(CustomerMessage.status == MessageStatus.PENDING, CustomerMessage.next_attempt_at <= now),
                and_(CustomerMessage.status == MessageStatus.SENDING, CustomerMessage.lease_until < now),
            )
        )
        .order_by(CustomerMessage.next_attempt_at, CustomerMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = await session.scalars(
        update(CustomerMessage)
        .where(CustomerMessage.id.in_(due))
        .values(
            status=MessageStatus.SENDING,
            lease_until=lease_until,
            attempts=CustomerMessage.attempts + 1,
        )
        .returning(CustomerMessage)
        .execution_options(populate_existing=True)
    )
    return sorted(claimed.all(), key=lambda message: (message.next_attempt_at, message.id))


async def settle(session: AsyncSession, message_id: uuid.UUID, attempt: int, **values: Any) -> bool:
    """Record an attempt's outcome, only while this claim holds (its attempt, still SENDING); whether it did."""
    result = await session.execute(
        update(CustomerMessage)
        .where(
            CustomerMessage.id == message_id,
            CustomerMessage.attempts == attempt,
            CustomerMessage.status == MessageStatus.SENDING,
        )
        .values(lease_until=None, **values)
        .returning(CustomerMessage.id)
    )
    return result.first() is not None


async def inbox(session: AsyncSession, customer_id: uuid.UUID, limit: int, offset: int) -> list[CustomerMessage]:
    query = (
        select(CustomerMessage)
        .where(
            CustomerMessage.customer_id == customer_id,
            CustomerMessage.channel == Channel.IN_APP,
            CustomerMessage.status == MessageStatus.SENT,
        )
        .order_by(CustomerMessage.sent_at.desc(), CustomerMessage.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.scalars(query)).all())


async def inbox_message(
    session: AsyncSession, customer_id: uuid.UUID, message_id: uuid.UUID, *, for_update: bool = False
) -> CustomerMessage | None:
    query = select(CustomerMessage).where(
        CustomerMessage.id == message_id,
        CustomerMessage.customer_id == customer_id,
        CustomerMessage.channel == Channel.IN_APP,
        CustomerMessage.status == MessageStatus.SENT,
    )
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def messages_of_event(session: AsyncSession, event_id: uuid.UUID) -> list[CustomerMessage]:
    query = select(CustomerMessage).where(CustomerMessage.event_id == event_id).order_by(CustomerMessage.channel)
    return list((await session.scalars(query)).all())


async def add_sinked_mail(session: AsyncSession, mail: SinkedMail) -> None:
    session.add(mail)
    await session.flush()


async def sinked_mails(session: AsyncSession, limit: int) -> list[SinkedMail]:
    query = select(SinkedMail).order_by(SinkedMail.received_at.desc(), SinkedMail.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def sinked_mail(session: AsyncSession, mail_id: uuid.UUID) -> SinkedMail | None:
    return await session.get(SinkedMail, mail_id)
