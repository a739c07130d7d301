"""All SQL of investigations: a subject's timeline over audit records and outbox events, and decryptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CTE,
    ColumnElement,
    DateTime,
    Integer,
    Row,
    Select,
    String,
    Table,
    and_,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import FromClause

from audit.investigations.schemas import (
    SUBJECT_ENTITY_TYPES,
    DecryptionFilters,
    EntryKind,
    SubjectKind,
    TimelineEntryRecord,
    TimelineSubject,
)
from audit.models import AuditDecryption, AuditRecord
from obank.actor import ActorKind
from obank.outbox.models import OutboxEvent

_RECORDS = cast(Table, AuditRecord.__table__)
_EVENTS = cast(Table, OutboxEvent.__table__)
_DECRYPTIONS = cast(Table, AuditDecryption.__table__)
# Within one instant (a transaction's records share theirs), events come first, then records in chain order.
_EVENT_RANK, _RECORD_RANK = 0, 1
_METADATA = (
    _RECORDS.c.record_id,
    _RECORDS.c.occurred_at,
    _RECORDS.c.correlation_id,
    _RECORDS.c.action,
    _RECORDS.c.entity_type,
    _RECORDS.c.entity_id,
    _RECORDS.c.actor_kind,
    _RECORDS.c.actor_id,
    _RECORDS.c.client_id,
    _RECORDS.c.chain,
    _RECORDS.c.sequence,
)


def _record_entries(records: FromClause) -> Select[Any]:
    """Timeline columns of audit records (`audit.audit_records` or a CTE of its rows): metadata only."""
    return select(
        literal(EntryKind.AUDIT.value, String).label("kind"),
        records.c.record_id.label("id"),
        records.c.occurred_at,
        records.c.correlation_id,
        records.c.action,
        sql_cast(null(), String).label("topic"),
        records.c.entity_type,
        records.c.entity_id,
        records.c.actor_kind,
        records.c.actor_id,
        records.c.client_id,
        sql_cast(null(), DateTime(timezone=True)).label("published_at"),
        literal(_RECORD_RANK, Integer).label("rank"),
        sql_cast(records.c.chain, Integer).label("chain"),
        records.c.sequence.label("ordinal"),
    )


def _event_entries() -> Select[Any]:
    """Timeline columns of outbox events: type, topic, aggregate key and times, never the payload."""
    return select(
        literal(EntryKind.EVENT.value, String).label("kind"),
        _EVENTS.c.event_id.label("id"),
        _EVENTS.c.occurred_at,
        _EVENTS.c.correlation_id,
        _EVENTS.c.event_type.label("action"),
        _EVENTS.c.topic,
        sql_cast(null(), String).label("entity_type"),
        _EVENTS.c.key.label("entity_id"),
        sql_cast(null(), String).label("actor_kind"),
        sql_cast(null(), String).label("actor_id"),
        sql_cast(null(), String).label("client_id"),
        _EVENTS.c.published_at,
        literal(_EVENT_RANK, Integer).label("rank"),
        literal(0, Integer).label("chain"),
        _EVENTS.c.position.label("ordinal"),
    )


def _subject_entries(subject: TimelineSubject) -> CTE:
    """Every entry of the subject's timeline, in no order."""
    if subject.kind is SubjectKind.CORRELATION:
        return union_all(
            _record_entries(_RECORDS).where(_RECORDS.c.correlation_id == subject.id),
            _event_entries().where(_EVENTS.c.correlation_id == subject.id),
        ).cte("entries")
    # The records the subject touched: as their entity (the (entity_type, entity_id) index) or as their actor.
    touched = (
        select(*_METADATA)
        .where(
            or_(
                and_(
                    _RECORDS.c.entity_type.in_(SUBJECT_ENTITY_TYPES[subject.kind]),
                    _RECORDS.c.entity_id == subject.id,
                ),
                _RECORDS.c.actor_id == subject.id,
            )
        )
        .cte("touched")
    )
    # The requests they belong to. Not the system's: a scheduled job acts on many subjects under one correlation
    # id, so following it would bring in every other customer's records of that run.
    followed = (
        select(touched.c.correlation_id)
        .where(touched.c.actor_kind != ActorKind.SYSTEM.value)
        .distinct()
        .cte("followed")
    )
    return union(
        _record_entries(touched),
        _record_entries(_RECORDS).join(followed, _RECORDS.c.correlation_id == followed.c.correlation_id),
        _event_entries().join(followed, _EVENTS.c.correlation_id == followed.c.correlation_id),
    ).cte("entries")


def _entry(row: Row[Any]) -> TimelineEntryRecord:
    return TimelineEntryRecord(
        kind=EntryKind(row.kind),
        id=row.id,
        occurred_at=row.occurred_at,
        correlation_id=row.correlation_id,
        action=row.action,
        topic=row.topic,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        actor_kind=row.actor_kind,
        actor_id=row.actor_id,
        client_id=row.client_id,
        published_at=row.published_at,
    )


async def timeline_page(
    session: AsyncSession, subject: TimelineSubject, *, before: datetime | None, limit: int
) -> tuple[list[TimelineEntryRecord], bool]:
    """The newest `limit` entries before `before`, oldest first, plus the rest of the oldest one's instant; and
    whether older entries remain.

    A page ends at a whole instant (a transaction's records share one), so the next page, strictly before that
    instant, misses nothing; a page runs past `limit` only by the entries of its oldest instant. One statement.
    """
    entries = _subject_entries(subject)
    earlier: ColumnElement[bool] = true() if before is None else entries.c.occurred_at < before
    newest = select(entries.c.occurred_at).where(earlier).order_by(entries.c.occurred_at.desc()).limit(limit)
    oldest = select(func.min(newest.subquery().c.occurred_at)).scalar_subquery()
    older = exists().where(entries.c.occurred_at < oldest)
    page = (
        select(entries, older.label("older"))
        .where(earlier, entries.c.occurred_at >= oldest)
        .order_by(entries.c.occurred_at, entries.c.rank, entries.c.chain, entries.c.ordinal)
    )
    found = (await session.execute(page)).all()
    return [_entry(row) for row in found], bool(found and found[0].older)


async def add_decryption(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(_DECRYPTIONS).values(**values))


async def list_decryptions(session: AsyncSession, filters: DecryptionFilters) -> Sequence[AuditDecryption]:
    """Decryptions matching `filters`, newest first."""
    statement = select(AuditDecryption)
    if filters.staff_id is not None:
        statement = statement.where(AuditDecryption.staff_id == filters.staff_id)
    if filters.record_id is not None:
        statement = statement.where(AuditDecryption.record_id == filters.record_id)
    if filters.before is not None:
        statement = statement.where(AuditDecryption.decrypted_at < filters.before)
    statement = statement.order_by(AuditDecryption.decrypted_at.desc(), AuditDecryption.id.desc()).limit(filters.limit)
    return (await session.scalars(statement)).all()
