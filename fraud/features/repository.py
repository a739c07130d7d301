"""Feature SQL: the decision's one-statement reads, the consumer's idempotent writes, the lists and the purge."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    DateTime,
    Integer,
    Row,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID, Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from fraud.features.models import (
    AllowedCreditor,
    CustomerProfile,
    KnownCreditor,
    KnownDevice,
    MuleAccount,
    PaymentAttempt,
    SavedPayee,
    SignIn,
)
from obank.outbox.models import OutboxEvent

# The tables `rebuild` empties and refills from events (not the mule list nor the allow-list: analysts' decisions).
DERIVED_TABLES = (CustomerProfile, PaymentAttempt, KnownCreditor, SavedPayee, SignIn, KnownDevice)


# The decision's reads -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentWindows:
    """The instants the payment's attempt windows start at, and the payment's own id and time (excluded)."""

    payment_id: uuid.UUID
    created_at: datetime
    velocity_since: datetime
    day_since: datetime
    round_since: datetime
    takeover_since: datetime
    round_unit_minor: int


def _payment_features_statement() -> Select[Any]:
    """The payment's feature read, built once with bind parameters (compiled once, cached by SQLAlchemy)."""
    customer_id = bindparam("customer_id", type_=UUID(as_uuid=True))
    creditor_account = bindparam("creditor_account", type_=String())
    at = bindparam("at", type_=DateTime(timezone=True))

    def since(name: str) -> BindParameter[datetime]:
        return bindparam(name, type_=DateTime(timezone=True))

    attempts = (
        select(
            func.count().filter(PaymentAttempt.created_at >= since("velocity_since")).label("velocity_count"),
            func.count().filter(PaymentAttempt.created_at >= since("day_since")).label("day_count"),
            func.coalesce(
                func.sum(PaymentAttempt.amount_minor).filter(PaymentAttempt.created_at >= since("day_since")), 0
            ).label("day_amount_minor"),
            func.count()
            .filter(
                PaymentAttempt.created_at >= since("round_since"),
                PaymentAttempt.amount_minor % bindparam("round_unit_minor", type_=BigInteger()) == 0,
            )
            .label("round_count"),
        )
        .where(
            PaymentAttempt.customer_id == customer_id,
            PaymentAttempt.created_at >= since("attempts_since"),
            PaymentAttempt.created_at < at,
            PaymentAttempt.payment_id != bindparam("payment_id", type_=UUID(as_uuid=True)),
        )
        .lateral("attempts")
    )
    profile = (
        select(
            CustomerProfile.settled_count,
            CustomerProfile.recent_amounts,
            CustomerProfile.hour_counts,
            CustomerProfile.password_changed_at,
            CustomerProfile.totp_changed_at,
        )
        .where(CustomerProfile.customer_id == customer_id)
        .lateral("profile")
    )
    known = (
        select(KnownCreditor.paid_count, KnownCreditor.amount_sum_minor)
        .where(
            KnownCreditor.customer_id == customer_id,
            KnownCreditor.creditor_account == creditor_account,
            KnownCreditor.first_paid_at < at,
        )
        .lateral("known")
    )
    allowed = (
        select(literal(True).label("allowed"))
        .where(
            AllowedCreditor.customer_id == customer_id,
            AllowedCreditor.creditor_account == creditor_account,
            or_(AllowedCreditor.until.is_(None), AllowedCreditor.until > at),
        )
        .lateral("allowed")
    )
    mule = select(literal(True).label("mule")).where(MuleAccount.creditor_account == creditor_account).lateral("mule")
    payee = (
        select(SavedPayee.added_at, SavedPayee.cooling_off_until)
        .where(
            SavedPayee.payee_id == bindparam("payee_id", type_=UUID(as_uuid=True)),
            SavedPayee.customer_id == customer_id,
        )
        .lateral("payee")
    )
    signed = (
        select(SignIn.country, SignIn.new_device, SignIn.signed_in_at)
        .where(SignIn.session_id == bindparam("session_id", type_=String()), SignIn.customer_id == customer_id)
        .lateral("signed")
    )
    before_signed = (
        select(SignIn.country, SignIn.signed_in_at)
        .where(
            SignIn.customer_id == customer_id,
            SignIn.signed_in_at < signed.c.signed_in_at,
            SignIn.country.is_not(None),
        )
        .order_by(SignIn.signed_in_at.desc())
        .limit(1)
        .lateral("before_signed")
    )
    latest = (
        select(SignIn.country, SignIn.signed_in_at)
        .where(SignIn.customer_id == customer_id, SignIn.signed_in_at <= at, SignIn.country.is_not(None))
        .order_by(SignIn.signed_in_at.desc())
        .limit(1)
        .lateral("latest")
    )
    recent_payee_added = (
        select(func.max(SavedPayee.added_at).label("added_at"))
        .where(
            SavedPayee.customer_id == customer_id,
            SavedPayee.added_at >= since("takeover_since"),
            SavedPayee.added_at <= at,
        )
        .lateral("recent_payee")
    )
    return select(
        attempts.c.velocity_count,
        attempts.c.day_count,
        attempts.c.day_amount_minor,
        attempts.c.round_count,
        profile.c.settled_count,
        profile.c.recent_amounts,
        profile.c.hour_counts,
        profile.c.password_changed_at,
        profile.c.totp_changed_at,
        recent_payee_added.c.added_at.label("recent_payee_added_at"),
        known.c.paid_count.label("creditor_paid_count"),
        known.c.amount_sum_minor.label("creditor_amount_sum_minor"),
        func.coalesce(allowed.c.allowed, False).label("creditor_allowed"),
        func.coalesce(mule.c.mule, False).label("creditor_mule"),
        payee.c.added_at.label("payee_added_at"),
        payee.c.cooling_off_until.label("payee_cooling_off_until"),
        signed.c.country.label("session_country"),
        signed.c.new_device.label("session_new_device"),
        signed.c.signed_in_at.label("session_signed_in_at"),
        before_signed.c.country.label("previous_country"),
        before_signed.c.signed_in_at.label("previous_signed_in_at"),
        latest.c.country.label("latest_country"),
        latest.c.signed_in_at.label("latest_signed_in_at"),
    ).select_from(
        attempts.outerjoin(profile, true())
        .outerjoin(recent_payee_added, true())
        .outerjoin(known, true())
        .outerjoin(allowed, true())
        .outerjoin(mule, true())
        .outerjoin(payee, true())
        .outerjoin(signed, true())
        .outerjoin(before_signed, true())
        .outerjoin(latest, true())
    )


_PAYMENT_FEATURES = _payment_features_statement()


async def payment_features(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    creditor_account: str | None,
    payee_id: uuid.UUID | None,
    session_id: str | None,
    windows: PaymentWindows,
) -> Row[Any]:
    """Everything the payment rules read, in one SELECT (one round trip): the customer's profile, their earlier
    attempts in each window (never this payment's own, never one made at or after it, so the answer does not
    depend on whether its own attempt is recorded yet), the creditor (known, allowed, mule), the payee, and the
    session's sign-in with the sign-in before it and the customer's latest sign-in before the payment."""
    parameters = {
        "customer_id": customer_id,
        "creditor_account": creditor_account or "",
        "payee_id": payee_id,
        "session_id": session_id or "",
        "payment_id": windows.payment_id,
        "at": windows.created_at,
        "velocity_since": windows.velocity_since,
        "day_since": windows.day_since,
        "round_since": windows.round_since,
        "attempts_since": min(windows.velocity_since, windows.day_since, windows.round_since),
        "takeover_since": windows.takeover_since,
        "round_unit_minor": windows.round_unit_minor,
    }
    connection = await session.connection()
    row: Row[Any] = (await connection.execute(_PAYMENT_FEATURES, parameters)).one()
    return row


async def sign_in_features(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    device_hash: str | None,
    country: str | None,
    at: datetime,
    history_since: datetime,
) -> Row[Any]:
    """What the sign-in rules read, in one SELECT: whether the customer has devices and knows this one, the last
    sign-in before this one, and whether the country was seen lately."""
    devices = select(func.count().label("device_count")).where(KnownDevice.customer_id == customer_id).scalar_subquery()
    known_device = exists().where(
        KnownDevice.customer_id == customer_id, KnownDevice.device_hash == (device_hash or "")
    )
    seen_country = exists().where(
        SignIn.customer_id == customer_id,
        SignIn.country == (country or ""),
        SignIn.signed_in_at >= history_since,
        SignIn.signed_in_at < at,
    )
    any_country = exists().where(
        SignIn.customer_id == customer_id,
        SignIn.country.is_not(None),
        SignIn.signed_in_at >= history_since,
        SignIn.signed_in_at < at,
    )
    latest = (
        select(SignIn)
        .where(SignIn.customer_id == customer_id, SignIn.signed_in_at < at, SignIn.country.is_not(None))
        .order_by(SignIn.signed_in_at.desc())
        .limit(1)
    )
    statement = select(
        devices.label("device_count"),
        known_device.label("known_device"),
        seen_country.label("seen_country"),
        any_country.label("any_country"),
        latest.with_only_columns(SignIn.country).scalar_subquery().label("latest_country"),
        latest.with_only_columns(SignIn.signed_in_at).scalar_subquery().label("latest_signed_in_at"),
    )
    return (await session.execute(statement)).one()


# The consumer's writes ------------------------------------------------------------------------------------------
# Each event is one prebuilt statement with bind parameters (compiled once, then served from SQLAlchemy's cache and
# prepared by psycopg), run on the session's connection without loading ORM objects: one round trip per event, or
# per batch of events of one kind.

_attempts = cast(Table, PaymentAttempt.__table__)
_profiles = cast(Table, CustomerProfile.__table__)
_creditors = cast(Table, KnownCreditor.__table__)
_payees = cast(Table, SavedPayee.__table__)
_sign_ins = cast(Table, SignIn.__table__)
_devices = cast(Table, KnownDevice.__table__)


def _profile_merge_statement() -> Insert:
    """Add a change to a customer's profile, creating it if new: counts add up element by element, the latest
    `recent_limit` (time, amount) pairs of both stay newest first, credential times take the latest."""
    statement = insert(_profiles).values(
        customer_id=bindparam("customer_id", type_=UUID(as_uuid=True)),
        settled_count=bindparam("settled_count", type_=BigInteger()),
        recent_amounts=bindparam("recent_amounts", type_=ARRAY(BigInteger())),
        recent_created_at=bindparam("recent_created_at", type_=ARRAY(DateTime(timezone=True))),
        hour_counts=bindparam("hour_counts", type_=ARRAY(Integer())),
        password_changed_at=bindparam("password_changed_at", type_=DateTime(timezone=True)),
        totp_changed_at=bindparam("totp_changed_at", type_=DateTime(timezone=True)),
    )
    added = statement.excluded
    hours = (
        func.unnest(_profiles.c.hour_counts, added.hour_counts)
        .table_valued("kept", "added", with_ordinality="hour")
        .render_derived()
    )
    hour_counts = func.array(
        select(hours.c.kept + hours.c.added).order_by(hours.c.hour).scalar_subquery(), type_=ARRAY(Integer())
    )
    pairs = (
        func.unnest(
            _profiles.c.recent_created_at.concat(added.recent_created_at),
            _profiles.c.recent_amounts.concat(added.recent_amounts),
        )
        .table_valued("made_at", "amount_minor")
        .render_derived()
    )
    newest = (pairs.c.made_at.desc(), pairs.c.amount_minor.desc())
    latest = select(pairs).order_by(*newest).limit(bindparam("recent_limit", type_=Integer())).subquery("latest")

    def newest_first(column: ColumnElement[Any], type_: ARRAY[Any]) -> ColumnElement[Any]:
        ordered = select(column).order_by(latest.c.made_at.desc(), latest.c.amount_minor.desc())
        return func.array(ordered.scalar_subquery(), type_=type_)

    return statement.on_conflict_do_update(
        index_elements=[_profiles.c.customer_id],
        set_={
            "settled_count": _profiles.c.settled_count + added.settled_count,
            "hour_counts": hour_counts,
            "recent_created_at": newest_first(latest.c.made_at, ARRAY(DateTime(timezone=True))),
            "recent_amounts": newest_first(latest.c.amount_minor, ARRAY(BigInteger())),
            "password_changed_at": func.greatest(_profiles.c.password_changed_at, added.password_changed_at),
            "totp_changed_at": func.greatest(_profiles.c.totp_changed_at, added.totp_changed_at),
        },
    )


def _creditor_paid_statement() -> Insert:
    """Count a payment to the creditor and its amount; the first and last times hold whatever order the events
    come in."""
    paid_at = bindparam("paid_at", type_=DateTime(timezone=True))
    statement = insert(_creditors).values(
        customer_id=bindparam("creditor_customer_id", type_=UUID(as_uuid=True)),
        creditor_account=bindparam("creditor_account", type_=String()),
        first_paid_at=paid_at,
        last_paid_at=paid_at,
        paid_count=1,
        amount_sum_minor=bindparam("amount_minor", type_=BigInteger()),
    )
    return statement.on_conflict_do_update(
        index_elements=[_creditors.c.customer_id, _creditors.c.creditor_account],
        set_={
            "first_paid_at": func.least(_creditors.c.first_paid_at, statement.excluded.first_paid_at),
            "last_paid_at": func.greatest(_creditors.c.last_paid_at, statement.excluded.last_paid_at),
            "paid_count": _creditors.c.paid_count + 1,
            "amount_sum_minor": _creditors.c.amount_sum_minor + statement.excluded.amount_sum_minor,
        },
    )


def _sign_in_statement() -> Insert:
    """Record a sign-in once per session, with whether its device was new to the customer (one they never used,
    when they had used others: their first device ever is no news), and note the device when it was recorded.

    Every part of the statement reads the tables as they stood before it, so the device is judged before it is
    noted; the device is noted only from the sign-in's RETURNING row (none when the session was already there).
    """
    customer_id = bindparam("customer_id", type_=UUID(as_uuid=True))
    device = bindparam("device_hash", type_=String())
    new_device = and_(
        device.is_not(None),
        exists().where(_devices.c.customer_id == customer_id),
        ~exists().where(_devices.c.customer_id == customer_id, _devices.c.device_hash == device),
    )
    recorded = (
        insert(_sign_ins)
        .from_select(
            ["session_id", "customer_id", "country", "device_hash", "new_device", "signed_in_at"],
            select(
                bindparam("session_id", type_=String()),
                customer_id,
                bindparam("country", type_=String()),
                device,
                new_device,
                bindparam("signed_in_at", type_=DateTime(timezone=True)),
            ),
        )
        .on_conflict_do_nothing()
        .returning(_sign_ins.c.customer_id, _sign_ins.c.device_hash, _sign_ins.c.signed_in_at)
        .cte("recorded")
    )
    noted = insert(_devices).from_select(
        ["customer_id", "device_hash", "first_seen_at", "last_seen_at"],
        select(recorded.c.customer_id, recorded.c.device_hash, recorded.c.signed_in_at, recorded.c.signed_in_at).where(
            recorded.c.device_hash.is_not(None)
        ),
    )
    return noted.on_conflict_do_update(
        index_elements=[_devices.c.customer_id, _devices.c.device_hash],
        set_={
            "first_seen_at": func.least(_devices.c.first_seen_at, noted.excluded.first_seen_at),
            "last_seen_at": func.greatest(_devices.c.last_seen_at, noted.excluded.last_seen_at),
        },
    ).add_cte(recorded)


class FeatureWrite(Enum):
    """The consumer's writes: each event makes at most one, a single statement."""

    ATTEMPT = "attempt"  # a payment accepted, recorded once by id
    PROFILE = "profile"  # a change added to a customer's profile (`_profile_merge_statement`)
    CREDITOR_PAID = "creditor_paid"  # a payment counted for a creditor the customer paid
    SETTLED = "settled"  # both of the above in one statement (a settled payment to a known account)
    SAVED_PAYEE = "saved_payee"  # a payee saved, recorded once by id
    SIGN_IN = "sign_in"  # a sign-in recorded once per session, its device judged and noted


_WRITES: dict[FeatureWrite, Insert] = {
    FeatureWrite.ATTEMPT: insert(_attempts).on_conflict_do_nothing(),
    FeatureWrite.PROFILE: _profile_merge_statement(),
    FeatureWrite.CREDITOR_PAID: _creditor_paid_statement(),
    # The creditor's upsert as a data-modifying CTE (another table): a settlement is one round trip.
    FeatureWrite.SETTLED: _profile_merge_statement().add_cte(_creditor_paid_statement().cte("creditor_paid")),
    FeatureWrite.SAVED_PAYEE: insert(_payees).on_conflict_do_nothing(),
    FeatureWrite.SIGN_IN: _sign_in_statement(),
}


async def write_features(session: AsyncSession, write: FeatureWrite, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run one kind of write once per row, in order: one round trip for all (psycopg pipelines an executemany).

    Each row's statement sees the rows before it, as if run one by one (a sign-in's device is judged after the
    earlier sign-ins' devices are noted).
    """
    if not rows:
        return
    connection = await session.connection()
    await connection.execute(_WRITES[write], rows[0] if len(rows) == 1 else list(rows))


# The analysts' lists --------------------------------------------------------------------------------------------


async def add_mule(session: AsyncSession, mule: dict[str, object]) -> bool:
    """Put a creditor on the mule list; False when it already is (the first marking stands)."""
    added = await session.scalar(
        insert(MuleAccount).values(**mule).on_conflict_do_nothing().returning(MuleAccount.creditor_account)
    )
    return added is not None


async def remove_mule(session: AsyncSession, creditor_account: str) -> MuleAccount | None:
    """Take a creditor off the mule list; the row it had, or None when it was not on it."""
    removed: MuleAccount | None = (
        await session.execute(
            delete(MuleAccount).where(MuleAccount.creditor_account == creditor_account).returning(MuleAccount)
        )
    ).scalar_one_or_none()
    return removed


async def list_mules(session: AsyncSession, *, limit: int, after: str | None) -> Sequence[MuleAccount]:
    """The mule list in creditor-account order, from just after `after`."""
    statement = select(MuleAccount).order_by(MuleAccount.creditor_account).limit(limit)
    if after is not None:
        statement = statement.where(MuleAccount.creditor_account > after)
    return (await session.execute(statement)).scalars().all()


async def get_allowed(session: AsyncSession, customer_id: uuid.UUID, creditor_account: str) -> AllowedCreditor | None:
    allowed: AllowedCreditor | None = await session.get(
        AllowedCreditor, (customer_id, creditor_account), with_for_update=True, populate_existing=True
    )
    return allowed


async def put_allowed(session: AsyncSession, allowed: dict[str, object]) -> None:
    """Allow a creditor for a customer, or change the entry's end and alert."""
    statement = insert(AllowedCreditor).values(**allowed)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[AllowedCreditor.customer_id, AllowedCreditor.creditor_account],
            set_={
                "until": statement.excluded.until,
                "allowed_at": statement.excluded.allowed_at,
                "alert_id": statement.excluded.alert_id,
            },
        )
    )


# Retention and rebuild ------------------------------------------------------------------------------------------


async def purge(
    session: AsyncSession, *, attempts_before: datetime, sign_ins_before: datetime, payees_before: datetime
) -> dict[str, int]:
    """Forget attempts older than every window, old sign-ins, and payees long out of their cooling-off."""
    attempts = await session.execute(delete(PaymentAttempt).where(PaymentAttempt.created_at < attempts_before))
    sign_ins = await session.execute(delete(SignIn).where(SignIn.signed_in_at < sign_ins_before))
    payees = await session.execute(
        delete(SavedPayee).where(
            and_(SavedPayee.cooling_off_until < payees_before, SavedPayee.added_at < payees_before)
        )
    )
    return {
        "attempts": int(attempts.rowcount),  # type: ignore[attr-defined]
        "sign_ins": int(sign_ins.rowcount),  # type: ignore[attr-defined]
        "payees": int(payees.rowcount),  # type: ignore[attr-defined]
    }


async def empty_derived_features(session: AsyncSession) -> None:
    """Lock and empty every derived table (the consumer waits until the rebuild commits)."""
    names = ", ".join(f"fraud.{model.__tablename__}" for model in DERIVED_TABLES)
    # One statement for all: TRUNCATE takes ACCESS EXCLUSIVE locks, so concurrent writers wait for the rebuild.
    await session.execute(text(f"TRUNCATE {names}"))  # the names are this module's own constants


async def outbox_page(
    session: AsyncSession, topics: Sequence[str], after_position: int, limit: int
) -> Sequence[OutboxEvent]:
    """The next events of these topics in `position` order (the order the relay published them)."""
    statement = (
        select(OutboxEvent)
        .where(OutboxEvent.topic.in_(topics), OutboxEvent.position > after_position)
        .order_by(OutboxEvent.position)
        .limit(limit)
    )
    return (await session.execute(statement)).scalars().all()
