"""All SQL of event notifications: subscriptions, the SETs made for TPPs, their delivery claims and acknowledgements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from open_banking.events.models import DeliveryStatus, EventSubscription, TppEvent

# Subscriptions -------------------------------------------------------------------------------------------


async def subscription_of_client(session: AsyncSession, client_id: str) -> EventSubscription | None:
    result = await session.execute(select(EventSubscription).where(EventSubscription.client_id == client_id))
    return result.scalar_one_or_none()


async def subscription(session: AsyncSession, subscription_id: str, *, lock: bool = False) -> EventSubscription | None:
    query = select(EventSubscription).where(EventSubscription.id == subscription_id)
    if lock:
        query = query.with_for_update()
    result = await session.execute(query)
    return result.scalar_one_or_none()


async def add_subscription(
    session: AsyncSession,
    *,
    subscription_id: str,
    client_id: str,
    callback_url: str | None,
    version: str,
    event_types: Sequence[str] | None,
) -> EventSubscription | None:
    """The new subscription; None when the client already has one (a concurrent POST included)."""
    statement = (
        insert(EventSubscription)
        .values(
            id=subscription_id,
            client_id=client_id,
            callback_url=callback_url,
            version=version,
            event_types=None if event_types is None else list(event_types),
        )
        .on_conflict_do_nothing(index_elements=[EventSubscription.client_id])
        .returning(EventSubscription.id)
    )
    if (await session.execute(statement)).scalar_one_or_none() is None:
        return None
    return await subscription(session, subscription_id)


async def delete_subscription(session: AsyncSession, subscription: EventSubscription) -> None:
    await session.execute(delete(EventSubscription).where(EventSubscription.id == subscription.id))


async def stop_callbacks(session: AsyncSession, client_id: str) -> None:
    """The client's SETs still due for a callback stay for polling only (its callback URL is gone)."""
    await session.execute(
        update(TppEvent)
        .where(TppEvent.client_id == client_id, TppEvent.delivery_status == DeliveryStatus.PENDING)
        .values(delivery_status=DeliveryStatus.POLLING_ONLY, next_attempt_at=None, leased_until=None)
    )


# SETs ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewTppEvent:
    jti: str
    client_id: str
    source_event_id: uuid.UUID
    event_type: str
    resource_type: str
    resource_id: str
    set_jwt: str
    callback: bool


async def add_event(session: AsyncSession, event: NewTppEvent) -> bool:
    """Record a SET; False when this source event already made one for the client."""
    statement = (
        insert(TppEvent)
        .values(
            jti=event.jti,
            client_id=event.client_id,
            source_event_id=event.source_event_id,
            event_type=event.event_type,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            set_jwt=event.set_jwt,
            delivery_status=DeliveryStatus.PENDING if event.callback else DeliveryStatus.POLLING_ONLY,
            next_attempt_at=func.now() if event.callback else None,
        )
        .on_conflict_do_nothing(index_elements=[TppEvent.client_id, TppEvent.source_event_id])
        .returning(TppEvent.jti)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def acknowledge(
    session: AsyncSession, client_id: str, jtis: Sequence[str], *, error: str | None = None
) -> list[str]:
    """Mark the client's unacknowledged SETs among `jtis` acknowledged (with `error`, negatively); their jtis."""
    if not jtis:
        return []
    result = await session.execute(
        update(TppEvent)
        .where(TppEvent.client_id == client_id, TppEvent.jti.in_(list(jtis)), TppEvent.acknowledged_at.is_(None))
        .values(acknowledged_at=func.now(), ack_error=error, next_attempt_at=None, leased_until=None)
        .returning(TppEvent.jti)
    )
    return list(result.scalars())


async def awaiting(session: AsyncSession, client_id: str, limit: int) -> list[TppEvent]:
    """The client's unacknowledged SETs, oldest first, at most `limit`."""
    result = await session.execute(
        select(TppEvent)
        .where(TppEvent.client_id == client_id, TppEvent.acknowledged_at.is_(None))
        .order_by(TppEvent.created_at, TppEvent.jti)
        .limit(limit)
    )
    return list(result.scalars())


# Callback deliveries -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """One SET to POST, claimed for this attempt (fenced by `attempt`), and where to."""

    jti: str
    client_id: str
    set_jwt: str
    callback_url: str
    attempt: int


async def claim_due(session: AsyncSession, *, limit: int, lease: timedelta) -> list[ClaimedDelivery]:
    """Claim SETs due for a callback, oldest due first, skipping those another process holds.

    A claim is a lease: a process that dies mid-delivery leaves the row to be claimed again once it lapses.
    """
    due = (
        select(TppEvent.jti)
        .where(
            TppEvent.delivery_status == DeliveryStatus.PENDING,
            TppEvent.acknowledged_at.is_(None),
            TppEvent.next_attempt_at <= func.now(),
            or_(TppEvent.leased_until.is_(None), TppEvent.leased_until < func.now()),
        )
        .order_by(TppEvent.next_attempt_at, TppEvent.jti)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = await session.execute(
        update(TppEvent)
        .where(TppEvent.jti.in_(due))
        .values(attempts=TppEvent.attempts + 1, leased_until=func.now() + lease)
        .returning(TppEvent.jti, TppEvent.client_id, TppEvent.set_jwt, TppEvent.attempts)
    )
    rows = list(claimed.all())
    if not rows:
        return []
    subscriptions = await session.execute(
        select(EventSubscription.client_id, EventSubscription.callback_url).where(
            EventSubscription.client_id.in_({row.client_id for row in rows})
        )
    )
    urls = {client_id: url for client_id, url in subscriptions}
    deliveries = []
    for row in rows:
        url = urls.get(row.client_id)
        if url is None:
            # Unsubscribed, or no callback any more, since the SET was made: it stays for polling.
            await session.execute(
                update(TppEvent)
                .where(TppEvent.jti == row.jti)
                .values(delivery_status=DeliveryStatus.POLLING_ONLY, next_attempt_at=None, leased_until=None)
            )
            continue
        deliveries.append(ClaimedDelivery(row.jti, row.client_id, row.set_jwt, url, row.attempts))
    return deliveries


async def record_delivered(session: AsyncSession, jti: str, attempt: int) -> bool:
    """The TPP answered 202: the SET is acknowledged (Event Notification API: "acknowledge ... with a 202")."""
    result = await session.execute(
        update(TppEvent)
        .where(TppEvent.jti == jti, TppEvent.attempts == attempt, TppEvent.delivery_status == DeliveryStatus.PENDING)
        .values(
            delivery_status=DeliveryStatus.DELIVERED,
            acknowledged_at=func.coalesce(TppEvent.acknowledged_at, func.now()),
            next_attempt_at=None,
            leased_until=None,
            last_failure=None,
        )
        .returning(TppEvent.jti)
    )
    return result.scalar_one_or_none() is not None


async def record_failure(
    session: AsyncSession, jti: str, attempt: int, failure: str, *, retry_in: timedelta | None
) -> bool:
    """A failed attempt: due again after `retry_in`, or (None) given up on, left for polling."""
    values = (
        {"next_attempt_at": func.now() + retry_in}
        if retry_in is not None
        else {"delivery_status": DeliveryStatus.FAILED, "next_attempt_at": None}
    )
    result = await session.execute(
        update(TppEvent)
        .where(
            and_(TppEvent.jti == jti, TppEvent.attempts == attempt),
            TppEvent.delivery_status == DeliveryStatus.PENDING,
        )
        .values(leased_until=None, last_failure=failure[:64], **values)
        .returning(TppEvent.jti)
    )
    return result.scalar_one_or_none() is not None


async def event(session: AsyncSession, jti: str) -> TppEvent | None:
    return await session.get(TppEvent, jti, populate_existing=True)
