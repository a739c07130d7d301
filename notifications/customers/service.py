"""Customers' notification preferences and their in-app inbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.customers import repository
from notifications.customers.errors import InvalidPreferences, NotificationNotFound
from notifications.customers.models import SECURITY_KINDS, Channel, CustomerMessage, Kind, Preferences
from notifications.customers.schemas import (
    InboxMessage,
    InboxPage,
    KindPreference,
    PreferencesRead,
    PreferencesUpdate,
)
from obank.crypto import KeyRing, unseal
from obank.unit_of_work import UnitOfWork

TOPIC = "notifications.customers"
PREFERENCES_CHANGED = "notification_preferences.changed"
DEFAULT_CHANNELS = (Channel.EMAIL, Channel.IN_APP)
REQUIRED_CHANNELS = (Channel.EMAIL,)  # of a security notice
SUBJECT, BODY, RECIPIENT = "customer_message_subject", "customer_message_body", "customer_message_recipient"


def channels_for(preferences: Preferences | None, kind: Kind) -> list[Channel]:
    """The channels a kind goes by for this customer: their choice, else the defaults; security notices by email
    whatever is stored."""
    chosen = None if preferences is None else preferences.channels.get(kind.value)
    channels = [Channel(value) for value in chosen] if chosen is not None else list(DEFAULT_CHANNELS)
    if kind in SECURITY_KINDS:
        channels += [channel for channel in REQUIRED_CHANNELS if channel not in channels]
    return sorted(set(channels), key=list(Channel).index)


def _read(preferences: Preferences | None) -> PreferencesRead:
    kinds = [
        KindPreference(
            kind=kind,
            channels=channels_for(preferences, kind),
            security=kind in SECURITY_KINDS,
            required_channels=list(REQUIRED_CHANNELS) if kind in SECURITY_KINDS else [],
        )
        for kind in Kind
    ]
    threshold = None if preferences is None else preferences.low_balance_threshold_minor
    return PreferencesRead(kinds=kinds, low_balance_threshold_minor=threshold)


async def get_preferences(session: AsyncSession, customer_id: uuid.UUID) -> PreferencesRead:
    return _read(await repository.get_preferences(session, customer_id))


async def replace_preferences(
    uow: UnitOfWork, customer_id: uuid.UUID, update: PreferencesUpdate, *, now: datetime | None = None
) -> PreferencesRead:
    """Replace the customer's preferences; a security notice without email is refused (naming the field)."""
    for kind, channels in update.kinds.items():
        missing = [channel.value for channel in REQUIRED_CHANNELS if kind in SECURITY_KINDS and channel not in channels]
        if missing:
            raise InvalidPreferences(f"kinds.{kind.value}: a security notice is always sent by {', '.join(missing)}")
    chosen = {kind.value: sorted({channel.value for channel in channels}) for kind, channels in update.kinds.items()}
    threshold = update.low_balance_threshold_minor
    await repository.save_preferences(uow.session, customer_id, chosen, threshold, now or datetime.now(UTC))
    after = {"kinds": chosen, "low_balance_threshold_minor": threshold}
    uow.audit(action=PREFERENCES_CHANGED, entity_type="customer", entity_id=str(customer_id), after=after)
    uow.publish(
        topic=TOPIC, event_type=PREFERENCES_CHANGED, key=str(customer_id), payload={"customer_id": str(customer_id)}
    )
    return await get_preferences(uow.session, customer_id)


def _opened(keyring: KeyRing, message: CustomerMessage) -> InboxMessage:
    assert message.subject_sealed is not None and message.body_sealed is not None and message.sent_at is not None
    return InboxMessage(
        id=message.id,
        kind=message.kind,
        subject=unseal(keyring, message.id, SUBJECT, message.subject_sealed).decode(),
        text=unseal(keyring, message.id, BODY, message.body_sealed).decode(),
        sent_at=message.sent_at,
        read_at=message.read_at,
    )


async def inbox(session: AsyncSession, keyring: KeyRing, customer_id: uuid.UUID, limit: int, offset: int) -> InboxPage:
    """The customer's in-app messages, newest first."""
    messages = await repository.inbox(session, customer_id, limit, offset)
    return InboxPage(messages=[_opened(keyring, message) for message in messages], limit=limit, offset=offset)


async def mark_read(
    uow: UnitOfWork, customer_id: uuid.UUID, message_id: uuid.UUID, *, now: datetime | None = None
) -> InboxMessage:
    """Mark one of the customer's in-app messages read (again: unchanged); another's reads as unknown."""
    message = await repository.inbox_message(uow.session, customer_id, message_id, for_update=True)
    if message is None:
        raise NotificationNotFound(f"no notification {message_id}")
    if message.read_at is None:
        message.read_at = now or datetime.now(UTC)
        await uow.session.flush()
        uow.audit(
            action="customer_message.read",
            entity_type="customer_message",
            entity_id=str(message.id),
            after={"read_at": message.read_at.isoformat()},
        )
        payload = {"message_id": str(message.id), "customer_id": str(customer_id)}
        uow.publish(topic=TOPIC, event_type="customer_message.read", key=str(customer_id), payload=payload)
    return _opened(uow.keyring, message)
