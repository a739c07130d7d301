"""SQL of webhooks: endpoints and their secrets, messages fanned out from events, claims and attempts."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Integer,
    Interval,
    SmallInteger,
    String,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.webhooks.catalogue import WILDCARD
from notifications.webhooks.models import (
    DisabledReason,
    MessageStatus,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
    WebhookSecret,
)

# Inserting messages notifies this channel at commit (a trigger); replays and re-enabled endpoints notify it too.
DELIVERY_CHANNEL = "obank_webhooks"
_PENDING = MessageStatus.PENDING


# Endpoints and secrets.


async def add_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    session.add(endpoint)
    await session.flush()


async def add_secret(session: AsyncSession, secret: WebhookSecret) -> None:
    session.add(secret)
    await session.flush()


async def get_endpoint(session: AsyncSession, endpoint_id: uuid.UUID, *, lock: bool = False) -> WebhookEndpoint | None:
    """A registered endpoint (never a deleted one), its row locked until commit when `lock`."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.deleted_at.is_(None))
    if lock:
        query = query.with_for_update()
    endpoint: WebhookEndpoint | None = await session.scalar(query)
    return endpoint


async def list_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.deleted_at.is_(None))
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return list(rows)


async def expire_current_secret(session: AsyncSession, endpoint_id: uuid.UUID, expires_at: datetime) -> None:
    """The current secret signs until `expires_at`; one already expiring keeps its own (earlier) expiry."""
    await session.execute(
        update(WebhookSecret)
        .where(WebhookSecret.endpoint_id == endpoint_id, WebhookSecret.expires_at.is_(None))
        .values(expires_at=expires_at)
    )


async def previous_secret_expiry(session: AsyncSession, endpoint_id: uuid.UUID, now: datetime) -> datetime | None:
    """Until when an earlier secret still signs beside the current one."""
    expiry: datetime | None = await session.scalar(
        select(func.max(WebhookSecret.expires_at)).where(
            WebhookSecret.endpoint_id == endpoint_id, WebhookSecret.expires_at > now
        )
    )
    return expiry


async def purge_expired_secrets(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(WebhookSecret).where(WebhookSecret.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]


# Fan-out.


@dataclass(frozen=True, slots=True)
class Subscriber:
    endpoint_id: uuid.UUID
    ordered: bool


async def subscribers(session: AsyncSession, event_type: str) -> list[Subscriber]:
    """Enabled endpoints subscribed to `event_type`, by name or by the wildcard."""
    subscribed = any_(WebhookEndpoint.event_types)
    rows = await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.ordered).where(
            WebhookEndpoint.enabled,
            WebhookEndpoint.deleted_at.is_(None),
            or_(literal(event_type) == subscribed, literal(WILDCARD) == subscribed),
        )
    )
    return [Subscriber(endpoint_id, ordered) for endpoint_id, ordered in rows]


async def insert_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Add messages; one an endpoint already has for the same event is skipped. How many were new."""
    if not rows:
        return 0
    result = await session.execute(
        insert(WebhookMessage)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=[WebhookMessage.endpoint_id, WebhookMessage.event_id])
        .returning(WebhookMessage.id)
    )
    return len(result.all())


# Messages as staff see them.


async def get_message(session: AsyncSession, message_id: uuid.UUID, *, lock: bool = False) -> WebhookMessage | None:
    query = select(WebhookMessage).where(WebhookMessage.id == message_id)
    if lock:
        query = query.with_for_update()
    message: WebhookMessage | None = await session.scalar(query)
    return message


async def list_messages(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID | None,
    status: MessageStatus | None,
    limit: int,
    before: int | None,
) -> list[WebhookMessage]:
    """Messages newest first (by creation order), of one endpoint and one status when given."""
    query = select(WebhookMessage).order_by(WebhookMessage.sequence.desc()).limit(limit)
    if endpoint_id is not None:
        query = query.where(WebhookMessage.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookMessage.status == status)
    if before is not None:
        query = query.where(WebhookMessage.sequence < before)
    return list(await session.scalars(query))


async def attempts_of(session: AsyncSession, message_id: uuid.UUID) -> list[WebhookAttempt]:
    rows = await session.scalars(
        select(WebhookAttempt).where(WebhookAttempt.message_id == message_id).order_by(WebhookAttempt.attempt)
    )
    return list(rows)


def _replayed(now: datetime) -> dict[str, Any]:
    return {
        "status": _PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "locked_until": None,
        "finished_at": None,
    }


async def replay(session: AsyncSession, message_id: uuid.UUID, now: datetime) -> bool:
    """Send a dead-lettered message again from a fresh schedule; False unless it was DEAD."""
    result = await session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.id == message_id, WebhookMessage.status == MessageStatus.DEAD)
        .values(**_replayed(now))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def replay_dead(session: AsyncSession, endpoint_id: uuid.UUID, now: datetime) -> int:
    result = await session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.endpoint_id == endpoint_id, WebhookMessage.status == MessageStatus.DEAD)
        .values(**_replayed(now))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def cancel_pending(session: AsyncSession, endpoint_id: uuid.UUID, now: datetime) -> int:
    result = await session.execute(
        update(WebhookMessage)
        .where(WebhookMessage.endpoint_id == endpoint_id, WebhookMessage.status == _PENDING)
        .values(status=MessageStatus.CANCELLED, finished_at=now, locked_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def notify_delivery(session: AsyncSession) -> None:
    """Wake delivery loops at commit: messages became due."""
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": DELIVERY_CHANNEL})


async def purge_finished(session: AsyncSession, before: datetime) -> int:
    """Forget messages (and their attempts) finished before `before`."""
    result = await session.execute(
        delete(WebhookMessage).where(WebhookMessage.finished_at.is_not(None), WebhookMessage.finished_at < before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# Delivery: claims under a lease, and what each attempt came to.


def _claimable(now: Any) -> Any:
    return and_(
        WebhookMessage.status == _PENDING,
        WebhookMessage.next_attempt_at <= now,
        or_(WebhookMessage.locked_until.is_(None), WebhookMessage.locked_until <= now),
    )


def _deliverable_endpoint() -> Any:
    return and_(WebhookEndpoint.enabled, WebhookEndpoint.deleted_at.is_(None))


async def endpoints_with_due_messages(
    session: AsyncSession, now: datetime, excluding: Collection[uuid.UUID] = ()
) -> list[uuid.UUID]:
    """Enabled endpoints with a message due at `now` that no live claim holds."""
    due = exists().where(WebhookMessage.endpoint_id == WebhookEndpoint.id, _claimable(now))
    query = select(WebhookEndpoint.id).where(_deliverable_endpoint(), due)
    if excluding:
        query = query.where(WebhookEndpoint.id.not_in(list(excluding)))
    return list(await session.scalars(query))


async def next_due_at(session: AsyncSession, excluding: Collection[uuid.UUID] = ()) -> datetime | None:
    """The earliest time a pending message of an enabled endpoint falls due (or its claim's lease ends)."""
    due = func.greatest(
        WebhookMessage.next_attempt_at, func.coalesce(WebhookMessage.locked_until, WebhookMessage.next_attempt_at)
    )
    query = (
        select(func.min(due))
        .select_from(WebhookMessage)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id)
        .where(WebhookMessage.status == _PENDING, _deliverable_endpoint())
    )
    if excluding:
        query = query.where(WebhookMessage.endpoint_id.not_in(list(excluding)))
    moment: datetime | None = await session.scalar(query)
    return moment


async def database_now(session: AsyncSession) -> datetime:
    moment: datetime = await session.scalar(select(func.now()))  # type: ignore[assignment]
    return moment


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    id: uuid.UUID
    body: str
    attempts: int
    attempts_total: int


# The delivery loop's statements run for every message: built once, executed with bound values.
_MESSAGES = cast(Table, WebhookMessage.__table__)
_ATTEMPTS = cast(Table, WebhookAttempt.__table__)
_ENDPOINT_ID = bindparam("b_endpoint", type_=WebhookEndpoint.id.type)
_AT = func.coalesce(bindparam("b_now", type_=DateTime(timezone=True)), func.now())  # the database's clock unless given


def _claim_statement() -> Any:
    messages = _MESSAGES.c
    earlier = _MESSAGES.alias("earlier")
    # An ordered message waits while an earlier one of its key is pending (claimed, or waiting for a retry).
    held_back = exists().where(
        earlier.c.endpoint_id == messages.endpoint_id,
        earlier.c.ordering_key == messages.ordering_key,
        earlier.c.status == _PENDING,
        earlier.c.sequence < messages.sequence,
    )
    deliverable = exists().where(WebhookEndpoint.id == _ENDPOINT_ID, _deliverable_endpoint())
    candidates = (
        select(messages.id)
        .where(
            messages.endpoint_id == _ENDPOINT_ID,
            messages.status == _PENDING,
            messages.next_attempt_at <= _AT,
            or_(messages.locked_until.is_(None), messages.locked_until <= _AT),
            or_(messages.ordering_key.is_(None), ~held_back),
            deliverable,
        )
        .order_by(messages.next_attempt_at, messages.sequence)
        .limit(bindparam("b_limit", type_=Integer))
        .with_for_update(skip_locked=True)
        .cte("candidates")
    )
    return (
        update(_MESSAGES)
        .where(messages.id.in_(select(candidates.c.id)))
        .values(
            attempts=messages.attempts + 1,
            attempts_total=messages.attempts_total + 1,
            locked_until=_AT + bindparam("b_lease", type_=Interval),
            last_attempt_at=_AT,
        )
        .returning(messages.id, messages.body, messages.attempts, messages.attempts_total, messages.sequence, _AT)
    )


_CLAIM = _claim_statement()
_SIGNING_MATERIAL = (
    select(WebhookEndpoint.url, WebhookSecret.id, WebhookSecret.secret_sealed)
    .join(WebhookSecret, WebhookSecret.endpoint_id == WebhookEndpoint.id)
    .where(
        WebhookEndpoint.id == _ENDPOINT_ID,
        or_(
            WebhookSecret.expires_at.is_(None),
            WebhookSecret.expires_at > bindparam("b_at", type_=DateTime(timezone=True)),
        ),
    )
    .order_by(WebhookSecret.created_at.desc())
)
_ADD_ATTEMPTS = insert(_ATTEMPTS).on_conflict_do_nothing()
# A result is recorded only while the message is still this claim's: claimed again after its lease ran out, it
# belongs to the later attempt.
_RECORD_OUTCOME = (
    update(_MESSAGES)
    .where(
        _MESSAGES.c.id == bindparam("b_id", type_=WebhookMessage.id.type),
        _MESSAGES.c.attempts_total == bindparam("b_attempt", type_=Integer),
        _MESSAGES.c.status == _PENDING,
    )
    .values(
        status=bindparam("b_status", type_=_MESSAGES.c.status.type),
        next_attempt_at=bindparam("b_next_attempt_at", type_=DateTime(timezone=True)),
        finished_at=bindparam("b_finished_at", type_=DateTime(timezone=True)),
        last_response_status=bindparam("b_last_response_status", type_=SmallInteger),
        last_error=bindparam("b_last_error", type_=String),
        locked_until=None,
    )
)


async def claim_due(
    session: AsyncSession, endpoint_id: uuid.UUID, now: datetime | None, lease: timedelta, limit: int
) -> tuple[datetime, list[ClaimedRow]] | None:
    """Claim up to `limit` of an enabled endpoint's messages due at `now` (the database's clock if None) until the
    lease ends, counting an attempt for each; the claim's time and the claimed messages in creation order, or
    None when nothing is due.

    A message with an ordering key waits while an earlier message of its key is pending: one at a time per key,
    in creation order. SKIP LOCKED leaves the rest to other processes.
    """
    rows = (
        await session.execute(_CLAIM, {"b_endpoint": endpoint_id, "b_now": now, "b_lease": lease, "b_limit": limit})
    ).all()
    if not rows:
        return None
    ordered = sorted(rows, key=lambda row: row[4])
    return rows[0][5], [ClaimedRow(row[0], row[1], row[2], row[3]) for row in ordered]


async def signing_material(
    session: AsyncSession, endpoint_id: uuid.UUID, at: datetime
) -> tuple[str, list[tuple[uuid.UUID, bytes]]]:
    """An endpoint's URL and the secrets that sign at `at` (id, sealed), newest first."""
    rows = (await session.execute(_SIGNING_MATERIAL, {"b_endpoint": endpoint_id, "b_at": at})).all()
    return rows[0][0], [(secret_id, sealed) for _, secret_id, sealed in rows]


async def add_attempts(session: AsyncSession, attempts: Sequence[dict[str, Any]]) -> None:
    if attempts:
        await session.execute(_ADD_ATTEMPTS, list(attempts))


async def record_outcomes(session: AsyncSession, outcomes: Sequence[dict[str, Any]]) -> None:
    """Each claimed message's new state, unless it was claimed again meanwhile (its lease ran out).

    Each entry: b_id, b_attempt (the claim's attempts_total), b_status, b_next_attempt_at, b_finished_at,
    b_last_response_status, b_last_error.
    """
    if outcomes:
        await session.execute(_RECORD_OUTCOME, list(outcomes))


async def disable_gone(session: AsyncSession, endpoint_id: uuid.UUID, now: datetime) -> bool:
    """Disable an endpoint whose receiver answered 410 Gone; False if it was disabled already."""
    result = await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled)
        .values(enabled=False, disabled_reason=DisabledReason.GONE, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
