"""Features kept from events (`apply_event`, `apply_events`), and the analysts' lists: the mule list and the allow-list.

`apply_event` (one statement per event) and `apply_events` (a batch: one round trip per kind of write) write in the
caller's transaction and never commit: the consumer's `apply_once` (or the rebuild) commits. Each update gives the
same state whatever order events of different topics arrive in: attempts and payees are inserted once by id,
profiles keep the latest amounts by the payments' own times, counters only add, first/last times take the
least/greatest.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fraud.errors import FieldError
from fraud.features import repository
from fraud.features.repository import FeatureWrite
from fraud.features.schemas import LONDON, MuleRecord
from obank.crypto import KeyRing, seal, unseal
from obank.log import get_logger
from obank.outbox.record import Event
from obank.topics import PAYMENTS_TOPIC
from obank.unit_of_work import UnitOfWork

__all__ = [
    "FRAUD_LISTS_TOPIC",
    "MuleRecord",
    "allow_creditor",
    "apply_event",
    "apply_events",
    "list_mules",
    "mark_mule",
    "unmark_mule",
]

TRANSFERS_TOPIC = "core_banking.transfers"
PAYEES_TOPIC = "core_banking.payees"
SECURITY_TOPIC = "auth_server.security"  # auth_server.auditing.TOPIC (fraud does not import auth_server)
# The analysts' lists change on this topic: `mule.marked`, `mule.unmarked`, `creditor.allowed`.
FRAUD_LISTS_TOPIC = "fraud.lists"
FEATURE_TOPICS = (PAYMENTS_TOPIC, TRANSFERS_TOPIC, PAYEES_TOPIC, SECURITY_TOPIC)

RECENT_AMOUNTS = 50  # settled amounts kept per customer for the median and MAD
MULES_MAX = 1000
_MULE_REASON_PURPOSE = "fraud.mule_accounts.reason"
# A namespace for the owner a mule's reason is sealed to (the account has no UUID of its own).
_MULE_NAMESPACE = uuid.UUID("5d7b0c1e-8f49-4a53-9c1e-5bfe0f1d6a27")
_CREDITOR_ACCOUNT = re.compile(r"[0-9]{14}")
_DEVICE_HASH = re.compile(r"[0-9a-fA-F]{1,128}")
_SESSION_ID_MAX = 128

_log = get_logger("fraud.features")


class MalformedEventError(ValueError):
    """An event lacks a field the features need, or holds one of the wrong shape."""


# Reading payloads ------------------------------------------------------------------------------------------------


def _uuid(payload: Mapping[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[name]))
    except (KeyError, ValueError) as error:
        raise MalformedEventError(name) from error


def _optional_uuid(payload: Mapping[str, Any], name: str) -> uuid.UUID | None:
    return None if payload.get(name) is None else _uuid(payload, name)


def _amount(payload: Mapping[str, Any]) -> int:
    amount = payload.get("amount_minor")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise MalformedEventError("amount_minor")
    return amount


def _moment(payload: Mapping[str, Any], name: str, default: datetime) -> datetime:
    """A timestamp field (ISO 8601), or `default` when absent; one without an offset is taken as UTC."""
    value = payload.get(name)
    if value is None:
        return default
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as error:
        raise MalformedEventError(name) from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _creditor_account(value: object) -> str | None:
    """The 14-digit sort code and account number, or None when absent or not of that shape."""
    return value if isinstance(value, str) and _CREDITOR_ACCOUNT.fullmatch(value) else None


def device_hash(value: object) -> str | None:
    """A device's keyed hash as hex (lower case), or None when absent or not hex."""
    return value.lower() if isinstance(value, str) and _DEVICE_HASH.fullmatch(value) else None


def country_code(value: object) -> str | None:
    """An ISO 3166 alpha-2 code (upper case), or None."""
    return value.upper() if isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha() else None


def session_key(value: object) -> str | None:
    """A sign-in session id usable as a key (bounded, printable), or None."""
    if not isinstance(value, str) or not value or len(value) > _SESSION_ID_MAX or not value.isprintable():
        return None
    return value


# Applying events -------------------------------------------------------------------------------------------------


Write = tuple[repository.FeatureWrite, dict[str, object]]


def _payment_attempted(event: Event) -> Write:
    payload = event.payload
    currency = payload.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        raise MalformedEventError("currency")
    attempt: dict[str, object] = {
        "payment_id": _uuid(payload, "payment_id"),
        "customer_id": _uuid(payload, "customer_id"),
        "amount_minor": _amount(payload),
        "currency": currency,
        "created_at": _moment(payload, "created_at", event.occurred_at),
    }
    return FeatureWrite.ATTEMPT, attempt


def _payment_status_changed(event: Event) -> Write | None:
    payload = event.payload
    if payload.get("status") != "ACSC":
        return None
    customer_id, amount = _uuid(payload, "customer_id"), _amount(payload)
    made_at = _moment(payload, "created_at", event.occurred_at)
    return _settlement(
        _settled(customer_id, amount, made_at),
        _creditor_paid(customer_id, _creditor_account(payload.get("creditor_account")), made_at, amount),
    )


def _transfer_completed(event: Event) -> Write | None:
    payload = event.payload
    customer_id, amount = _uuid(payload, "customer_id"), _amount(payload)
    made_at = _moment(payload, "created_at", event.occurred_at)
    # Money to someone else is a payment in all but name; moving between one's own accounts is no habit.
    habit = None if payload.get("own_account", False) else _settled(customer_id, amount, made_at)
    return _settlement(
        habit, _creditor_paid(customer_id, _creditor_account(payload.get("creditor_account")), made_at, amount)
    )


def _payee_added(event: Event) -> Write:
    payload = event.payload
    added_at = _moment(payload, "created_at", event.occurred_at)
    payee: dict[str, object] = {
        "payee_id": _uuid(payload, "payee_id"),
        "customer_id": _uuid(payload, "customer_id"),
        "added_at": added_at,
        "cooling_off_until": max(_moment(payload, "cooling_off_until", added_at), added_at),
    }
    return FeatureWrite.SAVED_PAYEE, payee


def _signed_in(event: Event) -> Write | None:
    payload = event.payload
    customer_id = _optional_uuid(payload, "customer_id")
    if customer_id is None:  # a staff member's sign-in
        return None
    sign_in: dict[str, object] = {
        "session_id": session_key(payload.get("session_id")) or str(event.event_id),
        "customer_id": customer_id,
        "country": country_code(payload.get("country")),
        "device_hash": device_hash(payload.get("device_hash")),
        "signed_in_at": event.occurred_at,
    }
    return FeatureWrite.SIGN_IN, sign_in


def _password_changed(event: Event) -> Write | None:
    customer_id = _optional_uuid(event.payload, "customer_id")
    if customer_id is None:  # a staff member's
        return None
    return FeatureWrite.PROFILE, _profile_change(customer_id, password_changed_at=event.occurred_at)


def _totp_enrolled(event: Event) -> Write | None:
    customer_id = _optional_uuid(event.payload, "customer_id")
    if customer_id is None:  # a staff member's
        return None
    return FeatureWrite.PROFILE, _profile_change(customer_id, totp_changed_at=event.occurred_at)


# Each reads the event whole before anything is written, and names the one write it makes (or none).
_HANDLERS: dict[tuple[str, str], Callable[[Event], Write | None]] = {
    (PAYMENTS_TOPIC, "payment.submitted"): _payment_attempted,
    (PAYMENTS_TOPIC, "payment.held"): _payment_attempted,
    (PAYMENTS_TOPIC, "payment.status_changed"): _payment_status_changed,
    (TRANSFERS_TOPIC, "transfer.completed"): _transfer_completed,
    (PAYEES_TOPIC, "payee.added"): _payee_added,
    (SECURITY_TOPIC, "login.succeeded"): _signed_in,
    (SECURITY_TOPIC, "identity.password_changed"): _password_changed,
    (SECURITY_TOPIC, "identity.password_reset"): _password_changed,
    (SECURITY_TOPIC, "mfa.enrolled"): _totp_enrolled,
}


def _write_for(event: Event) -> Write | None:
    """The write an event makes to the features, or None (an event they do not use, or a malformed one).

    A malformed event is skipped with a warning naming its id and type (never its values): one bad event must
    not stop the consumer behind it.
    """
    handler = _HANDLERS.get((event.topic, event.event_type))
    if handler is None:
        return None
    try:
        return handler(event)
    except MalformedEventError as error:
        _log.warning(
            "fraud_feature_event_malformed",
            event_id=str(event.event_id),
            topic=event.topic,
            event_type=event.event_type,
            field=str(error),
        )
        return None


async def apply_event(session: AsyncSession, event: Event) -> None:
    """Update the features from one event in one statement (never commits); events they do not use change
    nothing."""
    write = _write_for(event)
    if write is not None:
        await repository.write_features(session, write[0], [write[1]])


async def apply_events(session: AsyncSession, events: Iterable[Event]) -> int:
    """Update the features from many events (a replay, a backfill) in one round trip per kind of write, leaving
    the state `apply_event` on each in turn leaves; the number of events that changed the features.

    Grouping by kind keeps that state: writes of one kind run in the events' order, and writes of different
    kinds either touch different tables or only add up (profiles, creditors), which gives the same in any order.
    """
    batches: dict[FeatureWrite, list[dict[str, object]]] = defaultdict(list)
    for event in events:
        write = _write_for(event)
        if write is not None:
            batches[write[0]].append(write[1])
    for kind, rows in batches.items():
        await repository.write_features(session, kind, rows)
    return sum(len(rows) for rows in batches.values())


def _profile_change(
    customer_id: uuid.UUID,
    *,
    settled: tuple[int, datetime] | None = None,
    password_changed_at: datetime | None = None,
    totp_changed_at: datetime | None = None,
) -> dict[str, object]:
    """A change to add to the customer's profile (`FeatureWrite.PROFILE` merges it, creating the profile)."""
    hours = [0] * 24
    if settled is not None:
        hours[settled[1].astimezone(LONDON).hour] = 1
    return {
        "customer_id": customer_id,
        "settled_count": 0 if settled is None else 1,
        "recent_amounts": [] if settled is None else [settled[0]],
        "recent_created_at": [] if settled is None else [settled[1]],
        "hour_counts": hours,
        "password_changed_at": password_changed_at,
        "totp_changed_at": totp_changed_at,
        "recent_limit": RECENT_AMOUNTS,
    }


def _settled(customer_id: uuid.UUID, amount_minor: int, made_at: datetime) -> dict[str, object]:
    """A settled payment for the customer's habits: its amount among the latest, its London hour counted."""
    return _profile_change(customer_id, settled=(amount_minor, made_at))


def _settlement(profile_change: dict[str, object] | None, creditor_paid: dict[str, object] | None) -> Write | None:
    """The one write a settled payment or transfer makes: to the habits, to the known creditors, or both."""
    if profile_change is not None and creditor_paid is not None:
        return FeatureWrite.SETTLED, {**profile_change, **creditor_paid}
    if profile_change is not None:
        return FeatureWrite.PROFILE, profile_change
    if creditor_paid is not None:
        return FeatureWrite.CREDITOR_PAID, creditor_paid
    return None


def _creditor_paid(
    customer_id: uuid.UUID, creditor_account: str | None, paid_at: datetime, amount_minor: int
) -> dict[str, object] | None:
    """A payment to count for a known creditor, or None when the creditor account is unknown."""
    if creditor_account is None:
        return None
    return {
        "creditor_customer_id": customer_id,
        "creditor_account": creditor_account,
        "paid_at": paid_at,
        "amount_minor": amount_minor,
    }


# The mule list and the allow-list ---------------------------------------------------------------------------------


def _checked_account(creditor_account: str, field: str = "creditor_account") -> str:
    if not isinstance(creditor_account, str) or not _CREDITOR_ACCOUNT.fullmatch(creditor_account):
        raise FieldError("must be a sort code and account number, 14 digits", field=field)
    return creditor_account


def mule_owner(creditor_account: str) -> uuid.UUID:
    """The id a mule's reason is sealed to: a copied reason does not open under another account."""
    return uuid.uuid5(_MULE_NAMESPACE, creditor_account)


async def mark_mule(uow: UnitOfWork, creditor_account: str, *, reason: str, alert_id: uuid.UUID | None = None) -> bool:
    """Put a creditor on the mule list (its payments then block); True if newly marked, False if it already was."""
    account = _checked_account(creditor_account)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > 1000 or not reason.isprintable():
        raise FieldError("must be 1 to 1000 printable characters", field="reason")
    marked_at = datetime.now(UTC)
    sealed = seal(uow.keyring, mule_owner(account), _MULE_REASON_PURPOSE, reason.encode())
    added = await repository.add_mule(
        uow.session,
        {"creditor_account": account, "reason_sealed": sealed, "marked_at": marked_at, "alert_id": alert_id},
    )
    if not added:
        return False
    event = {
        "creditor_account": account,
        "alert_id": None if alert_id is None else str(alert_id),
        "marked_at": marked_at.isoformat(),
    }
    uow.audit(action="mule.marked", entity_type="mule_account", entity_id=account, after={**event, "reason": reason})
    uow.publish(topic=FRAUD_LISTS_TOPIC, event_type="mule.marked", key=account, payload=event)
    return True


async def unmark_mule(uow: UnitOfWork, creditor_account: str) -> bool:
    """Take a creditor off the mule list; False when it was not on it."""
    account = _checked_account(creditor_account)
    removed = await repository.remove_mule(uow.session, account)
    if removed is None:
        return False
    before = {
        "creditor_account": account,
        "alert_id": None if removed.alert_id is None else str(removed.alert_id),
        "marked_at": removed.marked_at.isoformat(),
    }
    uow.audit(action="mule.unmarked", entity_type="mule_account", entity_id=account, before=before)
    uow.publish(
        topic=FRAUD_LISTS_TOPIC,
        event_type="mule.unmarked",
        key=account,
        payload={"creditor_account": account, "unmarked_at": datetime.now(UTC).isoformat()},
    )
    return True


async def list_mules(
    session: AsyncSession, *, limit: int = 100, after: str | None = None, keyring: KeyRing | None = None
) -> list[MuleRecord]:
    """The mule list in account order, `limit` (1 to 1000) from just after the account `after`; with the key ring,
    each with its (sealed) reason."""
    if after is not None:
        _checked_account(after, field="after")
    rows = await repository.list_mules(session, limit=max(1, min(limit, MULES_MAX)), after=after)
    return [
        MuleRecord(
            creditor_account=row.creditor_account,
            marked_at=row.marked_at,
            alert_id=row.alert_id,
            reason=None
            if keyring is None
            else unseal(keyring, mule_owner(row.creditor_account), _MULE_REASON_PURPOSE, row.reason_sealed).decode(),
        )
        for row in rows
    ]


async def allow_creditor(
    uow: UnitOfWork,
    customer_id: uuid.UUID,
    creditor_account: str,
    *,
    until: datetime | None,
    alert_id: uuid.UUID | None = None,
) -> None:
    """Allow a creditor for a customer (an analyst's false positive) until `until`, or for ever when None: the
    payee and amount rules stay quiet for it. Allowing it again replaces the end and the alert."""
    account = _checked_account(creditor_account)
    allowed_at = datetime.now(UTC)
    if until is not None:
        until = until if until.tzinfo is not None else until.replace(tzinfo=UTC)
        if until <= allowed_at:
            raise FieldError("must be in the future", field="until")
    existing = await repository.get_allowed(uow.session, customer_id, account)
    await repository.put_allowed(
        uow.session,
        {
            "customer_id": customer_id,
            "creditor_account": account,
            "until": until,
            "allowed_at": allowed_at,
            "alert_id": alert_id,
        },
    )
    entry = {
        "customer_id": str(customer_id),
        "creditor_account": account,
        "until": None if until is None else until.isoformat(),
        "alert_id": None if alert_id is None else str(alert_id),
    }
    before = (
        None
        if existing is None
        else {
            "until": None if existing.until is None else existing.until.isoformat(),
            "alert_id": None if existing.alert_id is None else str(existing.alert_id),
        }
    )
    uow.audit(
        action="creditor.allowed",
        entity_type="allowed_creditor",
        entity_id=f"{customer_id}:{account}",
        before=before,
        after=entry,
    )
    uow.publish(topic=FRAUD_LISTS_TOPIC, event_type="creditor.allowed", key=str(customer_id), payload=entry)
