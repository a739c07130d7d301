"""Webhook endpoints as staff manage them: register, change, rotate the secret, delete; messages read and replayed.

Every change is audited (never with a secret) and commits with the caller's unit of work; reads take a session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.webhooks import repository, signing
from notifications.webhooks.destinations import Destinations
from notifications.webhooks.errors import EndpointNotFound, MessageNotFound, MessageNotReplayable
from notifications.webhooks.models import DisabledReason, MessageStatus, WebhookEndpoint, WebhookSecret
from notifications.webhooks.schemas import (
    AttemptRecord,
    EndpointCreate,
    EndpointRecord,
    EndpointUpdate,
    MessageRecord,
    SecretIssued,
)
from obank.settings import Settings
from obank.unit_of_work import UnitOfWork

MESSAGES_LIMIT = 50
MESSAGES_MAX = 200


@dataclass(frozen=True, slots=True)
class EndpointRules:
    """Where endpoints may point, and how long a rotated secret goes on signing (`OBANK_WEBHOOKS_*`)."""

    destinations: Destinations
    secret_overlap: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> EndpointRules:
        return cls(
            Destinations(allow_private_networks=settings.webhooks_allow_private_networks),
            timedelta(seconds=settings.webhooks_secret_overlap_s),
        )


def _audit(uow: UnitOfWork, action: str, endpoint_id: uuid.UUID, **changes: object) -> None:
    uow.audit(action=action, entity_type="webhook_endpoint", entity_id=str(endpoint_id), after=dict(changes))


async def _issue_secret(uow: UnitOfWork, endpoint_id: uuid.UUID, now: datetime) -> str:
    secret_id, secret = uuid.uuid4(), signing.new_secret()
    sealed = signing.seal_secret(uow.keyring, secret_id, secret)
    await repository.add_secret(
        uow.session, WebhookSecret(id=secret_id, endpoint_id=endpoint_id, secret_sealed=sealed, created_at=now)
    )
    return signing.shown(secret)


async def create_endpoint(
    uow: UnitOfWork, body: EndpointCreate, rules: EndpointRules, *, now: datetime | None = None
) -> SecretIssued:
    """Register an endpoint with a new signing secret, shown in the answer only."""
    await rules.destinations.check_registration(body.url)
    now = now or datetime.now(UTC)
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        url=body.url,
        description=body.description,
        event_types=list(body.event_types),
        ordered=body.ordered,
        enabled=True,
        disabled_reason=None,
        created_at=now,
        updated_at=now,
    )
    await repository.add_endpoint(uow.session, endpoint)
    secret = await _issue_secret(uow, endpoint.id, now)
    record = EndpointRecord.from_model(endpoint)
    _audit(uow, "webhook_endpoint.created", endpoint.id, **record.snapshot())
    return SecretIssued(record, secret, None)


async def _endpoint(session: AsyncSession, endpoint_id: uuid.UUID, *, lock: bool = False) -> WebhookEndpoint:
    endpoint = await repository.get_endpoint(session, endpoint_id, lock=lock)
    if endpoint is None:
        raise EndpointNotFound(endpoint_id)
    return endpoint


async def get_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> EndpointRecord:
    return EndpointRecord.from_model(await _endpoint(session, endpoint_id))


async def list_endpoints(session: AsyncSession) -> list[EndpointRecord]:
    return [EndpointRecord.from_model(row) for row in await repository.list_endpoints(session)]


async def update_endpoint(
    uow: UnitOfWork, endpoint_id: uuid.UUID, body: EndpointUpdate, rules: EndpointRules, *, now: datetime | None = None
) -> EndpointRecord:
    """Change what was sent; enabling resumes the endpoint's pending messages, disabling holds them."""
    endpoint = await _endpoint(uow.session, endpoint_id, lock=True)
    before = EndpointRecord.from_model(endpoint).snapshot()
    if body.url is not None and body.url != endpoint.url:
        await rules.destinations.check_registration(body.url)
        endpoint.url = body.url
    if body.event_types is not None:
        endpoint.event_types = list(body.event_types)
    if body.description is not None:
        endpoint.description = body.description
    if body.ordered is not None:
        endpoint.ordered = body.ordered
    if body.enabled is not None and body.enabled != endpoint.enabled:
        endpoint.enabled = body.enabled
        endpoint.disabled_reason = None if body.enabled else DisabledReason.STAFF
        if body.enabled:
            await repository.notify_delivery(uow.session)
    endpoint.updated_at = now or datetime.now(UTC)
    await uow.session.flush()
    record = EndpointRecord.from_model(endpoint)
    after = record.snapshot()
    if after != before:
        changed = {key: value for key, value in after.items() if before.get(key) != value}
        _audit(uow, "webhook_endpoint.updated", endpoint_id, **changed)
    return record


async def delete_endpoint(uow: UnitOfWork, endpoint_id: uuid.UUID, *, now: datetime | None = None) -> None:
    """Stop the endpoint for good: its pending messages are cancelled, its history stays readable."""
    endpoint = await _endpoint(uow.session, endpoint_id, lock=True)
    now = now or datetime.now(UTC)
    endpoint.deleted_at = now
    endpoint.enabled = False
    endpoint.disabled_reason = DisabledReason.STAFF
    endpoint.updated_at = now
    await uow.session.flush()
    cancelled = await repository.cancel_pending(uow.session, endpoint_id, now)
    _audit(uow, "webhook_endpoint.deleted", endpoint_id, cancelled_messages=cancelled)


async def rotate_secret(
    uow: UnitOfWork, endpoint_id: uuid.UUID, rules: EndpointRules, *, now: datetime | None = None
) -> SecretIssued:
    """A new signing secret, shown once; the one it replaces also signs until the overlap ends."""
    endpoint = await _endpoint(uow.session, endpoint_id, lock=True)
    now = now or datetime.now(UTC)
    await repository.expire_current_secret(uow.session, endpoint_id, now + rules.secret_overlap)
    secret = await _issue_secret(uow, endpoint_id, now)
    previous = await repository.previous_secret_expiry(uow.session, endpoint_id, now)
    endpoint.updated_at = now
    await uow.session.flush()
    _audit(
        uow,
        "webhook_endpoint.secret_rotated",
        endpoint_id,
        previous_secret_expires_at=None if previous is None else previous.isoformat(),
    )
    return SecretIssued(EndpointRecord.from_model(endpoint), secret, previous)


async def list_messages(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID | None = None,
    status: MessageStatus | None = None,
    limit: int = MESSAGES_LIMIT,
    before: uuid.UUID | None = None,
) -> list[MessageRecord]:
    """Messages newest first; `before` (a message id) pages back past that message."""
    if endpoint_id is not None:
        await _endpoint(session, endpoint_id)
    cursor = None
    if before is not None:
        anchor = await repository.get_message(session, before)
        if anchor is None:
            raise MessageNotFound(before)
        cursor = anchor.sequence
    rows = await repository.list_messages(session, endpoint_id=endpoint_id, status=status, limit=limit, before=cursor)
    return [MessageRecord.from_model(row) for row in rows]


async def get_message(session: AsyncSession, message_id: uuid.UUID) -> tuple[MessageRecord, list[AttemptRecord]]:
    """A message and its attempts, oldest first."""
    message = await repository.get_message(session, message_id)
    if message is None:
        raise MessageNotFound(message_id)
    attempts = await repository.attempts_of(session, message_id)
    return MessageRecord.from_model(message), [AttemptRecord.from_model(row) for row in attempts]


async def replay_message(uow: UnitOfWork, message_id: uuid.UUID, *, now: datetime | None = None) -> MessageRecord:
    """Send a dead-lettered message again, with a fresh schedule and its same `webhook-id` (receivers dedupe)."""
    message = await repository.get_message(uow.session, message_id, lock=True)
    if message is None:
        raise MessageNotFound(message_id)
    if message.status is not MessageStatus.DEAD:
        raise MessageNotReplayable(f"the message is {message.status.value}")
    if await repository.get_endpoint(uow.session, message.endpoint_id) is None:
        raise MessageNotReplayable("its endpoint was deleted")
    await repository.replay(uow.session, message_id, now or datetime.now(UTC))
    await repository.notify_delivery(uow.session)
    _audit(uow, "webhook_message.replayed", message.endpoint_id, message_id=str(message_id))
    await uow.session.refresh(message)
    return MessageRecord.from_model(message)


async def replay_dead_letters(uow: UnitOfWork, endpoint_id: uuid.UUID, *, now: datetime | None = None) -> int:
    """Send every dead-lettered message of an endpoint again; how many."""
    await _endpoint(uow.session, endpoint_id, lock=True)
    replayed = await repository.replay_dead(uow.session, endpoint_id, now or datetime.now(UTC))
    if replayed:
        await repository.notify_delivery(uow.session)
    _audit(uow, "webhook_endpoint.dead_letters_replayed", endpoint_id, replayed=replayed)
    return replayed
