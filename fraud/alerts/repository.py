"""Alert persistence: alerts, their payments and notes, and outcomes that arrived before their flag."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from fraud.alerts.models import UNRESOLVED, AlertNote, AlertPayment, EarlyPaymentOutcome, FraudAlert
from fraud.alerts.schemas import AlertFilters

_UNRESOLVED_INDEX_WHERE = FraudAlert.status.in_([status.value for status in UNRESOLVED])


async def insert_unresolved_unless_any(session: AsyncSession, values: dict[str, Any]) -> bool:
    """A new unresolved alert for the customer unless they have one; True when inserted.

    The partial unique index decides, so two payments flagged at once for one customer raise one alert.
    """
    statement = (
        insert(FraudAlert)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[FraudAlert.customer_id], index_where=_UNRESOLVED_INDEX_WHERE)
        .returning(FraudAlert.id)
    )
    return (await session.execute(statement)).first() is not None


async def unresolved_of_customer(session: AsyncSession, customer_id: uuid.UUID) -> FraudAlert | None:
    """The customer's unresolved alert, locked for the caller's change."""
    statement = (
        select(FraudAlert)
        .where(FraudAlert.customer_id == customer_id, _UNRESOLVED_INDEX_WHERE)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    alert: FraudAlert | None = await session.scalar(statement)
    return alert


async def get(session: AsyncSession, alert_id: uuid.UUID, *, for_update: bool = False) -> FraudAlert | None:
    statement = select(FraudAlert).where(FraudAlert.id == alert_id).execution_options(populate_existing=True)
    if for_update:
        statement = statement.with_for_update()
    alert: FraudAlert | None = await session.scalar(statement)
    return alert


async def list_alerts(
    session: AsyncSession, filters: AlertFilters, anchor: tuple[datetime, uuid.UUID] | None
) -> Sequence[FraudAlert]:
    """Alerts matching `filters`, newest first; `anchor` (created_at, id) starts the page after that alert."""
    statement = select(FraudAlert)
    if filters.status is not None:
        statement = statement.where(FraudAlert.status == filters.status)
    if filters.assigned_to is not None:
        statement = statement.where(FraudAlert.assigned_to == filters.assigned_to)
    if filters.customer_id is not None:
        statement = statement.where(FraudAlert.customer_id == filters.customer_id)
    if filters.created_from is not None:
        statement = statement.where(FraudAlert.created_at >= filters.created_from)
    if filters.created_to is not None:
        statement = statement.where(FraudAlert.created_at < filters.created_to)
    if anchor is not None:
        created_at, alert_id = anchor
        statement = statement.where(
            or_(
                FraudAlert.created_at < created_at,
                and_(FraudAlert.created_at == created_at, FraudAlert.id < alert_id),
            )
        )
    statement = statement.order_by(FraudAlert.created_at.desc(), FraudAlert.id.desc()).limit(filters.limit)
    return (await session.scalars(statement)).all()


async def link_payment(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Link a flagged payment to its alert once; True when linked now (a payment is on one alert only)."""
    statement = (
        insert(AlertPayment)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[AlertPayment.payment_id])
        .returning(AlertPayment.payment_id)
    )
    return (await session.execute(statement)).first() is not None


async def get_link(session: AsyncSession, payment_id: uuid.UUID, *, for_update: bool = False) -> AlertPayment | None:
    statement = (
        select(AlertPayment).where(AlertPayment.payment_id == payment_id).execution_options(populate_existing=True)
    )
    if for_update:
        statement = statement.with_for_update()
    link: AlertPayment | None = await session.scalar(statement)
    return link


async def payments_of(session: AsyncSession, alert_id: uuid.UUID) -> Sequence[AlertPayment]:
    statement = (
        select(AlertPayment)
        .where(AlertPayment.alert_id == alert_id)
        .order_by(AlertPayment.linked_at, AlertPayment.payment_id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()


async def add_note(session: AsyncSession, note: AlertNote) -> None:
    session.add(note)
    await session.flush()


async def notes_of(session: AsyncSession, alert_id: uuid.UUID) -> Sequence[AlertNote]:
    statement = select(AlertNote).where(AlertNote.alert_id == alert_id).order_by(AlertNote.created_at, AlertNote.id)
    return (await session.scalars(statement)).all()


async def record_early_outcome(session: AsyncSession, values: dict[str, Any]) -> None:
    """Keep what is known of a payment's outcome before its flag; later facts fill what earlier ones left empty."""
    statement = insert(EarlyPaymentOutcome).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[EarlyPaymentOutcome.payment_id],
        set_={
            name: statement.excluded[name]
            for name in ("final_status", "final_reason", "released_by")
            if values.get(name) is not None
        }
        or {"recorded_at": EarlyPaymentOutcome.recorded_at},
    )
    await session.execute(statement)


async def take_early_outcome(session: AsyncSession, payment_id: uuid.UUID) -> EarlyPaymentOutcome | None:
    """The outcome recorded before the payment's flag, removed now that its link holds it."""
    statement = (
        delete(EarlyPaymentOutcome).where(EarlyPaymentOutcome.payment_id == payment_id).returning(EarlyPaymentOutcome)
    )
    outcome: EarlyPaymentOutcome | None = (await session.scalars(statement)).first()
    return outcome
